"""The errors of the diff boundary.

Every message reads ``failed to <verb> <kind/namespace/name>: <cause>`` and never carries
a field value: jq and pointer failures name the rule that failed, not the data it saw.
"""

from __future__ import annotations

from tether.model import ResourceKey


class DiffError(Exception):
    """Base of every error raised by :mod:`tether.diff`."""


class IgnoreRuleError(DiffError):
    """An ``ignoreDifferences`` entry or system-wide customization is malformed.

    Raised when rules are parsed, before any object is compared, so that one bad
    expression is reported once and by name.
    """

    def __init__(self, source: str, rule: str, cause: str) -> None:
        self.source = source
        self.rule = rule
        self.cause = cause
        super().__init__(f"failed to parse ignore rule {rule!r} in {source}: {cause}")


class JqError(DiffError):
    """A jq path expression could not be evaluated (see :class:`JqTimeoutError`)."""

    def __init__(self, expression: str, cause: str) -> None:
        self.expression = expression
        self.cause = cause
        super().__init__(f"failed to evaluate jq path expression {expression!r}: {cause}")


class JqTimeoutError(JqError):
    """A jq path expression ran past its time limit and its worker was killed."""


class InvalidObjectError(DiffError):
    """Something given as a Kubernetes object is not one (no kind, name, metadata...)."""

    def __init__(self, key: ResourceKey, cause: str) -> None:
        self.key = key
        self.cause = cause
        super().__init__(f"failed to compare {key}: {cause}")


class ComparisonError(DiffError):
    """Comparing one object failed; carries the object's key and the underlying cause."""

    def __init__(self, key: ResourceKey, cause: str) -> None:
        self.key = key
        self.cause = cause
        super().__init__(f"failed to compare {key}: {cause}")
