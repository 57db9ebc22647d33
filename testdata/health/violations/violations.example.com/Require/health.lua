local socket = require("socket")
return {status = "Healthy"}
