-- External Secrets Operator. With refreshPolicy OnChange the Ready condition only
-- counts once it is at least as recent as the last refresh; otherwise it describes a
-- previous version of the spec.
local function current(condition)
  if obj.spec == nil or obj.spec.refreshPolicy ~= "OnChange" then
    return true
  end
  local refreshed = obj.status.refreshTime
  return refreshed == nil or (condition.lastTransitionTime or "") >= refreshed
end

if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and current(condition) then
      if condition.status == "True" then
        return {status = "Healthy", message = condition.message}
      elseif condition.status == "False" then
        return {status = "Degraded", message = condition.message}
      end
      break
    end
  end
end

return {status = "Progressing", message = "Waiting for ExternalSecret"}
