"""Field paths: JSON pointers (RFC 6901) and the small tree edits made with them.

A :data:`Path` is a tuple of map keys (``str``) and list indexes (``int``). Differing
fields are reported as JSON pointers so that a user can paste one straight into an
``ignoreDifferences.jsonPointers`` entry.
"""

from __future__ import annotations

from typing import Any, Final

Path = tuple[str | int, ...]


class _Missing:
    """The absence of a value (distinct from an explicit ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def parse_pointer(text: str) -> tuple[str, ...]:
    """Split a JSON pointer into unescaped reference tokens.

    Raises :class:`ValueError` with the reason when ``text`` is not a pointer.
    """
    if text == "":
        return ()
    if not text.startswith("/"):
        raise ValueError("a JSON pointer must be empty or start with '/'")
    tokens = text[1:].split("/")
    for token in tokens:
        stripped = token.replace("~0", "").replace("~1", "")
        if "~" in stripped:
            raise ValueError("'~' must be followed by '0' or '1'")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in tokens)


def format_pointer(path: Path) -> str:
    """Render ``path`` as a JSON pointer (``/spec/containers/0/image``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _step(node: Any, token: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(str(token), MISSING) if not isinstance(token, int) else MISSING
    if isinstance(node, list):
        index = _index(token)
        return node[index] if index is not None and index < len(node) else MISSING
    return MISSING


def _index(token: str | int) -> int | None:
    if isinstance(token, int):
        return token if token >= 0 else None
    return int(token) if token.isdigit() and (token == "0" or not token.startswith("0")) else None


def get_path(doc: Any, path: Path) -> Any:
    """The value at ``path``, or :data:`MISSING`."""
    node = doc
    for token in path:
        node = _step(node, token)
        if node is MISSING:
            return MISSING
    return node


def resolve_tokens(doc: Any, tokens: tuple[str, ...]) -> Path | None:
    """Turn pointer tokens into a :data:`Path` on ``doc`` (list indexes as ints)."""
    node = doc
    path: list[str | int] = []
    for token in tokens:
        if isinstance(node, list):
            index = _index(token)
            if index is None or index >= len(node):
                return None
            path.append(index)
            node = node[index]
        elif isinstance(node, dict) and token in node:
            path.append(token)
            node = node[token]
        else:
            return None
    return tuple(path)


def remove_path(doc: Any, path: Path) -> bool:
    """Delete the value at ``path`` in place; whether something was removed."""
    if not path:
        return False
    parent = get_path(doc, path[:-1])
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        del parent[last]
        return True
    return False


def remove_paths(doc: Any, paths: list[Path]) -> None:
    """Delete several values; list items are removed from the highest index down."""
    for path in sorted(set(paths), key=removal_order, reverse=True):
        remove_path(doc, path)


def removal_order(path: Path) -> tuple[tuple[int, int | str], ...]:
    """Sort key that, reversed, puts deeper paths and higher list indexes first.

    Removing in that order never shifts a position that a later removal relies on.
    """
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in path)


def set_path(doc: Any, path: Path, value: Any) -> bool:
    """Store ``value`` at ``path``, creating missing maps; whether it could be stored."""
    if not path:
        return False
    node = doc
    for token in path[:-1]:
        child = _step(node, token)
        if child is MISSING:
            if not isinstance(node, dict) or isinstance(token, int):
                return False
            child = node[token] = {}
        node = child
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = value
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node[last] = value
        return True
    return False
