local t = {}
while true do
  t[#t + 1] = {obj, obj, obj, obj}
end
