local bytecode = string.dump(function() return 1 end)
return {status = "Healthy", message = bytecode}
