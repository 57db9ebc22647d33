// Exhausts the Go stack; in-process this would abort tether itself.
local f(x) = f(x + 1) tailstrict;
f(0)
