"""Objects walked with their schema: field sets, comparison, apply merge, removal.

These are the operations server-side apply is made of (upstream's structured merge
diff), over plain JSON values:

- :func:`fields_of`: the set of fields an applied configuration sets (its leaves and
  the list items it names);
- :func:`compare`: which fields one version of an object added, modified and removed
  relative to another;
- :func:`merge`: an applied configuration merged into the live object;
- :func:`remove`: fields a manager stopped applying taken out of an object.

How a value merges follows its schema: objects are granular (field by field) unless
``x-kubernetes-map-type: atomic``; lists are atomic unless their list type is ``set``
(items identified by value) or ``map`` (items identified by their key fields); values
without a schema are granular objects and atomic lists, as upstream deduces them.
Results share unchanged sub-values with the inputs; callers copy before mutating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from tether.localcluster.fieldset import (
    MEMBER,
    FieldSet,
    Node,
    format_path,
    key_element,
    value_element,
)
from tether.localcluster.schema import ListType, MapType, Schema

__all__ = ["Comparison", "StructureError", "compare", "fields_of", "merge", "remove"]

# Key fields of built-in kinds that the API server defaults before it identifies a list
# item (the bundled schemas do not carry these defaults; CRD schemas carry their own), so
# an item applied without them is the same item as the stored, defaulted one.
_KEY_DEFAULTS: Final[Mapping[str, Any]] = {"protocol": "TCP"}


class StructureError(ValueError):
    """An applied configuration cannot be read with its schema."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """What changed between two versions of an object, as field sets."""

    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    def changed(self) -> FieldSet:
        """Fields added or modified."""
        return self.added.union(self.modified)

    def same(self) -> bool:
        """True when nothing changed."""
        return self.added.empty() and self.modified.empty() and self.removed.empty()


def _granular(schema: Schema | None) -> bool:
    return schema is None or schema.map_type is MapType.GRANULAR


def _list_type(schema: Schema | None) -> ListType:
    return schema.list_type if schema is not None else ListType.ATOMIC


def _field(schema: Schema | None, name: str) -> Schema | None:
    return schema.field(name) if schema is not None else None


def _items(schema: Schema | None) -> Schema | None:
    return schema.items() if schema is not None else None


def _key_defaults(schema: Schema | None) -> Mapping[str, Any]:
    if schema is None:
        return {}
    declared = schema.list_key_defaults
    known = {k: _KEY_DEFAULTS[k] for k in schema.list_map_keys if k in _KEY_DEFAULTS}
    return {**known, **declared} if known else declared


def _element(item: Any, list_type: ListType, schema: Schema | None) -> str:
    if list_type is ListType.SET or not isinstance(item, dict):
        return value_element(item)
    keys = schema.list_map_keys if schema is not None else ()
    if any(k not in item for k in keys):
        item = {**_key_defaults(schema), **item}
    return key_element(item, keys)


def _is_struct(value: Any, schema: Schema | None) -> bool:
    return schema is not None and bool(schema.properties) and not schema.is_map and bool(value)


def _keyed(items: list[Any], list_type: ListType, schema: Schema | None) -> dict[str, Any]:
    return {_element(item, list_type, schema): item for item in items}


# -- the fields an applied configuration sets ---------------------------------------


def fields_of(value: Mapping[str, Any], schema: Schema | None) -> FieldSet:
    """The fields an applied configuration sets: leaves and named list items.

    Raises :class:`StructureError` for a map-list item without one of its key fields
    (and no default for it), which no later write could address.
    """
    root: Node = {}
    _collect_fields(value, schema, root, ())
    return FieldSet(root)


def _collect_fields(
    value: Mapping[str, Any], schema: Schema | None, node: Node, path: tuple[str, ...]
) -> None:
    for name, child in value.items():
        key = "f:" + name
        _collect_value(child, _field(schema, name), node.setdefault(key, {}), (*path, key))


def _collect_value(value: Any, schema: Schema | None, node: Node, path: tuple[str, ...]) -> None:
    if isinstance(value, dict) and value and _granular(schema):
        _collect_fields(value, schema, node, path)
        return
    list_type = _list_type(schema)
    if isinstance(value, list) and value and list_type is not ListType.ATOMIC:
        item_schema = _items(schema)
        keys = schema.list_map_keys if schema is not None else ()
        for n, item in enumerate(value):
            if list_type is ListType.MAP and isinstance(item, dict):
                missing = [k for k in keys if k not in item and k not in _key_defaults(schema)]
                if missing:
                    omitted = f'omits key field "{missing[0]}"'
                    raise StructureError(
                        f"{format_path(path)}: element {n}: associative list with keys has an "
                        f"element that {omitted} (and doesn't have default value)"
                    )
            element = _element(item, list_type, schema)
            child = node.setdefault(element, {})
            child[MEMBER] = {}
            if list_type is ListType.MAP and isinstance(item, dict):
                _collect_fields(item, item_schema, child, (*path, element))
        return
    node[MEMBER] = {}


def _whole(value: Any, schema: Schema | None, node: Node, *, structs: bool) -> None:
    """Mark ``node`` and everything below it; struct nodes only when ``structs``."""
    if structs or not _is_struct(value, schema):
        node[MEMBER] = {}
    if isinstance(value, dict) and value and _granular(schema):
        for name, child in value.items():
            _whole(child, _field(schema, name), node.setdefault("f:" + name, {}), structs=structs)
        return
    list_type = _list_type(schema)
    if isinstance(value, list) and list_type is not ListType.ATOMIC:
        item_schema = _items(schema)
        for item in value:
            child = node.setdefault(_element(item, list_type, schema), {})
            child[MEMBER] = {}
            if list_type is ListType.MAP and isinstance(item, dict):
                for name, sub in item.items():
                    _whole(
                        sub,
                        _field(item_schema, name),
                        child.setdefault("f:" + name, {}),
                        structs=structs,
                    )


# -- comparison ---------------------------------------------------------------------


def compare(old: Mapping[str, Any], new: Mapping[str, Any], schema: Schema | None) -> Comparison:
    """The fields ``new`` added, modified and removed relative to ``old``.

    A field added with a struct value (a schema with declared properties) is not itself
    recorded, only its contents, as upstream records fields of value-typed structs.
    """
    added: Node = {}
    modified: Node = {}
    removed: Node = {}
    _compare_fields(old, new, schema, added, modified, removed)
    return Comparison(
        FieldSet.normalised(added), FieldSet.normalised(modified), FieldSet.normalised(removed)
    )


def _compare_fields(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    schema: Schema | None,
    added: Node,
    modified: Node,
    removed: Node,
) -> None:
    for name, value in new.items():
        key = "f:" + name
        if name in old:
            previous = old[name]
            if previous == value and type(previous) is type(value):
                continue
            _compare_value(
                previous,
                value,
                _field(schema, name),
                added.setdefault(key, {}),
                modified.setdefault(key, {}),
                removed.setdefault(key, {}),
            )
        else:
            _whole(value, _field(schema, name), added.setdefault(key, {}), structs=False)
    for name, previous in old.items():
        if name not in new:
            _whole(
                previous, _field(schema, name), removed.setdefault("f:" + name, {}), structs=True
            )


def _compare_value(
    old: Any, new: Any, schema: Schema | None, added: Node, modified: Node, removed: Node
) -> None:
    if isinstance(old, dict) and isinstance(new, dict) and (old or new) and _granular(schema):
        _compare_fields(old, new, schema, added, modified, removed)
        return
    list_type = _list_type(schema)
    if isinstance(old, list) and isinstance(new, list) and list_type is not ListType.ATOMIC:
        item_schema = _items(schema)
        before = _keyed(old, list_type, schema)
        after = _keyed(new, list_type, schema)
        for element, item in after.items():
            previous = before.get(element)
            if previous is None:
                child = added.setdefault(element, {})
                child[MEMBER] = {}
                if isinstance(item, dict):
                    _whole_fields(item, item_schema, child)
            elif previous != item and isinstance(item, dict) and isinstance(previous, dict):
                _compare_fields(
                    previous,
                    item,
                    item_schema,
                    added.setdefault(element, {}),
                    modified.setdefault(element, {}),
                    removed.setdefault(element, {}),
                )
        for element, item in before.items():
            if element not in after:
                child = removed.setdefault(element, {})
                child[MEMBER] = {}
                if isinstance(item, dict):
                    _whole_fields(item, item_schema, child, structs=True)
        return
    if old != new or type(old) is not type(new):
        modified[MEMBER] = {}


def _whole_fields(
    item: Mapping[str, Any], schema: Schema | None, node: Node, *, structs: bool = False
) -> None:
    for name, value in item.items():
        _whole(value, _field(schema, name), node.setdefault("f:" + name, {}), structs=structs)


# -- merge --------------------------------------------------------------------------


def merge(live: Any, config: Any, schema: Schema | None) -> Any:
    """Merge an applied configuration into the live value (configuration wins).

    A ``null`` in the configuration unsets the field (the applier still owns it), as
    a typed object cannot hold a null field.
    """
    if isinstance(live, dict) and isinstance(config, dict) and _granular(schema):
        out = dict(live)
        for name, value in config.items():
            if value is None:
                out.pop(name, None)
            elif name in out:
                out[name] = merge(out[name], value, _field(schema, name))
            else:
                out[name] = _without_nulls(value)
        return out
    list_type = _list_type(schema)
    if isinstance(live, list) and isinstance(config, list) and list_type is not ListType.ATOMIC:
        return _merge_list(live, config, list_type, schema)
    return _without_nulls(config)


def _without_nulls(value: Any) -> Any:
    """``value`` without null object fields; ``value`` itself when it has none."""
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        changed = False
        for key, item in value.items():
            if item is None:
                changed = True
                continue
            new = _without_nulls(item) if isinstance(item, dict | list) else item
            changed = changed or new is not item
            cleaned[key] = new
        return cleaned if changed else value
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            new = _without_nulls(item) if isinstance(item, dict | list) else item
            changed = changed or new is not item
            items.append(new)
        return items if changed else value
    return value


def _merge_list(
    live: list[Any], config: list[Any], list_type: ListType, schema: Schema | None
) -> list[Any]:
    """Merge list items by identity, the configuration's order winning.

    Live-only items stay where they were relative to the items around them.
    """
    item_schema = _items(schema)
    lhs = [(_element(item, list_type, schema), item) for item in live]
    rhs = [(_element(item, list_type, schema), item) for item in config]
    live_items = dict(lhs)
    config_items = dict(rhs)
    out: list[Any] = []
    emitted: set[str] = set()

    def emit(element: str) -> None:
        if element in emitted:
            return
        emitted.add(element)
        if element in config_items:
            value = config_items[element]
            if element in live_items and list_type is ListType.MAP:
                value = merge(live_items[element], value, item_schema)
            out.append(value)
        else:
            out.append(live_items[element])

    left = right = 0
    while left < len(lhs) or right < len(rhs):
        if left < len(lhs) and lhs[left][0] in emitted:
            left += 1
        elif right < len(rhs) and rhs[right][0] in emitted:
            right += 1
        elif left < len(lhs) and right < len(rhs):
            element = lhs[left][0]
            if element == rhs[right][0] or element not in config_items:
                emit(element)
                left += 1
            else:
                emit(rhs[right][0])
                right += 1
        elif left < len(lhs):
            emit(lhs[left][0])
            left += 1
        else:
            emit(rhs[right][0])
            right += 1
    return out


# -- removal ------------------------------------------------------------------------


def remove(
    value: Mapping[str, Any], fields: FieldSet, keep: FieldSet, schema: Schema | None
) -> Any:
    """Take ``fields`` out of an object, except where ``keep`` holds the field or a child.

    A field someone else still owns part of stays, and only its parts that nobody keeps
    are removed. Returns a new object when anything was removed, else ``value`` itself.
    """
    return _remove_fields(value, schema, fields.root, keep.root)


def _remove_fields(
    value: Mapping[str, Any], schema: Schema | None, drop: Node, keep: Node | None
) -> Any:
    out: dict[str, Any] | None = None
    for key, node in drop.items():
        if not key.startswith("f:"):
            continue
        name = key[2:]
        if name not in value:
            continue
        kept = keep.get(key) if keep is not None else None
        if MEMBER in node and not kept:
            out = out if out is not None else dict(value)
            del out[name]
            continue
        current = value[name]
        updated = _remove_value(current, _field(schema, name), node, kept)
        if updated is not current:
            out = out if out is not None else dict(value)
            # A map or list emptied by the removal goes too, as an omitted field would,
            # unless someone set it (to empty) on purpose.
            if updated or (kept is not None and MEMBER in kept):
                out[name] = updated
            else:
                del out[name]
    return out if out is not None else value


def _remove_value(value: Any, schema: Schema | None, drop: Node, keep: Node | None) -> Any:
    if isinstance(value, dict):
        return _remove_fields(value, schema, drop, keep)
    list_type = _list_type(schema)
    if not isinstance(value, list) or list_type is ListType.ATOMIC:
        return value
    item_schema = _items(schema)
    out: list[Any] = []
    changed = False
    for item in value:
        element = _element(item, list_type, schema)
        node = drop.get(element)
        if node is None:
            out.append(item)
            continue
        kept = keep.get(element) if keep is not None else None
        if MEMBER in node and not kept:
            changed = True
            continue
        updated = _remove_fields(item, item_schema, node, kept) if isinstance(item, dict) else item
        changed = changed or updated is not item
        out.append(updated)
    return out if changed else value
