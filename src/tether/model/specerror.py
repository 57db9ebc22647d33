"""The error raised when a spec read from a user does not have the expected shape."""

from __future__ import annotations


class SpecError(ValueError):
    """A field of an Application, AppProject or ApplicationSet spec is invalid.

    ``path`` is the field's location in Argo CD's wire form, e.g.
    ``spec.source.helm.valueFiles[1]``; the message reads ``invalid <path>: <reason>``.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"invalid {path}: {reason}")
        self.path = path
        self.reason = reason
