return {status = "Fine", message = "all good"}
