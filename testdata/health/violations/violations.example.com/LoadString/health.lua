local f = loadstring("return 1")
return {status = "Healthy"}
