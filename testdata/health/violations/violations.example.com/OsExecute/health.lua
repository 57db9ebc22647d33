os.execute("touch /tmp/tether-pwned")
return {status = "Healthy"}
