-- Any Crossplane managed resource: Synced and Ready conditions.
local hs = {status = "Progressing", message = "Waiting for the provider"}
local conditions = (obj.status or {}).conditions or {}
for i = 1, #conditions do
  local c = conditions[i]
  if c.type == "Synced" and c.status == "False" then
    return {status = "Degraded", message = c.message}
  end
  if c.type == "Ready" and c.status == "True" then
    hs = {status = "Healthy", message = "Resource is available for use (" .. #conditions .. " conditions)"}
  end
end
return hs
