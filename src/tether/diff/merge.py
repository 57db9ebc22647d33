"""Predicting what an apply produces, and finding where two objects differ.

:func:`merge` plays server-side apply locally: fields the manifest sets replace or
merge into the live object, fields it does not set keep their live (possibly
server-defaulted) values. Map lists (containers, ports, env, ...) are merged item by
item, matched by merge keys, so their order does not matter; set lists likewise by
value. Atomic lists are replaced, except that an item whose scalar fields all agree
with the live item at the same position is merged into it, so that defaults the
server filled into list items (a NetworkPolicy port's ``protocol``, a CRD's structural
defaults) are not mistaken for differences. The price: removing a field from such an
item, while all else stays equal, goes unseen by the local prediction (a server-side
diff sees it). Spellings the API treats as one value (quantities, int-or-string
numbers, ``1`` and ``1.0``) keep the live spelling.

A list no schema describes is atomic, as server-side apply treats it (a CRD list
without ``x-kubernetes-list-type``): its order is the manifest's and the server keeps
it, so comparing position by position reports exactly the reorderings that matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from tether.diff.pointer import Path
from tether.diff.quantity import same_quantity
from tether.diff.schema import KEY_DEFAULTS, ListKind, ScalarKind, SchemaNode

#: Fields whose empty value means something, unlike the usual "empty equals missing".
PRESENCE_SIGNIFICANT = frozenset({"emptyDir", "podSelector", "namespaceSelector", "selector"})


def child_node(node: SchemaNode | None, name: str) -> SchemaNode | None:
    """The schema of field ``name`` (or of the map's values) under ``node``."""
    if node is None:
        return None
    return node.child(name) or node.values()


def item_node(node: SchemaNode | None) -> SchemaNode | None:
    """The schema of the items of list ``node``."""
    return None if node is None else node.items()


def same_scalar(live: Any, desired: Any, node: SchemaNode | None) -> bool:
    """Whether two scalars are the same value to the API."""
    if type(live) is type(desired) and live == desired:
        return True
    if isinstance(live, bool) or isinstance(desired, bool):
        return False
    if isinstance(live, int | float) and isinstance(desired, int | float):
        return live == desired
    scalar = node.scalar if node is not None else ScalarKind.PLAIN
    if scalar is ScalarKind.QUANTITY:
        return same_quantity(live, desired)
    if scalar is ScalarKind.INT_OR_STRING:
        return _as_int(live) is not None and _as_int(live) == _as_int(desired)
    return False


def _as_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _empty(value: Any) -> bool:
    return isinstance(value, dict | list) and not value


def list_keys(node: SchemaNode | None) -> tuple[ListKind, tuple[str, ...]]:
    """How to match list items: by merge keys, by value, or (unknown lists) by position."""
    if node is not None and node.list_kind is not None:
        return node.list_kind, node.list_keys
    return ListKind.ATOMIC, ()


def item_key(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The merge-key values of a map-list item (API defaults for omitted keys)."""
    if not isinstance(item, Mapping):
        return None
    return tuple(repr(item.get(k, KEY_DEFAULTS.get(k))) for k in keys)


def merge(live: Any, desired: Any, node: SchemaNode | None) -> Any:
    """The object ``live`` becomes once ``desired`` is applied to it (see module doc)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return desired
        result = dict(live)
        for name, value in desired.items():
            if name in live:
                result[name] = merge(live[name], value, child_node(node, name))
            elif not _empty(value) or name in PRESENCE_SIGNIFICANT:
                result[name] = value
        return result
    if isinstance(desired, list):
        if not isinstance(live, list):
            return desired
        return _merge_list(live, desired, node)
    if same_scalar(live, desired, node):
        return live
    return desired


def _merge_list(live: list[Any], desired: list[Any], node: SchemaNode | None) -> list[Any]:
    kind, keys = list_keys(node)
    items = item_node(node)
    if kind is ListKind.MAP and keys:
        wanted = {item_key(d, keys): d for d in desired}
        merged = []
        for item in live:
            key = item_key(item, keys)
            merged.append(merge(item, wanted.pop(key), items) if key in wanted else item)
        merged.extend(d for d in desired if item_key(d, keys) in wanted)
        return merged
    if kind is ListKind.SET:
        return [*live, *(d for d in desired if d not in live)]
    return [
        merge(live[i], item, items) if i < len(live) and _agrees(live[i], item, items) else item
        for i, item in enumerate(desired)
    ]


def _agrees(live: Any, desired: Any, node: SchemaNode | None) -> bool:
    """Whether every scalar field of ``desired`` has the same value in ``live``."""
    if not isinstance(desired, dict):
        return same_scalar(live, desired, node) if not isinstance(desired, list) else False
    if not isinstance(live, dict):
        return False
    return all(
        name in live and _agrees(live[name], value, child_node(node, name))
        for name, value in desired.items()
        if not isinstance(value, list)
    )


@dataclass(frozen=True, slots=True)
class Change:
    """One difference, located in both objects (``None`` on the side that lacks it).

    ``parent`` is the position in ``predicted`` of the container a removed value left.
    """

    live: Path | None
    predicted: Path | None
    parent: Path = ()

    @property
    def path(self) -> Path:
        """Where to report it: in ``predicted`` unless the apply removes it."""
        located = self.predicted if self.predicted is not None else self.live
        assert located is not None
        return located


def differences(live: Any, predicted: Any, node: SchemaNode | None) -> list[Path]:
    """Paths at which ``predicted`` differs from ``live`` (see :attr:`Change.path`)."""
    return [change.path for change in changes(live, predicted, node)]


def changes(live: Any, predicted: Any, node: SchemaNode | None) -> list[Change]:
    """Every difference between ``live`` and ``predicted``, map-list items matched by key."""
    if _canonical(live) == _canonical(predicted):
        return []  # the common case, answered by one C-speed serialisation
    found: list[Change] = []
    _walk(live, predicted, node, (), (), found)
    return found


def _canonical(value: Any) -> bytes:
    # Type-exact (True is not 1) and key-order independent; 1 and 1.0 differ here and
    # are then judged field by field.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _walk(
    live: Any,
    predicted: Any,
    node: SchemaNode | None,
    at_live: Path,
    at_predicted: Path,
    found: list[Change],
) -> None:
    if isinstance(live, dict) and isinstance(predicted, dict):
        for name in sorted(live.keys() | predicted.keys()):
            here_live, here_predicted = (*at_live, name), (*at_predicted, name)
            if name not in predicted:
                found.append(Change(here_live, None, at_predicted))
            elif name not in live:
                found.append(Change(None, here_predicted))
            else:
                child = child_node(node, name)
                _walk(live[name], predicted[name], child, here_live, here_predicted, found)
    elif isinstance(live, list) and isinstance(predicted, list):
        _walk_list(live, predicted, node, at_live, at_predicted, found)
    elif (
        isinstance(live, dict | list)
        or isinstance(predicted, dict | list)
        or not same_scalar(live, predicted, node)
    ):
        found.append(Change(at_live, at_predicted))


def _walk_list(
    live: list[Any],
    predicted: list[Any],
    node: SchemaNode | None,
    at_live: Path,
    at_predicted: Path,
    found: list[Change],
) -> None:
    kind, keys = list_keys(node)
    items = item_node(node)
    if kind is ListKind.MAP and keys:
        before = {item_key(item, keys): i for i, item in enumerate(live)}
        after = {item_key(item, keys) for item in predicted}
        for index, item in enumerate(predicted):
            match = before.get(item_key(item, keys))
            if match is None:
                found.append(Change(None, (*at_predicted, index)))
            else:
                here = ((*at_live, match), (*at_predicted, index))
                _walk(live[match], item, items, *here, found)
        found.extend(
            Change((*at_live, i), None, at_predicted)
            for i, item in enumerate(live)
            if item_key(item, keys) not in after
        )
    elif kind is ListKind.SET:
        if sorted(map(repr, live)) != sorted(map(repr, predicted)):
            found.append(Change(at_live, at_predicted))
    elif len(live) != len(predicted):
        found.append(Change(at_live, at_predicted))
    else:
        for index, (before_item, after_item) in enumerate(zip(live, predicted, strict=True)):
            here = ((*at_live, index), (*at_predicted, index))
            _walk(before_item, after_item, items, *here, found)
