return {status = "Healthy", message = os.getenv("HOME")}
