"""Kubernetes label selectors (``matchLabels`` and ``matchExpressions``) over string maps.

Used by the clusters generator (over Secret labels) and by every generator's
``selector`` post-filter (over a parameter set's flattened names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.controller.appsets.errors import GeneratorError

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``matchExpressions`` entry."""

    key: str
    operator: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy the requirement."""
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        inside = self.key in labels and labels[self.key] in self.values
        return inside if self.operator == "In" else not inside


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, raw: Any, generator: str) -> LabelSelector:
        """Parse a selector; errors name the generator whose field is wrong."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise GeneratorError(generator, "selector must be an object")
        labels = raw.get("matchLabels") or {}
        if not isinstance(labels, Mapping):
            raise GeneratorError(generator, "selector.matchLabels must be an object")
        requirements = []
        for index, entry in enumerate(raw.get("matchExpressions") or []):
            operator = entry.get("operator") if isinstance(entry, Mapping) else None
            if operator not in _OPERATORS:
                raise GeneratorError(
                    generator,
                    f"selector.matchExpressions[{index}].operator must be one of "
                    f"{', '.join(_OPERATORS)}",
                )
            values = tuple(str(v) for v in entry.get("values") or ())
            requirements.append(Requirement(str(entry.get("key", "")), operator, values))
        return cls(
            tuple((str(k), str(v)) for k, v in labels.items()),
            tuple(requirements),
        )

    @property
    def is_empty(self) -> bool:
        """Whether the selector selects everything."""
        return not self.match_labels and not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` are selected."""
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.requirements
        )
