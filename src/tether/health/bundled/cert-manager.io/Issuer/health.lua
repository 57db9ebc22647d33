-- cert-manager Issuer: usable once its Ready condition is True.
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      if condition.status == "True" then
        return {status = "Healthy", message = condition.message}
      elseif condition.status == "False" then
        return {status = "Degraded", message = condition.message}
      end
    end
  end
end

return {status = "Progressing", message = "Initializing issuer"}
