-- cert-manager Certificate. An issuance in flight outranks the Ready condition, which
-- still describes the previous certificate while a new one is being issued.
local conditions = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  conditions = obj.status.conditions
end

for _, condition in ipairs(conditions) do
  if condition.type == "Issuing" and condition.status == "True" then
    return {status = "Progressing", message = condition.message}
  end
end

for _, condition in ipairs(conditions) do
  if condition.type == "Ready" then
    if condition.status == "True" then
      return {status = "Healthy", message = condition.message}
    elseif condition.status == "False" then
      return {status = "Degraded", message = condition.message}
    end
  end
end

return {status = "Progressing", message = "Waiting for certificate"}
