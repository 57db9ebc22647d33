"""Strategic merge patch, as the Kubernetes API server applies it.

A strategic merge patch is a JSON merge patch (RFC 7386) that knows the type it patches:
a list whose schema says ``x-kubernetes-patch-strategy: merge`` is merged item by item,
matching items on ``x-kubernetes-patch-merge-key`` (containers by ``name``, ports by
``containerPort``) or, for primitive items, as a set; every other list is replaced.
Directives refine this:

- ``$patch: replace`` in an object or as a list item replaces the object or list;
  ``$patch: delete`` in an object deletes it (an empty object remains, as upstream) and
  as a list item deletes the item with the same merge key; merging is the default, and
  upstream refuses an explicit ``$patch: merge``, so this does too;
- ``$retainKeys: [...]`` drops every key of the original object not listed (the
  ``retainKeys`` strategy, used where fields are mutually exclusive, like volume sources);
- ``$deleteFromPrimitiveList/<field>: [...]`` removes values from a primitive list;
- ``$setElementOrder/<field>: [...]`` orders the merged list (the patch's own items
  must appear in it, in the same order);
- ``null`` deletes a field.

Merged lists keep upstream's order: the patch's items in patch order, the original's
other items interleaved at their original relative positions. Without a schema (custom
resources) the patch is a plain JSON merge patch. The tests hold every case to the
result of ``kubectl patch --local``, which runs upstream's implementation.

One deliberate difference: a value the patch adds where the original has none is
itself merged into nothing, so its directives apply instead of being stored.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from tether.localcluster.schema import JSON, Schema

__all__ = [
    "PatchError",
    "create_two_way_merge_patch",
    "json_merge_patch",
    "strategic_merge_patch",
]

DIRECTIVE: Final = "$patch"
RETAIN_KEYS: Final = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER: Final = "$setElementOrder/"

_MISSING: Final = object()


class PatchError(ValueError):
    """A patch is malformed for the object it patches (the server answers 400 or 422)."""


def json_merge_patch(original: JSON, patch: JSON) -> JSON:
    """Apply an RFC 7386 JSON merge patch; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(original: JSON, patch: JSON, schema: Schema | None) -> JSON:
    """Apply a strategic merge patch to ``original``; neither argument is modified.

    ``schema`` is the type schema of the patched object; ``None`` means JSON merge
    patch semantics. Raises :class:`PatchError` for a malformed patch.
    """
    if not isinstance(patch, dict):
        raise PatchError(
            f"a strategic merge patch must be a JSON object, not {type(patch).__name__}"
        )
    if schema is None:
        return json_merge_patch(original, patch)
    base = copy.deepcopy(original) if isinstance(original, dict) else {}
    return _merge_map(base, copy.deepcopy(patch), schema)


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], schema: Schema | None
) -> dict[str, Any]:
    """Merge ``patch`` into ``original`` in place (both are private copies)."""
    directive = patch.get(DIRECTIVE)
    if directive is not None:
        if directive == "replace":
            del patch[DIRECTIVE]
            return _merge_map({}, patch, schema)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {_go(directive)} in map: {_go(patch)}")

    retain = patch.pop(RETAIN_KEYS, None)
    if retain is not None:
        # Upstream accepts only a list naming every field the patch sets (not nulls).
        if not isinstance(retain, list) or any(
            k not in retain for k, v in patch.items() if v is not None and not k.startswith("$")
        ):
            raise PatchError("invalid patch format of retainKeys")
        kept = set(retain)
        for key in [k for k in original if k not in kept]:
            del original[key]

    orders: dict[str, list[Any]] = {}
    for key in [k for k in patch if k.startswith("$")]:
        value = patch.pop(key)
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            name = key[len(DELETE_FROM_PRIMITIVE_LIST) :]
            current = original.get(name)
            if isinstance(current, list) and isinstance(value, list):
                original[name] = [v for v in current if v not in value]
        elif key.startswith(SET_ELEMENT_ORDER):
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list, not {type(value).__name__}")
            orders[key[len(SET_ELEMENT_ORDER) :]] = value
        else:
            raise PatchError(f"unknown patch directive {key!r}")

    for key, value in patch.items():
        field = schema.field(key) if schema is not None else None
        if value is None:
            original.pop(key, None)
            continue
        current = original.get(key, _MISSING)
        if isinstance(value, dict):
            if field is not None and "replace" in field.patch_strategies:
                original[key] = _merge_map({}, value, field)
            else:
                base = current if isinstance(current, dict) else {}
                original[key] = _merge_map(base, value, field)
        elif isinstance(value, list):
            if field is not None and "merge" in field.patch_strategies:
                base_list = current if isinstance(current, list) else []
                original[key] = _merge_list(base_list, value, field, orders.pop(key, None))
            else:
                original[key] = _fresh_list(value, field)
        else:
            original[key] = value

    # An order for a list the patch does not otherwise touch still reorders it.
    for key, order in orders.items():
        current = original.get(key)
        field = schema.field(key) if schema is not None else None
        if isinstance(current, list) and field is not None:
            original[key] = _normalize_order(current, order, current, field.patch_merge_key)
    return original


