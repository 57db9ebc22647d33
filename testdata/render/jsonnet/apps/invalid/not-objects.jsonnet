['a string', 42]
