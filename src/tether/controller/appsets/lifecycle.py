"""Planning what to create, update and delete, from desired and live Applications.

The plan is a pure value computed from the rendered Applications, the live ones and
the ApplicationSet's policy:

- ``syncPolicy.applicationsSync`` allows creates always, updates with ``sync`` and
  ``create-update``, deletes with ``sync`` and ``create-delete``;
- an existing Application this ApplicationSet does not control (another
  ApplicationSet's, or one made by hand) is reported as a conflict and left alone;
- ``preservedFields`` (plus Argo CD's always-preserved annotations) keep live label
  and annotation values the template does not set;
- ``ignoreApplicationDifferences`` keeps live values at JSON pointers or jq paths;
- a name whose parameter set failed to render is never deleted in that pass, and no
  deletion happens at all when a failure could not even be named.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import jq

from tether.controller.appsets.errors import AppSetError
from tether.model import keys
from tether.model.application import API_VERSION
from tether.model.applicationset import APPLICATION_SET_KIND, ApplicationSet

#: Records which ApplicationSet generated an Application (next to the ownerReference).
OWNER_LABEL: Final = keys.APPLICATIONSET_LABEL
#: Annotations Argo CD never overwrites on generated Applications.
ALWAYS_PRESERVED_ANNOTATIONS: Final = (
    "notified.notifications.argoproj.io",
    keys.REFRESH,
    "argocd.argoproj.io/hydrate",
)


class ActionKind(StrEnum):
    """What the plan does to one Application."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Action:
    """One change: its kind, the Application's name, and the object to write."""

    kind: ActionKind
    name: str
    desired: Mapping[str, Any] | None = None
    live: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """A generated name that belongs to someone else."""

    name: str
    owner: str

    @property
    def message(self) -> str:
        """Why the Application is left alone."""
        who = f"ApplicationSet {self.owner}" if self.owner else "no ApplicationSet"
        return f"Application {self.name} already exists and is controlled by {who}"


@dataclass(frozen=True, slots=True)
class Plan:
    """Every change of one pass, the conflicts found, and what policy held back."""

    actions: tuple[Action, ...]
    conflicts: tuple[Conflict, ...] = ()
    held_back: tuple[str, ...] = field(default=())

    def of(self, kind: ActionKind) -> tuple[Action, ...]:
        """The actions of one kind."""
        return tuple(a for a in self.actions if a.kind is kind)


