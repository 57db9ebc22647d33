std.foldl(function(acc, x) acc + x, std.range(1, 30000000), 0)
