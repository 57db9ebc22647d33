dofile("/etc/passwd")
return {status = "Healthy"}
