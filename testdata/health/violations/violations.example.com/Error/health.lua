error("certificate store unreachable")