def _fresh_list(items: list[Any], schema: Schema | None) -> list[Any]:
    """A replaced list: items are taken as given, minus directives and nulls in objects."""
    element = schema.items() if schema is not None else None
    return [
        _merge_map({}, item, element) if isinstance(item, dict) else item
        for item in items
        if not (
            isinstance(item, dict)
            and item.get(DIRECTIVE) in ("replace", "delete")
            and len(item) == 1
        )
    ]


def _merge_list(
    original: list[Any], patch: list[Any], schema: Schema, order: list[Any] | None
) -> list[Any]:
    """Merge a list whose strategy is ``merge``: by merge key, or as a set of primitives."""
    if not original and not patch and order is None:
        return original
    merge_key = schema.patch_merge_key
    element = schema.items()
    if not any(isinstance(item, dict) for item in (*original, *patch)):
        if order is not None:
            _check_order(patch, order, None)
        merged = list(original)
        for value in patch:
            if value not in merged:
                merged.append(value)
        return _normalize_order(merged, order if order is not None else patch, original, None)

    if any(isinstance(i, dict) and i.get(DIRECTIVE) == "replace" for i in patch):
        return _fresh_list(patch, schema)
    if any(isinstance(i, dict) and i.get(DIRECTIVE) == "merge" for i in patch):
        raise PatchError("merging lists cannot yet be specified in the patch")
    if merge_key is None:
        raise PatchError("cannot merge lists without a merge key")

    merged = list(original)
    positions = {_key_of(item, merge_key): n for n, item in enumerate(merged)}
    deleted: set[Any] = set()
    patch_items: list[Any] = []
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"list item {item!r} is not an object with merge key {merge_key!r}")
        key = _key_of(item, merge_key)
        if item.get(DIRECTIVE) == "delete":
            deleted.add(key)
            continue
        patch_items.append(item)
        position = positions.get(key)
        if position is None:
            positions[key] = len(merged)
            merged.append(_merge_map({}, item, element))
        else:
            merged[position] = _merge_map(merged[position], item, element)
    if deleted:
        merged = [item for item in merged if _key_of(item, merge_key) not in deleted]
    if order is not None:
        _check_order(patch_items, order, merge_key)
    return _normalize_order(
        merged, order if order is not None else patch_items, original, merge_key
    )


def _check_order(items: list[Any], order: list[Any], merge_key: str | None) -> None:
    """The patch's items must appear in ``$setElementOrder``, in the same order."""

    def identity(item: Any) -> Any:
        if merge_key is not None and isinstance(item, dict):
            return _hashable(item.get(merge_key))
        return _hashable(item)

    positions = {identity(item): n for n, item in enumerate(order)}
    found = [positions.get(identity(item)) for item in items]
    if any(n is None for n in found) or found != sorted(found, key=lambda n: n or 0):
        raise PatchError(
            f"The order in patch list:\n{_go(items)}\n"
            f" doesn't match $setElementOrder list:\n{_go(order)}"
        )


