"""Field ownership from ``metadata.managedFields`` (the ``FieldsV1`` format).

A ``fieldsV1`` tree names the fields a manager owns: ``f:<name>`` is a map field,
``k:{...}`` a list item identified by its merge keys, ``v:<json>`` a set item by
value, ``i:<n>`` a list item by position, and ``.`` the node itself. tether uses the
trees for two things: the fields it applied before (manager ``tether``, operation
``Apply``) and no longer declares, which the next apply removes; and the fields other
managers own, for ``managedFieldsManagers`` ignore rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tether.diff.pointer import MISSING, Path
from tether.diff.schema import KEY_DEFAULTS

FieldTree = Mapping[str, Any]


def manager_trees(obj: Mapping[str, Any], managers: Iterable[str]) -> list[FieldTree]:
    """The ``fieldsV1`` trees of every entry whose manager is in ``managers``."""
    wanted = set(managers)
    return [
        entry.get("fieldsV1") or {}
        for entry in _entries(obj)
        if entry.get("manager") in wanted and entry.get("fieldsType", "FieldsV1") == "FieldsV1"
    ]


def split_trees(obj: Mapping[str, Any], manager: str) -> tuple[FieldTree, FieldTree]:
    """``manager``'s Apply tree, and the union of every other entry's tree.

    Server-side apply identifies an applier by name *and* operation: an ``Update``
    entry under the same name is another owner.
    """
    own: list[FieldTree] = []
    others: list[FieldTree] = []
    for entry in _entries(obj):
        tree = entry.get("fieldsV1") or {}
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            own.append(tree)
        else:
            others.append(tree)
    return union(own), union(others)


def _entries(obj: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    metadata = obj.get("metadata")
    entries = metadata.get("managedFields") if isinstance(metadata, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, Mapping):
            yield entry


def union(trees: Iterable[FieldTree]) -> dict[str, Any]:
    """One tree owning every field any of ``trees`` owns."""
    merged: dict[str, Any] = {}
    for tree in trees:
        for element, sub in tree.items():
            if isinstance(sub, Mapping):
                merged[element] = union([merged.get(element) or {}, sub])
    return merged


def find_child(node: Any, element: str) -> tuple[str | int, Any]:
    """The position and value ``element`` designates in ``node``, or ``("", MISSING)``."""
    prefix, _, body = element.partition(":")
    if prefix == "f" and isinstance(node, Mapping):
        return body, node.get(body, MISSING)
    if not isinstance(node, list):
        return "", MISSING
    try:
        decoded = json.loads(body)
    except ValueError:
        return "", MISSING
    if prefix == "k" and isinstance(decoded, Mapping):
        for index, item in enumerate(node):
            if isinstance(item, Mapping) and item_matches(item, decoded):
                return index, item
    elif prefix == "v":
        for index, item in enumerate(node):
            if item == decoded and type(item) is type(decoded):
                return index, item
    elif prefix == "i" and isinstance(decoded, int) and 0 <= decoded < len(node):
        return decoded, node[decoded]
    return "", MISSING


def item_matches(item: Mapping[str, Any], keys: Mapping[str, Any]) -> bool:
    """Whether a list item carries every merge-key value in ``keys`` (API defaults applied)."""
    return all(item.get(k, KEY_DEFAULTS.get(k)) == v for k, v in keys.items())


def owned_paths(doc: Any, tree: FieldTree) -> list[Path]:
    """Concrete paths in ``doc`` of every field ``tree`` owns (leaves and whole nodes)."""
    found: list[Path] = []
    _collect(doc, tree, (), found)
    return found


def _collect(node: Any, tree: FieldTree, path: Path, found: list[Path]) -> None:
    for element, sub in tree.items():
        if element == ".":
            continue
        position, child = find_child(node, element)
        if child is MISSING:
            continue
        if not sub:
            found.append((*path, position))
        else:
            # A subtree holding only "." owns the node's existence, not its contents.
            _collect(child, sub, (*path, position), found)


def abandoned_paths(
    predicted: Any, desired: Any, own: FieldTree, others: FieldTree, path: Path = ()
) -> list[Path]:
    """Fields ``own`` holds that ``desired`` no longer sets and nobody else owns.

    These are what the next server-side apply removes. Paths are positions in
    ``predicted`` (the live object with ``desired`` merged in).
    """
    removed: list[Path] = []
    for element, sub in own.items():
        if element == ".":
            continue
        position, child = find_child(predicted, element)
        if child is MISSING:
            continue
        _, wanted = find_child(desired, element) if desired is not MISSING else ("", MISSING)
        other = others.get(element)
        here = (*path, position)
        if wanted is MISSING and other is None:
            removed.append(here)
        elif isinstance(sub, Mapping) and sub:
            inner = abandoned_paths(child, wanted, sub, other or {}, here)
            if element.startswith("k:") and wanted is MISSING:
                # Another owner keeps the item alive, and with it the item's keys.
                keys = json.loads(element[2:])
                inner = [p for p in inner if not (len(p) == len(here) + 1 and p[-1] in keys)]
            removed.extend(inner)
    return removed
