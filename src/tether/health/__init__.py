"""Health assessment: is what runs working?

Each check turns one live object into a :class:`tether.model.Health` verdict with
Argo CD's statuses (Healthy, Suspended, Progressing, Missing, Degraded, Unknown) and
messages. Built-in checks live one module per kind; custom checks are Lua 5.1 scripts
in Argo CD's formats, run in a sandbox. A check that fails gives ``Unknown`` with the
error as its message; it never raises. An application's health is the worst health
of its direct resources.
"""
