local hs = {status = "Healthy"}
