"""Kubernetes label selectors, parsed strictly for the ``selector`` filter.

Supports the set-based grammar: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``,
``k in (a,b)``, ``k notin (a,b)``, joined by commas. Keys and values must be valid
label keys and values; anything else is a :class:`SelectorError` naming the term, so a
hostile filter is refused rather than half-understood.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_PREFIX = r"(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
_KEY = _PREFIX + r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
_EQUALITY = re.compile(rf"^(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>{_VALUE})$")
_SET = re.compile(rf"^(?P<key>{_KEY})\s+(?P<op>in|notin)\s+\((?P<values>[^()]*)\)$")
_EXISTS = re.compile(rf"^(?P<neg>!?)\s*(?P<key>{_KEY})$")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")
MAX_SELECTOR = 4096

Requirement = Callable[[Mapping[str, str]], bool]


class SelectorError(ValueError):
    """A selector that does not parse."""


def _terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    terms.append(current.strip())
    return [t for t in terms if t]


def _requirement(term: str) -> Requirement:
    if match := _SET.match(term):
        key = match["key"]
        values = {v.strip() for v in match["values"].split(",") if v.strip()}
        if not values or not all(_VALUE_ONLY.match(v) for v in values):
            raise SelectorError(f"invalid values in selector term {term!r}")
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.match(term):
        key, value = match["key"], match["value"]
        if match["op"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS.match(term):
        key = match["key"]
        if match["neg"]:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"invalid selector term {term!r}")


def parse_selector(text: str) -> Requirement:
    """A predicate over labels for ``text``; the empty selector matches everything."""
    if len(text) > MAX_SELECTOR:
        raise SelectorError(f"selector longer than {MAX_SELECTOR} characters")
    requirements = [_requirement(term) for term in _terms(text)]
    return lambda labels: all(r(labels) for r in requirements)
