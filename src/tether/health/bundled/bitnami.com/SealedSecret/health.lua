-- Sealed Secrets: the controller reports decryption in the Synced condition.
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Synced" then
      if condition.status == "True" then
        return {status = "Healthy", message = condition.message}
      elseif condition.status == "False" then
        return {status = "Degraded", message = condition.message}
      end
    end
  end
end

return {status = "Progressing", message = "Waiting for Sealed Secret to be decrypted"}
