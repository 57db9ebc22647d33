-- cert-manager Certificate: Ready condition, with the renewal time in the message.
local hs = {status = "Progressing", message = "Waiting for certificate"}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
    if condition.type == "Ready" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = string.format("%s (renews %s)", condition.message, obj.status.renewalTime or "never")
      return hs
    end
  end
end
return hs
