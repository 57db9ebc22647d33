"""Comparing one Application: resolve revisions, render, pair with live objects, judge.

:meth:`AppComparer.compare` runs these steps in order (their names are the names of
the methods, as in Flux's reconcilers):

1. ``resolve_revisions``: each Git source's ``targetRevision`` to a commit SHA (the
   repository is refreshed first when asked, otherwise the mirror answers);
2. ``render_manifests``: unless the sources, commits and destination are the ones
   rendered last time for this app, check the commits out and render them;
3. ``collect_live``: the app's tracked objects and the live objects at desired keys,
   from the destination's watch-backed cache;
4. ``compare_objects`` and ``assess_health``: the diff and the health verdicts.

Any failure of steps 1 and 2 raises :class:`ComparisonFailed`; the caller keeps the last
known state and never syncs (a failed render is not an empty desired state).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import orjson

from tether.controller.clusters import ClusterConnection
from tether.controller.settings import ControllerSettings
from tether.diff import ChangeSet, Differ, DiffError, DiffState, parse_ignore_differences
from tether.health import ManagedResource, assess_app_health
from tether.kube import KubeError
from tether.live import tracking_app_of
from tether.model import Health, HealthStatus, ResourceKey, SyncStatus
from tether.model.application import Application
from tether.model.hooks import is_hook, is_skipped
from tether.model.status import Condition, ConditionType, ResourceStatus
from tether.render.errors import RenderError
from tether.render.objects import thaw
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, RenderResult, SourceCheckout
from tether.source import GitCache, SourceError
from tether.sync import assign_namespaces

log = logging.getLogger(__name__)


class ComparisonFailed(Exception):
    """The desired state could not be computed; ``condition`` says why."""

    def __init__(self, condition: str, message: str) -> None:
        super().__init__(message)
        self.condition = condition
        self.message = message


class LiveStateUnavailable(ComparisonFailed):
    """The cluster's live state cannot be read now (its lists fail or did not complete).

    A passing condition (the cluster restarts, the network drops): what it says about
    the app is only that nothing is known, and it will pass.
    """


@dataclass(frozen=True, slots=True)
class Comparison:
    """Everything one refresh learned about an application."""

    revisions: tuple[str, ...]
    desired: tuple[dict[str, Any], ...] = field(repr=False)
    live: Mapping[ResourceKey, dict[str, Any]] = field(repr=False)
    changes: ChangeSet = field(repr=False)
    health: Health
    resources: tuple[ResourceStatus, ...]
    warnings: tuple[Condition, ...]
    source_types: tuple[str, ...]
    images: tuple[str, ...]

    @property
    def sync_status(self) -> SyncStatus:
        """The app's sync status."""
        return self.changes.sync_status

    @property
    def prune_candidates(self) -> tuple[ResourceKey, ...]:
        """Tracked live objects no longer declared."""
        return tuple(r.key for r in self.changes.with_state(DiffState.EXTRANEOUS))

    @property
    def out_of_sync(self) -> frozenset[ResourceKey]:
        """Keys whose objects differ or are missing."""
        return frozenset(r.key for r in self.changes.results if r.state is not DiffState.SYNCED)

    @property
    def is_empty(self) -> bool:
        """Whether the render produced no object at all."""
        return not self.desired


def tracking_name(app: Application, control_namespace: str) -> str:
    """The name tracking ids use: the app's name, or ``<namespace>_<name>`` elsewhere."""
    if not app.namespace or app.namespace == control_namespace:
        return app.name
    return f"{app.namespace}_{app.name}"