def _go(value: Any) -> str:
    """A value printed as Go's ``%v`` prints it, as upstream's error messages do."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    return str(value)


def _key_of(item: Any, merge_key: str) -> Any:
    if not isinstance(item, dict) or merge_key not in item:
        raise PatchError(f"map {item!r} does not contain declared merge key: {merge_key}")
    value = item[merge_key]
    return _hashable(value)


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _normalize_order(
    merged: list[Any], order: list[Any], server: list[Any], merge_key: str | None
) -> list[Any]:
    """Order a merged list as upstream does.

    Items named by ``order`` (the patch, or its ``$setElementOrder``) come in that
    order; the others keep the original's relative order and are interleaved before the
    first ordered item that follows them in the original.
    """

    def identity(item: Any) -> Any:
        if merge_key is None:
            return _hashable(item)
        return _hashable(item.get(merge_key)) if isinstance(item, dict) else _hashable(item)

    order_index = {identity(item): n for n, item in enumerate(order)}
    server_index = {identity(item): n for n, item in enumerate(server)}
    ordered = [item for item in merged if identity(item) in order_index]
    ordered.sort(key=lambda item: order_index[identity(item)])
    server_only = [item for item in merged if identity(item) not in order_index]
    server_only.sort(key=lambda item: server_index.get(identity(item), len(server)))

    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(ordered):
        if j >= len(ordered):
            result.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            result.append(ordered[j])
            j += 1
        else:
            left = server_index.get(identity(server_only[i]))
            right = server_index.get(identity(ordered[j]))
            if left is not None and right is not None and left < right:
                result.append(server_only[i])
                i += 1
            else:
                result.append(ordered[j])
                j += 1
    return result


def create_two_way_merge_patch(
    original: JSON, modified: JSON, schema: Schema | None
) -> dict[str, Any]:
    """The strategic merge patch that turns ``original`` into ``modified``.

    Applying the result with :func:`strategic_merge_patch` reproduces ``modified``,
    list order included (the patch carries ``$setElementOrder`` for merged lists).
    """
    if not isinstance(original, dict) or not isinstance(modified, dict):
        raise PatchError("a two-way merge patch compares two JSON objects")
    return _diff_map(original, modified, schema)


def _diff_map(
    original: Mapping[str, Any], modified: Mapping[str, Any], schema: Schema | None
) -> dict[str, Any]:
    patch: dict[str, Any] = {key: None for key in original if key not in modified}
    for key, new in modified.items():
        old = original.get(key, _MISSING)
        if old == new and old is not _MISSING:
            continue
        field = schema.field(key) if schema is not None else None
        strategies = field.patch_strategies if field is not None else frozenset()
        if old is _MISSING or new is None or type(old) is not type(new):
            patch[key] = copy.deepcopy(new)
        elif isinstance(new, dict):
            if "replace" in strategies:
                patch[key] = {**copy.deepcopy(new), DIRECTIVE: "replace"}
                continue
            nested = _diff_map(old, new, field)
            if "retainKeys" in strategies:
                nested[RETAIN_KEYS] = sorted(k for k, v in new.items() if v is not None)
            patch[key] = nested
        elif isinstance(new, list) and field is not None and "merge" in strategies:
            _diff_list(patch, key, old, new, field)
        else:
            patch[key] = copy.deepcopy(new)
    return patch


def _diff_list(
    patch: dict[str, Any], key: str, old: list[Any], new: list[Any], schema: Schema
) -> None:
    merge_key = schema.patch_merge_key
    if not any(isinstance(item, dict) for item in (*old, *new)):
        added = [v for v in new if v not in old]
        removed = [v for v in old if v not in new]
        if added:
            patch[key] = added
        if removed:
            patch[DELETE_FROM_PRIMITIVE_LIST + key] = removed
        patch[SET_ELEMENT_ORDER + key] = list(new)
        return
    keyed = merge_key is not None and all(
        isinstance(i, dict) and merge_key in i for i in (*old, *new)
    )
    if not keyed or merge_key is None:
        patch[key] = [{DIRECTIVE: "replace"}, *copy.deepcopy(new)]
        return
    by_key = {_hashable(item[merge_key]): item for item in old}
    new_keys = {_hashable(item[merge_key]) for item in new}
    items: list[Any] = []
    for item in new:
        previous = by_key.get(_hashable(item[merge_key]))
        if previous is None:
            items.append(copy.deepcopy(item))
        elif previous != item:
            nested = {merge_key: item[merge_key], **_diff_map(previous, item, schema.items())}
            if "retainKeys" in schema.patch_strategies:
                nested[RETAIN_KEYS] = sorted(k for k, v in item.items() if v is not None)
            items.append(nested)
    items.extend(
        {merge_key: item[merge_key], DIRECTIVE: "delete"}
        for item in old
        if _hashable(item[merge_key]) not in new_keys
    )
    if items:
        patch[key] = items
    patch[SET_ELEMENT_ORDER + key] = [{merge_key: item[merge_key]} for item in new]
