"""Deleting an application in cascade: PreDelete hooks, resources, PostDelete hooks.

An Application deleted while it holds ``resources-finalizer.argocd.argoproj.io``
(foreground propagation) or ``.../background`` is finalized in steps, one per pass
of :meth:`AppDeleter.step`; each pass reads where it is from the cluster itself, so a
controller restarted in the middle picks up where the last one stopped:

1. the app's ``PreDelete`` hooks are created and awaited (a hook that fails stops the
   deletion: the app stays, with a ``DeletionError`` condition);
2. every object the app tracks is deleted, except hooks of the deletion and objects
   with ``argocd.argoproj.io/sync-options: Delete=false``; the step repeats until they
   are gone;
3. the ``PostDelete`` hooks are created and awaited;
4. once every deletion hook completed, the caller marks the app
   (``tether.dev/delete-hooks-completed``); the next pass removes the hooks, and the
   caller releases the finalizer. The mark is what tells a restarted controller that
   the hooks ran: once removed, they would otherwise look as if they never had, and
   run again.

Hooks come from the app's current render; hooks that only have ``generateName`` are
named from the app's uid, so every pass finds the same objects. When the app cannot be
rendered any more (its repository is gone), the deletion goes on without hooks rather
than keeping the app forever.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tether.controller.clusters import ClusterConnection
from tether.controller.comparison import AppComparer, ComparisonFailed, tracking_name
from tether.controller.settings import ControllerSettings
from tether.health import assess_health
from tether.kube import KubeError, NotFound
from tether.model import HealthStatus, ResourceKey, keys
from tether.model.application import Application
from tether.model.enums import HookType
from tether.model.hooks import hook_types_of
from tether.model.resource import format_tracking_id
from tether.model.syncoptions import DeleteOption, SyncOptions
from tether.sync import name_hooks

log = logging.getLogger(__name__)

_DELETE_HOOKS = (HookType.PRE_DELETE, HookType.POST_DELETE)
Propagation = Literal["Foreground", "Background"]


@dataclass(frozen=True, slots=True)
class DeletionStep:
    """What one pass achieved: ``done`` (release the finalizer), or ``message`` why not.

    ``failed`` marks a hook that failed: the deletion stops until someone acts.
    """

    done: bool
    message: str = ""
    failed: bool = False
    #: Every deletion hook completed: mark the app before the next pass removes them.
    hooks_completed: bool = False


def is_delete_hook(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` is a PreDelete or PostDelete hook (run by deletion, never by a sync)."""
    return any(t in _DELETE_HOOKS for t in hook_types_of(obj))


class AppDeleter:
    """Runs the steps of a cascading deletion for the application controller."""

    def __init__(self, comparer: AppComparer, *, control_namespace: str) -> None:
        self.comparer = comparer
        self.control_namespace = control_namespace

    async def step(
        self,
        app: Application,
        connection: ClusterConnection,
        settings: ControllerSettings,
        propagation: Propagation,
    ) -> DeletionStep:
        """Advance the deletion of ``app`` by one step."""
        hooks = await self._hooks(app, connection, settings)
        if hooks and app.metadata.annotations.get(keys.DELETE_HOOKS_COMPLETED) == "true":
            # They ran (the mark is durable): only their objects are left to remove.
            for hook in hooks:
                await self._delete(connection, hook, "Background")
            return DeletionStep(True)
        pending = await self._run_hooks(app, connection, settings, hooks, HookType.PRE_DELETE)
        if pending is not None:
            return pending
        remaining = await self._delete_resources(app, connection, propagation)
        if remaining:
            return DeletionStep(False, f"waiting for {remaining} resources to be deleted")
        pending = await self._run_hooks(app, connection, settings, hooks, HookType.POST_DELETE)
        if pending is not None:
            return pending
        if hooks:
            return DeletionStep(False, "deletion hooks completed", hooks_completed=True)
        return DeletionStep(True)

    async def _hooks(
        self, app: Application, connection: ClusterConnection, settings: ControllerSettings
    ) -> list[dict[str, Any]]:
        """The app's PreDelete and PostDelete hooks, named for this deletion."""
        try:
            shas = await self.comparer.resolve_revisions(app, (), False)
            rendered = await self.comparer.render_manifests(app, connection, shas, False)
        except ComparisonFailed as error:
            log.warning(
                "%s: deleting without its delete hooks: %s", app.qualified_name, error.message
            )
            return []
        hooks = [o for o in rendered.objects if is_delete_hook(o)]
        named = name_hooks(hooks, app.metadata.uid or app.qualified_name)
        owner = tracking_name(app, self.control_namespace)
        for hook in named:
            metadata = hook.setdefault("metadata", {})
            annotations = dict(metadata.get("annotations") or {})
            annotations[keys.TRACKING_ID] = format_tracking_id(owner, ResourceKey.of(hook))
            metadata["annotations"] = annotations
        return named

    async def _run_hooks(
        self,
        app: Application,
        connection: ClusterConnection,
        settings: ControllerSettings,
        hooks: Sequence[dict[str, Any]],
        hook_type: HookType,
    ) -> DeletionStep | None:
        """Create the hooks of ``hook_type``; ``None`` once all of them completed."""
        waiting = 0
        for hook in (h for h in hooks if hook_type in hook_types_of(h)):
            key = ResourceKey.of(hook)
            try:
                live = await connection.client.get(
                    str(hook["apiVersion"]), key.kind, key.name, key.namespace or None
                )
            except NotFound:
                try:
                    live = await connection.client.apply(hook)
                except KubeError as error:
                    return DeletionStep(
                        False, f"failed to create {hook_type.value} hook {key}: {error}", True
                    )
            health = assess_health(
                live, overrides=settings.health_overrides, policy=settings.health_policy
            )
            if health is not None and health.status is HealthStatus.DEGRADED:
                return DeletionStep(
                    False, f"{hook_type.value} hook {key} failed: {health.message}", True
                )
            if health is not None and health.status is not HealthStatus.HEALTHY:
                waiting += 1
        if waiting:
            return DeletionStep(False, f"waiting for {waiting} {hook_type.value} hooks")
        return None

    async def _delete_resources(
        self, app: Application, connection: ClusterConnection, propagation: Propagation
    ) -> int:
        """Delete what the app tracks; returns how many objects are still there."""
        remaining = 0
        for live in connection.cache.objects_of(tracking_name(app, self.control_namespace)):
            if is_delete_hook(live):
                continue
            if SyncOptions.of_object(live).delete is DeleteOption.DISABLED:
                continue
            remaining += 1
            if not (live.get("metadata") or {}).get("deletionTimestamp"):
                await self._delete(connection, live, propagation)
        return remaining

    @staticmethod
    async def _delete(
        connection: ClusterConnection, obj: Mapping[str, Any], propagation: Propagation
    ) -> None:
        metadata = obj.get("metadata") or {}
        with contextlib.suppress(NotFound):
            await connection.client.delete(
                str(obj.get("apiVersion")),
                str(obj.get("kind")),
                metadata["name"],
                metadata.get("namespace"),
                propagation_policy=propagation,
                uid=metadata.get("uid"),
            )
