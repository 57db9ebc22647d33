"""The human-readable diff: a unified diff of two objects rendered as YAML, keys sorted."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(obj: Mapping[str, Any] | None) -> str:
    """``obj`` as block YAML with sorted keys (``""`` for no object)."""
    if obj is None:
        return ""
    text: str = yaml.dump(
        dict(obj), Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True
    )
    return text


def unified_yaml(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    before_name: str = "live",
    after_name: str = "desired",
    context: int = 3,
) -> str:
    """A unified diff from ``before`` to ``after`` (``""`` when they render the same)."""
    lines = difflib.unified_diff(
        to_yaml(before).splitlines(keepends=True),
        to_yaml(after).splitlines(keepends=True),
        fromfile=before_name,
        tofile=after_name,
        n=context,
    )
    return "".join(lines)
