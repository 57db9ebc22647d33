"""Label and field selectors: parsing and matching.

Label selectors take both forms kube-apiserver accepts: equality (``a=b``, ``a==b``,
``a!=b``) and set-based (``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``), comma
separated, all required. Field selectors take ``=``, ``==`` and ``!=`` on the fields
each kind supports (``metadata.name`` and ``metadata.namespace`` everywhere, a few more
per kind, as a real server); anything else is a ``400 BadRequest``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.localcluster.errors import APIError, bad_request

_SET_RE = re.compile(r"^\s*(!)?\s*([^\s!=(),]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")


@dataclass(frozen=True)
class Requirement:
    """One clause: ``key <op> values`` with op in ``in notin exists !``."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, Any]) -> bool:
        """Whether ``labels`` satisfies this clause."""
        if self.op == "exists":
            return self.key in labels
        if self.op == "!":
            return self.key not in labels
        if self.op == "in":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, Any] | None) -> bool:
        """Whether an object with ``labels`` is selected."""
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """Whether the selector selects everything."""
        return not self.requirements


def _split_clauses(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    clauses: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            clauses.append("".join(current))
            current = []
        else:
            current.append(char)
    clauses.append("".join(current))
    return [c for c in clauses if c.strip()]


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse ``?labelSelector=``; raise 400 on a malformed selector."""
    if not text:
        return LabelSelector()
    requirements = []
    for clause in _split_clauses(text):
        eq = _EQ_RE.match(clause)
        if eq:
            key, op, value = eq.groups()
            requirements.append(
                Requirement(key, "notin" if op == "!=" else "in", frozenset({value}))
            )
            continue
        match = _SET_RE.match(clause)
        if match is None:
            raise bad_request(f"unable to parse requirement: {clause.strip()}")
        negate, key, op, values = match.groups()
        if op:
            if negate:
                raise bad_request(f"unable to parse requirement: {clause.strip()}")
            parsed = frozenset(v.strip() for v in values.split(",") if v.strip())
            requirements.append(Requirement(key, op, parsed))
        else:
            requirements.append(Requirement(key, "!" if negate else "exists"))
    return LabelSelector(tuple(requirements))


def selector_from_match(selector: Mapping[str, Any]) -> LabelSelector:
    """A :class:`LabelSelector` from a ``matchLabels``/``matchExpressions`` object."""
    requirements = [
        Requirement(k, "in", frozenset({str(v)}))
        for k, v in (selector.get("matchLabels") or {}).items()
    ]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""))
        if op is not None:
            requirements.append(Requirement(expr["key"], op, frozenset(expr.get("values") or ())))
    return LabelSelector(tuple(requirements))


def format_match(selector: Mapping[str, Any]) -> str:
    """The string form of a ``matchLabels`` selector (``/scale`` status uses it)."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_EXTRA_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "events"): (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    ("", "pods"): (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    ("", "secrets"): ("type",),
    ("", "namespaces"): ("status.phase",),
    ("", "nodes"): ("spec.unschedulable",),
    ("", "replicationcontrollers"): ("status.replicas",),
    ("apps", "replicasets"): ("status.replicas",),
    ("batch", "jobs"): ("status.successful",),
}


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    if path == "source":
        return str((obj.get("source") or {}).get("component", ""))
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
        if value is None:
            return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector: ``(path, equal?, value)`` clauses, all required."""

    clauses: tuple[tuple[str, bool, str], ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` is selected."""
        return all((_field_value(obj, p) == v) == eq for p, eq, v in self.clauses)

    def name(self) -> str | None:
        """The name an equality on ``metadata.name`` pins, for a fast lookup."""
        for path, eq, value in self.clauses:
            if path == "metadata.name" and eq:
                return value
        return None


def parse_field_selector(text: str | None, resource: tuple[str, str]) -> FieldSelector:
    """Parse ``?fieldSelector=`` for ``resource`` (group, plural); 400 on a bad field."""
    if not text:
        return FieldSelector()
    allowed = _COMMON_FIELDS + _EXTRA_FIELDS.get(resource, ())
    clauses = []
    for clause in _split_clauses(text):
        match = _EQ_RE.match(clause)
        if match is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{clause}'")
        path, op, value = match.groups()
        if path not in allowed:
            raise APIError(400, "BadRequest", f"field label not supported: {path}")
        clauses.append((path, op != "!=", value))
    return FieldSelector(tuple(clauses))
