"""Planning a sync: which action on which object, in which step.

:func:`plan_sync` is pure. It turns the desired objects (hooks included), the live
objects and the options into an ordered list of :class:`SyncStep`, each a set of
:class:`SyncTask` that may run concurrently. A step ends only when all its tasks ended
(hooks completed); the next step starts only when everything applied before it in the
same phase is healthy.

Order (Argo CD's): phases PreSync → Sync → PostSync; within a phase, waves ascending;
within a wave, kinds in :data:`KIND_ORDER` (Namespaces and CRDs first, unknown kinds
such as custom resources last) and then names. Pruning runs after the Sync phase's
applies, in reverse wave order, and ``PruneLast`` objects after every other prune.
SyncFail hooks form a separate plan, run only when the operation fails.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tether.model import HookDeletePolicy, HookType, ResourceKey, SyncPhase, keys
from tether.model.hooks import hook_delete_policies_of, hook_types_of, is_hook, is_skipped, wave_of
from tether.model.syncoptions import PruneOption, SyncOptions

#: Kinds applied first, in this order (Helm's and Argo CD's install order); every
#: other kind comes after, custom resources included.
KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}

_PHASE_RANK = {SyncPhase.PRE_SYNC: 0, SyncPhase.SYNC: 1, SyncPhase.POST_SYNC: 2}
#: Hooks of application deletion; a sync leaves them to the controller's deletion.
_DELETE_HOOKS = frozenset({HookType.PRE_DELETE, HookType.POST_DELETE})


def kind_rank(kind: str) -> int:
    """Position of ``kind`` in :data:`KIND_ORDER`; unknown kinds rank last."""
    return _KIND_RANK.get(kind, len(KIND_ORDER))


class Action(StrEnum):
    """What a task does to its object."""

    APPLY = "apply"
    REPLACE = "replace"
    PRUNE = "prune"
    HOOK = "hook"


@dataclass(frozen=True, slots=True)
class SyncTask:
    """One action on one object."""

    key: ResourceKey
    action: Action
    phase: SyncPhase
    wave: int
    target: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    live: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    options: SyncOptions = field(default_factory=SyncOptions, repr=False, compare=False)
    hook_type: HookType | None = None
    delete_policies: tuple[HookDeletePolicy, ...] = ()

    @property
    def api_version(self) -> str:
        """The apiVersion of the target (or, for a prune, of the live object)."""
        obj = self.target or self.live or {}
        return str(obj.get("apiVersion", ""))

    @property
    def order(self) -> tuple[int, str, str, str]:
        """Within a step: kind order, then namespace and name."""
        return (kind_rank(self.key.kind), self.key.kind, self.key.namespace, self.key.name)


@dataclass(frozen=True, slots=True)
class SyncStep:
    """Tasks that run together; ``label`` names the step in progress messages."""

    phase: SyncPhase
    wave: int
    tasks: tuple[SyncTask, ...]
    label: str


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """The ordered steps of a sync, the SyncFail hooks, and what was left out and why."""

    steps: tuple[SyncStep, ...]
    fail_hooks: tuple[SyncTask, ...] = ()
    skipped: tuple[tuple[ResourceKey, str], ...] = ()

    @property
    def tasks(self) -> list[SyncTask]:
        """Every task of every step, in order."""
        return [task for step in self.steps for task in step.tasks]


def plan_sync(
    desired: Iterable[Mapping[str, Any]],
    live: Mapping[ResourceKey, Mapping[str, Any]],
    *,
    options: SyncOptions,
    prune: bool,
    prune_candidates: Collection[ResourceKey] = (),
    selected: Collection[ResourceKey] | None = None,
    out_of_sync: Collection[ResourceKey] | None = None,
    confirmed: bool = False,
) -> SyncPlan:
    """Plan a sync.

    ``desired`` are the rendered objects (with namespaces already defaulted);
    ``live`` the live objects by key (those at desired keys and the app's tracked ones);
    ``prune_candidates`` the keys of live objects that carry this app's tracking id and
    are no longer desired. ``selected`` limits a selective sync (hooks are then
    skipped, as in Argo CD). ``out_of_sync`` is used by ``ApplyOutOfSyncOnly``.
    ``confirmed`` stands for the user confirming ``Prune=confirm`` objects.
    """
    tasks: list[SyncTask] = []
    fail_hooks: list[SyncTask] = []
    skipped: list[tuple[ResourceKey, str]] = []
    options_for = _OptionsOf(options)

    for obj in desired:
        key = ResourceKey.of(obj)
        if is_skipped(obj):
            skipped.append((key, "annotated to be skipped"))
            continue
        object_options = options_for(obj)
        if is_hook(obj):
            if set(hook_types_of(obj)) <= _DELETE_HOOKS:
                skipped.append((key, "runs when the application is deleted"))
                continue
            if selected is not None:
                skipped.append((key, "hooks do not run in a selective sync"))
                continue
            for hook_type in hook_types_of(obj):
                if hook_type in _DELETE_HOOKS:
                    continue
                task = SyncTask(
                    key=key,
                    action=Action.HOOK,
                    phase=_phase_of(hook_type),
                    wave=wave_of(obj),
                    target=obj,
                    live=live.get(key),
                    options=object_options,
                    hook_type=hook_type,
                    delete_policies=hook_delete_policies_of(obj),
                )
                (fail_hooks if hook_type is HookType.SYNC_FAIL else tasks).append(task)
            continue
        if selected is not None and key not in selected:
            continue
        if (
            object_options.apply_out_of_sync_only
            and out_of_sync is not None
            and key not in out_of_sync
        ):
            skipped.append((key, "already in sync (ApplyOutOfSyncOnly)"))
            continue
        tasks.append(
            SyncTask(
                key=key,
                action=Action.REPLACE if object_options.replace else Action.APPLY,
                phase=SyncPhase.SYNC,
                wave=wave_of(obj),
                target=obj,
                live=live.get(key),
                options=object_options,
            )
        )

    prunes: list[SyncTask] = []
    prune_last: list[SyncTask] = []
    for key in prune_candidates:
        live_obj = live.get(key)
        if live_obj is None or (selected is not None and key not in selected):
            continue
        object_options = options_for(live_obj)
        task = SyncTask(
            key=key,
            action=Action.PRUNE,
            phase=SyncPhase.SYNC,
            wave=wave_of(live_obj),
            live=live_obj,
            options=object_options,
        )
        reason = _why_not_pruned(object_options, prune, confirmed)
        if reason:
            skipped.append((key, reason))
        elif object_options.prune_last:
            prune_last.append(task)
        else:
            prunes.append(task)

    return SyncPlan(
        steps=tuple(_steps(tasks, prunes, prune_last)),
        fail_hooks=tuple(sorted(fail_hooks, key=lambda t: (t.wave, t.order))),
        skipped=tuple(sorted(skipped)),
    )


class _OptionsOf:
    """The options in force for each object, worked out once per distinct annotation set.

    An object's own options come from three annotations only (``sync-options``,
    ``compare-options`` and Helm's ``resource-policy``, see
    :meth:`SyncOptions.from_annotations`), so objects that agree on those share one
    result; most objects carry none of them. Parsing them anew for each of thousands
    of objects was a tenth of the client's work in a large sync.
    """

    _ANNOTATIONS = (keys.SYNC_OPTIONS, keys.COMPARE_OPTIONS, keys.HELM_RESOURCE_POLICY)

    def __init__(self, options: SyncOptions) -> None:
        self._options = options
        self._known: dict[tuple[Any, ...], SyncOptions] = {}

    def __call__(self, obj: Mapping[str, Any]) -> SyncOptions:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not isinstance(annotations, Mapping):
            return self._options.for_object(obj)
        key = tuple(annotations.get(name) for name in self._ANNOTATIONS)
        try:
            return self._known[key]
        except KeyError:
            found = self._known[key] = self._options.for_object(obj)
            return found
        except TypeError:  # an annotation value that is not a string (nor hashable)
            return self._options.for_object(obj)


def _phase_of(hook_type: HookType) -> SyncPhase:
    return SyncPhase(hook_type.value)


def _why_not_pruned(options: SyncOptions, prune: bool, confirmed: bool) -> str:
    if options.prune is PruneOption.DISABLED:
        return "pruning disabled for this object (Prune=false)"
    if options.prune is PruneOption.CONFIRM and not confirmed:
        return "pruning needs confirmation (Prune=confirm)"
    if not prune:
        return "pruning is not enabled for this sync"
    return ""


def _steps(
    tasks: list[SyncTask], prunes: list[SyncTask], prune_last: list[SyncTask]
) -> Iterable[SyncStep]:
    groups: dict[tuple[int, int], list[SyncTask]] = {}
    for task in tasks:
        groups.setdefault((_PHASE_RANK[task.phase], task.wave), []).append(task)
    phases = {rank: phase for phase, rank in _PHASE_RANK.items()}
    for (rank, wave), group in sorted(groups.items()):
        phase = phases[rank]
        if rank > _PHASE_RANK[SyncPhase.SYNC]:
            yield from _prune_steps(prunes, prune_last)
            prunes, prune_last = [], []
        yield SyncStep(
            phase=phase,
            wave=wave,
            tasks=tuple(sorted(group, key=lambda t: t.order)),
            label=f"{phase.value} wave {wave}",
        )
    yield from _prune_steps(prunes, prune_last)


def _prune_steps(prunes: list[SyncTask], prune_last: list[SyncTask]) -> Iterable[SyncStep]:
    waves: dict[int, list[SyncTask]] = {}
    for task in prunes:
        waves.setdefault(task.wave, []).append(task)
    # Reverse wave order: what was created last is removed first.
    for wave in sorted(waves, reverse=True):
        yield SyncStep(
            phase=SyncPhase.SYNC,
            wave=wave,
            # Reverse kind order too: Deployments go before the ConfigMaps they mount.
            tasks=tuple(sorted(waves[wave], key=lambda t: t.order, reverse=True)),
            label=f"prune wave {wave}",
        )
    if prune_last:
        yield SyncStep(
            phase=SyncPhase.SYNC,
            wave=max(t.wave for t in prune_last),
            tasks=tuple(sorted(prune_last, key=lambda t: t.order, reverse=True)),
            label="prune last",
        )
