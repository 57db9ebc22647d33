"""Server-side diff without mutating-webhook changes (Argo CD's default).

A server-side dry run returns the object as admission left it, webhook mutations
included (an injected sidecar, a stamped annotation). Argo CD leaves those out of the
diff unless the compare option ``IncludeMutationWebhook=true`` is set: only what the
manifest declares, and what tether owned and no longer declares, may differ from live.
Every other difference between live and the dry run is put back to its live value.
"""

from __future__ import annotations

from typing import Any

from tether.diff.merge import (
    PRESENCE_SIGNIFICANT,
    Change,
    changes,
    child_node,
    item_key,
    item_node,
    list_keys,
)
from tether.diff.pointer import Path, get_path, remove_paths, set_path
from tether.diff.schema import ListKind, SchemaNode

#: Compare option that keeps webhook mutations in a server-side diff.
INCLUDE_MUTATION_WEBHOOK = "IncludeMutationWebhook=true"


def declared_paths(desired: Any, predicted: Any, node: SchemaNode | None) -> set[Path]:
    """Positions in ``predicted`` of every value ``desired`` declares (whole lists if atomic)."""
    found: set[Path] = set()
    _declare(desired, predicted, node, (), found)
    return found


def _declare(
    desired: Any, predicted: Any, node: SchemaNode | None, path: Path, found: set[Path]
) -> None:
    if isinstance(desired, dict | list) and not desired:
        # Empty declares nothing (empty equals missing), save where emptiness has meaning.
        if path and path[-1] in PRESENCE_SIGNIFICANT:
            found.add(path)
        return
    if isinstance(desired, dict) and isinstance(predicted, dict):
        for name, value in desired.items():
            if name in predicted:
                _declare(value, predicted[name], child_node(node, name), (*path, name), found)
        return
    kind, keys = list_keys(node)
    if isinstance(desired, list) and isinstance(predicted, list) and kind is ListKind.MAP:
        positions = {item_key(item, keys): i for i, item in enumerate(predicted)}
        for item in desired:
            index = positions.get(item_key(item, keys))
            if index is not None:
                _declare(item, predicted[index], item_node(node), (*path, index), found)
        return
    found.add(path)


class _Overlap:
    """Answers whether a path lies on, above or below any path of a set."""

    def __init__(self, paths: set[Path] | list[Path]) -> None:
        self._paths = set(paths)
        self._ancestors = {p[:depth] for p in self._paths for depth in range(len(p))}

    def touches(self, path: Path) -> bool:
        """Whether ``path`` is one of the paths, an ancestor or a descendant of one."""
        if path in self._ancestors:
            return True
        return any(path[:depth] in self._paths for depth in range(len(path) + 1))


def without_mutations(
    live: dict[str, Any],
    predicted: dict[str, Any],
    desired: dict[str, Any],
    owned_before: list[Path],
    node: SchemaNode | None,
) -> dict[str, Any]:
    """``predicted`` with every undeclared change put back to its ``live`` value.

    ``owned_before`` are the positions in ``live`` of the fields tether applied
    before: their removal is the apply's doing, not a webhook's, and stays.
    """
    declared = _Overlap(declared_paths(desired, predicted, node))
    owned = _Overlap(owned_before)
    dropped: list[Path] = []
    for change in changes(live, predicted, node):
        if change.predicted is not None and declared.touches(change.predicted):
            continue
        if change.predicted is None:
            assert change.live is not None
            if not owned.touches(change.live):
                _put_back(predicted, change, get_path(live, change.live))
        elif change.live is None:
            dropped.append(change.predicted)
        else:
            set_path(predicted, change.predicted, get_path(live, change.live))
    remove_paths(predicted, dropped)
    return predicted


def _put_back(predicted: dict[str, Any], change: Change, value: Any) -> None:
    """Restore a value the dry run lost: a map field in place, a list item at the end."""
    assert change.live is not None
    parent = get_path(predicted, change.parent)
    if isinstance(parent, dict):
        parent[str(change.live[-1])] = value
    elif isinstance(parent, list):
        parent.append(value)
