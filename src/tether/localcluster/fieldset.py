"""Sets of field paths in the ``FieldsV1`` format of ``metadata.managedFields``.

A :class:`FieldSet` is a trie whose edges are the path elements the API server writes:
``f:<name>`` (an object field), ``k:<json>`` (a map-list item by its keys),
``v:<json>`` (a set item by value) and ``i:<n>`` (a list item by index). A node is a
*member* of the set when the path to it was recorded; in ``FieldsV1`` a member with
children carries ``".": {}`` and a member without children is written ``{}``.

The set algebra (union, difference, intersection) is what server-side apply needs to
track ownership: who set which field, which applied fields conflict, which fields a
manager stopped applying. Paths print as the API server prints them in conflict
messages: ``.spec.template.spec.containers[name="nginx"].image``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, KeysView, Mapping
from typing import Any, Final

import orjson

__all__ = ["FieldSet", "FieldsV1Error", "format_path", "key_element", "value_element"]

MEMBER: Final = "."

Node = dict[str, "Node"]


class FieldsV1Error(ValueError):
    """A ``fieldsV1`` document is not a valid field set."""


def _encode(value: Any) -> str:
    # Go's encoder (which the server uses) sorts object keys and writes no spaces.
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def key_element(item: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The path element of a map-list item: ``k:{"name":"nginx"}``."""
    return "k:" + _encode({k: item[k] for k in keys if k in item})


def value_element(value: Any) -> str:
    """The path element of a set item: ``v:"example.com/finalizer"``."""
    return "v:" + _encode(value)


class FieldSet:
    """An immutable-by-convention set of field paths (a trie of path elements).

    The trie is kept normalised: every node holds a member or a child, so two sets are
    equal exactly when their tries are equal dictionaries. :meth:`normalised` builds a
    set from a trie that may hold empty nodes.
    """

    __slots__ = ("root",)

    def __init__(self, root: Node | None = None) -> None:
        self.root: Node = root if root is not None else {}

    @classmethod
    def normalised(cls, root: Node) -> FieldSet:
        """A set from a trie that may hold nodes with neither member nor child."""
        return cls(_prune(root))

    # -- conversion ---------------------------------------------------------------

    @classmethod
    def from_fields_v1(cls, document: Mapping[str, Any]) -> FieldSet:
        """Read a ``fieldsV1`` document; raises :class:`FieldsV1Error` when malformed."""
        return cls(_read(document, top=True))

    def to_fields_v1(self) -> dict[str, Any]:
        """Write the set as a ``fieldsV1`` document, elements in the server's order."""
        return _write(self.root)

    # -- queries ------------------------------------------------------------------

    def empty(self) -> bool:
        """True when the set holds no path."""
        return not self.root

    def __bool__(self) -> bool:
        return not self.empty()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldSet):
            return NotImplemented
        return self.root == other.root

    def __hash__(self) -> int:
        return hash(_encode(self.root))

    def __repr__(self) -> str:
        return f"FieldSet({sorted(format_path(p) for p in self.paths())})"

    def paths(self) -> Iterator[tuple[str, ...]]:
        """Every member path, parents before children."""
        yield from _paths(self.root, ())

    def leaves(self) -> Iterator[tuple[str, ...]]:
        """Every member path with no member below it (what conflict messages list)."""
        for path in self.paths():
            node = self.root
            for element in path:
                node = node[element]
            if all(key == MEMBER for key in node):
                yield path

    def has(self, path: tuple[str, ...]) -> bool:
        """True when ``path`` is a member."""
        node = self.root
        for element in path:
            child = node.get(element)
            if child is None:
                return False
            node = child
        return MEMBER in node

    def subtree(self, path: tuple[str, ...]) -> FieldSet:
        """The paths under ``path``, relative to it."""
        node = self.root
        for element in path:
            child = node.get(element)
            if child is None:
                return FieldSet()
            node = child
        return FieldSet({k: v for k, v in node.items() if k != MEMBER})

    # -- algebra ------------------------------------------------------------------

    def union(self, other: FieldSet) -> FieldSet:
        """Paths in either set."""
        return FieldSet(_union(self.root, other.root))

    def difference(self, other: FieldSet) -> FieldSet:
        """Paths in this set and not in ``other``."""
        return FieldSet(_difference(self.root, other.root))

    def intersection(self, other: FieldSet) -> FieldSet:
        """Paths in both sets."""
        return FieldSet(_intersection(self.root, other.root))