def controller_of(app: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(name, uid)`` of the ApplicationSet controlling ``app``, if any."""
    for ref in (app.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == APPLICATION_SET_KIND and ref.get("controller"):
            return str(ref.get("name", "")), str(ref.get("uid", ""))
    return None


def owned_by(app: Mapping[str, Any], appset: ApplicationSet) -> bool:
    """Whether ``appset`` controls ``app``."""
    owner = controller_of(app)
    if owner is None:
        return False
    name, uid = owner
    return name == appset.metadata.name and (not appset.metadata.uid or uid == appset.metadata.uid)


def with_ownership(app: Mapping[str, Any], appset: ApplicationSet) -> dict[str, Any]:
    """``app`` with the ownerReference and label that tie it to ``appset``."""
    out = copy.deepcopy(dict(app))
    metadata = out.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), OWNER_LABEL: appset.metadata.name}
    metadata["ownerReferences"] = [
        {
            "apiVersion": API_VERSION,
            "kind": APPLICATION_SET_KIND,
            "name": appset.metadata.name,
            "uid": appset.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    return out


def _preserve(desired: dict[str, Any], live: Mapping[str, Any], appset: ApplicationSet) -> None:
    preserved = appset.spec.preserved_fields or {}
    wanted = {
        "annotations": (*ALWAYS_PRESERVED_ANNOTATIONS, *preserved.get("annotations", ())),
        "labels": tuple(preserved.get("labels", ())),
    }
    live_meta = live.get("metadata") or {}
    metadata = desired.setdefault("metadata", {})
    for kind, names in wanted.items():
        current = dict(live_meta.get(kind) or {})
        target = dict(metadata.get(kind) or {})
        for name in names:
            if name in current and name not in target:
                target[name] = current[name]
        if target:
            metadata[kind] = target


def _pointer_parts(pointer: str) -> list[str]:
    if pointer in ("", "/"):
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


def _get_path(data: Any, path: Sequence[Any]) -> tuple[bool, Any]:
    node = data
    for part in path:
        if isinstance(node, Mapping) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _set_path(data: Any, path: Sequence[Any], found: bool, value: Any) -> None:
    node = data
    for part in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(str(part), {})
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return
    last = path[-1]
    if isinstance(node, dict):
        if found:
            node[str(last)] = copy.deepcopy(value)
        else:
            node.pop(str(last), None)
    elif isinstance(node, list) and str(last).isdigit() and int(last) < len(node) and found:
        node[int(last)] = copy.deepcopy(value)


def _jq_paths(expression: str, live: Mapping[str, Any]) -> list[list[Any]]:
    try:
        result = jq.compile(f"[path({expression})]").input_value(live).first()
    except ValueError as error:
        raise AppSetError(
            f"failed to evaluate ignoreApplicationDifferences jq path {expression!r}: {error}"
        ) from error
    return [list(p) for p in result or [] if p]


def _ignore_differences(
    desired: dict[str, Any], live: Mapping[str, Any], rules: Iterable[Mapping[str, Any]]
) -> None:
    name = (desired.get("metadata") or {}).get("name")
    for rule in rules:
        if rule.get("name") and rule["name"] != name:
            continue
        paths = [_pointer_parts(p) for p in rule.get("jsonPointers") or []]
        for expression in rule.get("jqPathExpressions") or []:
            paths.extend(_jq_paths(str(expression), live))
        for path in paths:
            if not path:
                continue
            found, value = _get_path(live, path)
            _set_path(desired, path, found, value)


def _differs(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    want, have = desired.get("metadata") or {}, live.get("metadata") or {}
    for key in ("labels", "annotations"):
        present = have.get(key) or {}
        if any(present.get(k) != v for k, v in (want.get(key) or {}).items()):
            return True
    # Others (the application controller, a user) may add finalizers of their own;
    # server-side apply keeps theirs, so only a missing one of ours is a difference.
    if set(want.get("finalizers") or []) - set(have.get("finalizers") or []):
        return True
    if controller_of(desired) != controller_of(live):
        return True
    return desired.get("spec") != live.get("spec")


def plan(
    appset: ApplicationSet,
    desired: Sequence[Mapping[str, Any]],
    live: Sequence[Mapping[str, Any]],
    *,
    protected: frozenset[str] = frozenset(),
    allow_deletes: bool = True,
) -> Plan:
    """The changes that bring ``live`` (Applications of the namespace) to ``desired``."""
    policy = appset.spec.sync_policy
    mode = policy.effective_applications_sync if policy else None
    may_update = mode is None or mode.may_update
    may_delete = (mode is None or mode.may_delete) and allow_deletes
    by_name = {str(a["metadata"]["name"]): a for a in live}
    actions: list[Action] = []
    conflicts: list[Conflict] = []
    held_back: list[str] = []
    for app in desired:
        name = str(app["metadata"]["name"])
        target = with_ownership(app, appset)
        current = by_name.get(name)
        if current is None:
            actions.append(Action(ActionKind.CREATE, name, target))
            continue
        if not owned_by(current, appset):
            owner = controller_of(current)
            conflicts.append(Conflict(name, owner[0] if owner else ""))
            continue
        _preserve(target, current, appset)
        _ignore_differences(target, current, appset.spec.ignore_application_differences)
        if _differs(target, current):
            if may_update:
                actions.append(Action(ActionKind.UPDATE, name, target, current))
            else:
                held_back.append(name)
    wanted = {str(a["metadata"]["name"]) for a in desired}
    for name, current in sorted(by_name.items()):
        if name in wanted or name in protected or not owned_by(current, appset):
            continue
        if (current.get("metadata") or {}).get("deletionTimestamp"):
            continue
        if may_delete:
            actions.append(Action(ActionKind.DELETE, name, None, current))
        else:
            held_back.append(name)
    return Plan(tuple(actions), tuple(conflicts), tuple(held_back))
