return "Healthy"
