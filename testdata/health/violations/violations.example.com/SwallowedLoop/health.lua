-- pcall must not let a script outlive its budget
while true do
  pcall(function() while true do end end)
end
