-- Overrides the built-in Service check: headless Services are worth a message.
if obj.spec.clusterIP == "None" then
  return {status = "Healthy", message = "headless"}
end
return {status = "Healthy", message = string.upper(obj.spec.type or "ClusterIP")}
