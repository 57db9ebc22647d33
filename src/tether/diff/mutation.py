"""Server-side diff without mutating-webhook changes (Argo CD's default).

A server-side dry run returns the object as admission left it, webhook mutations
included (an injected sidecar, a stamped annotation). Argo CD leaves those out of the
diff unless the compare option ``IncludeMutationWebhook=true`` is set: only what the
manifest declares, and what tether owned and no longer declares, may differ from live.
Every other difference between live and the dry run is put back to its live value.
"""

from __future__ import annotations

from typing import Any

from tether.diff.merge import child_node, differences, item_key, item_node, list_keys
from tether.diff.pointer import MISSING, Path, get_path, remove_paths, set_path
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
    if isinstance(desired, dict) and desired and isinstance(predicted, dict):
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
    restore: list[tuple[Path, Any]] = []
    drop: list[Path] = []
    for path in differences(live, predicted, node):
        if declared.touches(path):
            continue
        before, after = get_path(live, path), get_path(predicted, path)
        if after is MISSING:
            if not owned.touches(path):
                restore.append((path, before))
        elif before is MISSING:
            drop.append(path)
        else:
            restore.append((path, before))
    result = predicted
    for path, value in restore:
        set_path(result, path, value)
    remove_paths(result, drop)
    return result