def _read(document: Any, *, top: bool = False) -> Node:
    if not isinstance(document, dict):
        raise FieldsV1Error(f"expected an object, found {type(document).__name__}")
    node: Node = {}
    for key, child in document.items():
        if key == MEMBER:
            node[MEMBER] = {}
            continue
        if key[:2] not in ("f:", "k:", "v:", "i:"):
            raise FieldsV1Error(f"unknown path element {key!r}")
        sub = _read(child)
        node[key] = sub if sub else {MEMBER: {}}
    if top:
        node.pop(MEMBER, None)
    return node


_ORDER: Final = {"f": 0, "k": 1, "v": 2, "i": 3}


def _write(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    member = MEMBER in node
    # Plain string order is the server's order (f, k, v, i) as long as no ``i:`` element
    # sits beside ``k:``/``v:`` ones; only then is the slower keyed sort needed.
    children = sorted(node)
    if member:
        children.remove(MEMBER)
        if children:
            out[MEMBER] = {}
    # Sorted, a ``k:``/``v:`` element can only be last, so one look tells most nodes apart.
    if children and children[-1][0] in "kv" and any(k[0] == "i" for k in children):
        children.sort(key=lambda k: (_ORDER.get(k[0], 9), k))
    for key in children:
        child = node[key]
        out[key] = _write(child) if child.keys() != _LEAF else {}
    return out


#: The keys of a member node without children (written as ``{}``).
_LEAF: Final[KeysView[str]] = {MEMBER: {}}.keys()


def _prune(node: Node) -> Node:
    out: Node = {}
    for key, child in node.items():
        if key == MEMBER:
            out[MEMBER] = {}
            continue
        kept = _prune(child)
        if kept:
            out[key] = kept
    return out


def _paths(node: Node, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for key, child in node.items():
        if key == MEMBER:
            continue
        path = (*prefix, key)
        if MEMBER in child:
            yield path
        yield from _paths(child, path)


def _union(left: Node, right: Node) -> Node:
    if not right:
        return left
    if not left:
        return right
    out = dict(left)
    for key, child in right.items():
        mine = out.get(key)
        out[key] = child if mine is None else _union(mine, child)
    return out


def _difference(left: Node, right: Node) -> Node:
    out: Node = {}
    for key, child in left.items():
        if key == MEMBER:
            if MEMBER not in right:
                out[MEMBER] = {}
            continue
        theirs = right.get(key)
        rest = child if theirs is None else _difference(child, theirs)
        if rest:
            out[key] = rest
    return out


def _intersection(left: Node, right: Node) -> Node:
    out: Node = {}
    for key, child in left.items():
        theirs = right.get(key)
        if theirs is None:
            continue
        if key == MEMBER:
            out[MEMBER] = {}
            continue
        both = _intersection(child, theirs)
        if both:
            out[key] = both
    return out


def format_path(path: tuple[str, ...]) -> str:
    """Print a path as the API server does: ``.spec.containers[name="app"].image``."""
    parts: list[str] = []
    for element in path:
        kind, body = element[0], element[2:]
        if kind == "f":
            parts.append("." + body)
        elif kind == "k":
            fields = json.loads(body)
            parts.append("[" + ",".join(f"{k}={_encode(v)}" for k, v in fields.items()) + "]")
        elif kind == "v":
            parts.append(f"[={body}]")
        else:
            parts.append(f"[{body}]")
    return "".join(parts)
