"""The errors of the health package.

Assessing an object never raises: a check that cannot judge gives ``Unknown`` with the
reason as its message. These errors are for the inputs around a check: a settings
ConfigMap or a customizations directory that cannot be loaded, and the typed-field
reads the built-in checks use (turned into ``Unknown`` by the dispatcher).
"""

from __future__ import annotations


class HealthError(Exception):
    """Base of every error the health package raises."""


class CustomizationError(HealthError):
    """A health customization (settings ConfigMap key or script file) is unusable.

    ``source`` names where it came from: a ConfigMap key or a file path.
    """

    def __init__(self, source: str, cause: str) -> None:
        super().__init__(f"failed to load health customization {source}: {cause}")
        self.source = source
        self.cause = cause


class FieldTypeError(HealthError):
    """A field of a live object has the wrong type (``.spec.replicas: "three"``).

    Argo CD converts objects to typed Go structs before judging them and reports such a
    failure as ``Unknown``; the built-in checks do the same through this error.
    """

    def __init__(self, path: str, expected: str, value: object) -> None:
        super().__init__(f"{path}: expected {expected}, got {_json_type(value)}")
        self.path = path
        self.expected = expected


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, as users see it in their YAML."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
