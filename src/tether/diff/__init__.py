"""Diffing: does what runs match what Git declares?

Objects are compared the way server-side apply sees them: every field the desired
manifest sets must match; fields tether applied before and no longer sets count as a
difference; fields the server fills in or defaults do not. ``ignoreDifferences`` (JSON
pointers, jq path expressions, managed-field managers) is honoured per application and
system-wide. Secret values are masked in every output: equal values stay visibly
equal, different ones visibly different, and the plaintext never appears.
"""