def images_of(objects: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The container images of workloads among ``objects``, sorted and unique."""
    found: set[str] = set()
    for obj in objects:
        spec = obj.get("spec") or {}
        pod_specs = [spec, (spec.get("template") or {}).get("spec") or {}]
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        pod_specs.append((job.get("template") or {}).get("spec") or {})
        for pod in pod_specs:
            for key in ("containers", "initContainers"):
                for container in pod.get(key) or []:
                    if isinstance(container, Mapping) and container.get("image"):
                        found.add(str(container["image"]))
    return tuple(sorted(found))


@dataclass(slots=True)
class _Rendered:
    key: bytes
    objects: tuple[dict[str, Any], ...]
    source_types: tuple[str, ...]
    warnings: tuple[str, ...]


class AppComparer:
    """Compares applications; keeps per-app render memos and differs between refreshes."""

    def __init__(
        self,
        git: GitCache,
        renderer: Renderer,
        *,
        control_namespace: str,
        sync_timeout: float = 30.0,
    ) -> None:
        self.git = git
        self.renderer = renderer
        self.control_namespace = control_namespace
        self._sync_timeout = sync_timeout
        self._rendered: dict[str, _Rendered] = {}
        self._differs: dict[str, tuple[bytes, Differ]] = {}

    def forget(self, app_key: str) -> None:
        """Drop what is remembered about a deleted application."""
        self._rendered.pop(app_key, None)
        self._differs.pop(app_key, None)

    async def compare(
        self,
        app: Application,
        connection: ClusterConnection,
        settings: ControllerSettings,
        *,
        revisions: Sequence[str] = (),
        refresh_repositories: bool = False,
        hard: bool = False,
    ) -> Comparison:
        """Compare ``app`` with its destination (``revisions`` overrides targetRevisions)."""
        shas = await self.resolve_revisions(app, revisions, refresh_repositories)
        rendered = await self.render_manifests(app, connection, shas, hard)
        desired = [o for o in rendered.objects if not is_skipped(o)]
        resources = [o for o in desired if not is_hook(o)]
        live = await self.collect_live(app, connection, desired)
        predicted = None
        if app.sync_options.server_side_diff:
            predicted = await self.predict_on_server(connection, resources, live)
        changes = self.compare_objects(app, settings, resources, live, predicted)
        health = assess_app_health(
            [
                ManagedResource(key, target=target, live=live.get(key))
                for key, target in self._union(resources, live).items()
            ],
            overrides=settings.health_overrides,
            policy=settings.health_policy,
        )
        verdicts = {r.key: r.health for r in health.resources}
        statuses = []
        for result in changes.results:
            target = result.desired or {}
            api_version = str((target or result.live or {}).get("apiVersion", ""))
            statuses.append(
                ResourceStatus(
                    group=result.key.group,
                    version=api_version.rpartition("/")[2],
                    kind=result.key.kind,
                    namespace=result.key.namespace,
                    name=result.key.name,
                    status=result.sync_status,
                    health=verdicts.get(result.key)
                    or (
                        Health(HealthStatus.MISSING) if result.state is DiffState.MISSING else None
                    ),
                    requires_pruning=result.requires_pruning,
                )
            )
        warnings = [
            Condition(ConditionType.REPEATED_RESOURCE_WARNING.value, m) for m in rendered.warnings
        ]
        warnings += self._shared_resource_warnings(app, settings, resources, live)
        warnings += [
            Condition(
                ConditionType.COMPARISON_ERROR.value, f"failed to compare {f.key}: {f.message}"
            )
            for f in changes.failures
        ]
        return Comparison(
            revisions=shas,
            desired=tuple(desired),
            live=live,
            changes=changes,
            health=health.health,
            resources=tuple(statuses),
            warnings=tuple(warnings),
            source_types=rendered.source_types,
            images=images_of(list(live.values())),
        )

    # --- steps -------------------------------------------------------------------

    async def resolve_revisions(
        self, app: Application, overrides: Sequence[str], refresh: bool
    ) -> tuple[str, ...]:
        """The commit (or chart version) of every source."""
        shas = []
        for index, source in enumerate(app.sources):
            wanted = (
                overrides[index]
                if index < len(overrides) and overrides[index]
                else source.target_revision
            )
            if source.is_helm_repository:
                shas.append(wanted)
                continue
            try:
                revision = await self.git.resolve(
                    source.repo_url,
                    wanted or "HEAD",
                    project=app.spec.project_name,
                    refresh=refresh,
                )
            except SourceError as error:
                if refresh:
                    raise ComparisonFailed(
                        ConditionType.COMPARISON_ERROR.value, str(error)
                    ) from error
                # The mirror may simply not exist yet: fetch once before giving up.
                return await self.resolve_revisions(app, overrides, True)
            shas.append(revision.sha)
        return tuple(shas)

    async def render_manifests(
        self, app: Application, connection: ClusterConnection, shas: tuple[str, ...], hard: bool
    ) -> _Rendered:
        """The app's desired objects, rendered only when an input changed."""
        destination = app.spec.destination
        memo_key = orjson.dumps(
            {
                "sources": [s.to_dict() for s in app.sources],
                "shas": shas,
                "destination": destination.to_dict(),
                "name": app.name,
            },
            option=orjson.OPT_SORT_KEYS,
        )
        previous = self._rendered.get(app.qualified_name)
        if previous is not None and previous.key == memo_key and not hard:
            return previous
        try:
            result = await self._render(app, connection, shas, hard)
            objects = await assign_namespaces(
                [thaw(o) for o in result.objects],
                destination.namespace,
                connection.client.discovery,
            )
        except (SourceError, RenderError, KubeError) as error:
            raise ComparisonFailed(ConditionType.COMPARISON_ERROR.value, str(error)) from error
        for index, obj in enumerate(objects):
            metadata = obj.get("metadata") or {}
            if (
                not obj.get("apiVersion")
                or not obj.get("kind")
                or not (metadata.get("name") or metadata.get("generateName"))
            ):
                raise ComparisonFailed(
                    ConditionType.COMPARISON_ERROR.value,
                    f"failed to render {app.qualified_name}: object {index} lacks an apiVersion, "
                    "a kind or a name",
                )
        rendered = _Rendered(
            key=memo_key,
            objects=tuple(objects),
            source_types=tuple(tool.value for tool in result.tools),
            warnings=tuple(w.message for w in result.warnings),
        )
        self._rendered[app.qualified_name] = rendered
        return rendered

    async def _render(
        self, app: Application, connection: ClusterConnection, shas: tuple[str, ...], hard: bool
    ) -> RenderResult:
        async with AsyncExitStack() as stack:
            checkouts = []
            for source, sha in zip(app.sources, shas, strict=True):
                if source.is_helm_repository:
                    checkouts.append(SourceCheckout(source, None, sha))
                    continue
                checkout = await stack.enter_async_context(
                    self.git.checkout(
                        source.repo_url, sha, project=app.spec.project_name, refresh=False
                    )
                )
                checkouts.append(SourceCheckout(source, checkout.path, sha))
            request = RenderRequest(
                app_name=app.name,
                sources=tuple(checkouts),
                app_namespace=app.namespace or self.control_namespace,
                destination_namespace=app.spec.destination.namespace,
                hard_refresh=hard,
            )
            return await self.renderer.render(request)

    async def collect_live(
        self, app: Application, connection: ClusterConnection, desired: Sequence[Mapping[str, Any]]
    ) -> dict[ResourceKey, dict[str, Any]]:
        """Tracked objects of the app and live objects at desired keys, hooks left out."""
        connection.watch_kinds_of(desired)
        try:
            async with asyncio.timeout(self._sync_timeout):
                await connection.cache.wait_synced()
        except TimeoutError as error:
            raise LiveStateUnavailable(
                ConditionType.COMPARISON_ERROR.value,
                f"failed to list live objects of {connection.name}: {connection.cache.errors}",
            ) from error
        watched = {f"{api_version}/{kind}" for api_version, kind in connection.kinds}
        stale = sorted(m for kind, m in connection.cache.stale.items() if kind in watched)
        if stale:
            # The cache holds what the cluster said before its lists began to fail:
            # comparing with it would report a sync status nobody observed.
            raise LiveStateUnavailable(
                ConditionType.COMPARISON_ERROR.value,
                f"failed to load live state of cluster {connection.server}: {stale[0]}",
            )
        name = tracking_name(app, self.control_namespace)
        live = {
            ResourceKey.of(obj): obj
            for obj in connection.cache.objects_of(name)
            if not is_hook(obj)
        }
        for obj in desired:
            if is_hook(obj):
                continue  # a hook left from an earlier sync is not a resource of the app
            key = ResourceKey.of(obj)
            if key not in live:
                found = connection.cache.get(key)
                if found is not None:
                    live[key] = found
        return live

    async def predict_on_server(
        self,
        connection: ClusterConnection,
        desired: Sequence[Mapping[str, Any]],
        live: Mapping[ResourceKey, dict[str, Any]],
    ) -> dict[ResourceKey, dict[str, Any]]:
        """``ServerSideDiff=true``: what the server would make of each existing object.

        A dry-run apply per object that exists; an object whose dry run fails keeps the
        local prediction (its real apply will report the error).
        """

        async def dry_run(obj: Mapping[str, Any]) -> tuple[ResourceKey, dict[str, Any] | None]:
            try:
                return ResourceKey.of(obj), await connection.client.apply(obj, dry_run=True)
            except KubeError:
                return ResourceKey.of(obj), None

        existing = [o for o in desired if ResourceKey.of(o) in live]
        results = await asyncio.gather(*(dry_run(o) for o in existing))
        return {key: found for key, found in results if found is not None}

    def respect_ignore_differences(
        self, app: Application, desired: Mapping[str, Any], live: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """``desired`` with the fields the app ignores set to their live values."""
        cached = self._differs.get(app.qualified_name)
        if cached is None:
            return dict(desired)
        return cached[1].respect_ignore_differences(desired, live)

    def compare_objects(
        self,
        app: Application,
        settings: ControllerSettings,
        desired: Sequence[Mapping[str, Any]],
        live: Mapping[ResourceKey, dict[str, Any]],
        predicted: Mapping[ResourceKey, dict[str, Any]] | None = None,
    ) -> ChangeSet:
        """The diff of the app's declared objects with what runs."""
        rules_data = [d.to_dict() for d in app.spec.ignore_differences]
        rules_key = orjson.dumps({"rules": rules_data, "settings": repr(settings.diff)})
        cached = self._differs.get(app.qualified_name)
        if cached is None or cached[0] != rules_key:
            try:
                rules = parse_ignore_differences(rules_data)
            except DiffError as error:
                raise ComparisonFailed(
                    ConditionType.INVALID_SPEC_ERROR.value, str(error)
                ) from error
            cached = (rules_key, Differ.for_app(rules, settings.diff))
            self._differs[app.qualified_name] = cached
        return cached[1].compare_app(desired, list(live.values()), predicted=predicted)

    # --- helpers -----------------------------------------------------------------

    @staticmethod
    def _union(
        desired: Sequence[Mapping[str, Any]], live: Mapping[ResourceKey, dict[str, Any]]
    ) -> dict[ResourceKey, Mapping[str, Any] | None]:
        union: dict[ResourceKey, Mapping[str, Any] | None] = {ResourceKey.of(o): o for o in desired}
        for key in live:
            union.setdefault(key, None)
        return union

    def _shared_resource_warnings(
        self,
        app: Application,
        settings: ControllerSettings,
        desired: Sequence[Mapping[str, Any]],
        live: Mapping[ResourceKey, dict[str, Any]],
    ) -> list[Condition]:
        me = tracking_name(app, self.control_namespace)
        out = []
        for obj in desired:
            key = ResourceKey.of(obj)
            found = live.get(key)
            if found is None:
                continue
            owner = tracking_app_of(found, settings.tracking)
            if owner and owner != me:
                out.append(
                    Condition(
                        ConditionType.SHARED_RESOURCE_WARNING.value,
                        f"{key.kind}/{key.name} is part of applications {me} and {owner}",
                    )
                )
        return out
