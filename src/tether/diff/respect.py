"""``RespectIgnoreDifferences=true``: the manifest to apply when ignored fields must stay.

With this sync option Argo CD applies the desired object with every ignored field
replaced by its live value, so that the apply neither resets nor claims what the
application chose to ignore. Ignored fields are found in both objects with the same
rules the comparison uses; positions inside map lists are translated by merge key, so
``.spec.template.spec.initContainers[] | select(.name == "istio-init")`` keeps the live
``istio-init`` item whatever its position in either list, instead of overwriting
whichever desired item happens to sit at the same index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.diff.ignore import IgnoreRule, matching, remove_ignored, selected_paths
from tether.diff.jq import JqRunner
from tether.diff.merge import child_node, item_key, item_node, list_keys
from tether.diff.normalize import copy_object
from tether.diff.pointer import Path, get_path
from tether.diff.schema import BUILTIN_SCHEMA, ListKind, SchemaLookup, SchemaNode, root_of
from tether.model import ResourceKey


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a position-independent path: a map field, a keyed item, or an index."""

    field: str | None = None
    keys: tuple[str, ...] = ()
    key: tuple[Any, ...] | None = None
    index: int | None = None

    def find(self, node: Any) -> str | int | None:
        """This step's position in ``node`` (``None`` when ``node`` has no such child)."""
        if self.field is not None:
            return self.field if isinstance(node, dict) else None
        if not isinstance(node, list):
            return None
        if self.key is not None:
            return next(
                (i for i, it in enumerate(node) if item_key(it, self.keys) == self.key), None
            )
        return self.index if self.index is not None and self.index < len(node) else None


def identify(doc: Any, path: Path, node: SchemaNode | None) -> tuple[Step, ...]:
    """``path`` with list indexes replaced by merge-key values where the list has keys."""
    steps: list[Step] = []
    here = doc
    for token in path:
        if isinstance(here, list) and isinstance(token, int):
            kind, keys = list_keys(node)
            key = item_key(here[token], keys) if kind is ListKind.MAP and keys else None
            steps.append(Step(keys=keys, key=key) if key is not None else Step(index=token))
            here, node = here[token], item_node(node)
        else:
            steps.append(Step(field=str(token)))
            here, node = here[token], child_node(node, str(token))
    return tuple(steps)


def place(doc: Any, steps: tuple[Step, ...], value: Any) -> None:
    """Store ``value`` at the position ``steps`` identifies in ``doc``.

    Missing maps are created; a keyed item the list lacks is appended when it is the
    value itself, and skipped when only a field inside it is concerned (without the
    item, the apply does not touch the live one).
    """
    here = doc
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        position = step.find(here)
        if position is None:
            if last and step.key is not None and isinstance(here, list):
                here.append(value)
            return
        if last:
            here[position] = value
            return
        if step.field is not None and not isinstance(here.get(step.field), dict | list):
            here[step.field] = {} if steps[index + 1].field is not None else []
        here = here[position]


def respect_ignore_differences(
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    rules: Iterable[IgnoreRule],
    *,
    jq: JqRunner,
    schema: SchemaLookup = BUILTIN_SCHEMA,
) -> dict[str, Any]:
    """``desired`` with every ignored field set to its live value (removed if not live).

    ``live`` ``None`` (the object is to be created) removes the ignored fields: the
    first apply then leaves them to whoever sets them.
    """
    result = copy_object(desired)
    matched = matching(rules, ResourceKey.of(desired))
    if not matched:
        return result
    node = root_of(schema, desired)
    kept: dict[tuple[Step, ...], Path] = {}
    if live is not None:
        for path in selected_paths(matched, live, live=live, jq=jq):
            kept.setdefault(identify(live, path, node), path)
    own = selected_paths(matched, result, live=None, jq=jq, managers=False)
    remove_ignored(result, [p for p in own if identify(result, p, node) not in kept])
    for steps, path in sorted(kept.items(), key=lambda item: len(item[1])):
        place(result, steps, copy_object({"value": get_path(live, path)})["value"])
    return result
