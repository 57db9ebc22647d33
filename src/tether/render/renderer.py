"""The public entry point: :class:`Renderer` turns a :class:`RenderRequest` into objects.

For each source of the request, in order:

1. ``ref`` sources without a path or chart only lend their files to ``$ref/...`` value
   files; they are not rendered.
2. The cache key is computed without touching the checkout: the source, its commit
   (a chart's resolved version and digest), the helm and kustomize versions, the
   commits of the ``ref`` sources, the application's build facts and the settings. A
   hit returns the stored frozen objects: no tool runs, no file is read, nothing is
   parsed. ``hard_refresh`` skips the lookup; :meth:`Renderer.lookup` asks the cache
   alone, before any checkout exists.
3. On a miss the checkout is walked (once per commit): every symlink must stay inside
   the repository. The application folder must exist inside it, the tool is detected
   (:mod:`tether.render.detect`), its renderer runs, and the objects are frozen and
   stored.

Concurrent requests for the same render share one execution
(:class:`~tether.render.flight.SingleFlight`), and at most
``settings.parallelism_limit`` tools run at once (Argo CD's ``--parallelismlimit``;
0 means no limit).

Objects of all sources are concatenated in source order. An object that appears more
than once (same group, kind, namespace and name) is kept once, in its first position
with its last content, and reported as a :class:`RepeatedResourceWarning`, as Argo CD
does. Any failure raises a :class:`RenderError` addressed to the source's path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tether.model import ApplicationSource, DirectorySource, PluginSource, ResourceKey
from tether.render.cache import RenderCache, cache_key
from tether.render.detect import Tool, detect_tool
from tether.render.directory import JsonnetEvaluator, render_directory
from tether.render.errors import MissingPathError, RenderError
from tether.render.flight import SingleFlight
from tether.render.helm import HelmContext, render_helm
from tether.render.jsonnet import render_jsonnet
from tether.render.kustomize import KustomizeBuild, render_kustomize
from tether.render.objects import FrozenObject, freeze
from tether.render.paths import check_tree, resolve_in_repo
from tether.render.plugin import PluginRenderer
from tether.render.request import (
    RenderedSource,
    RenderRequest,
    RenderResult,
    RepeatedResourceWarning,
    SourceCheckout,
)
from tether.render.settings import RenderSettings
from tether.render.toolchain import Toolchain

if TYPE_CHECKING:  # the chart client (httpx) is loaded only by those who fetch charts
    from tether.render.chartrepo import ChartFetcher

#: Checkouts remembered as having passed the symlink walk.
_MEMO_LIMIT = 4096


class Renderer:
    """Renders application sources, caching by everything that changes the output."""

    def __init__(
        self,
        *,
        settings: RenderSettings | None = None,
        toolchain: Toolchain | None = None,
        cache: RenderCache | None = None,
        jsonnet: JsonnetEvaluator = render_jsonnet,
        charts: ChartFetcher | None = None,
        plugins: PluginRenderer | None = None,
    ) -> None:
        """Build a renderer; every collaborator is injectable, the defaults are real."""
        self.settings = settings or RenderSettings()
        self.toolchain = toolchain or Toolchain(limits=self.settings.tool_limits)
        self.cache = cache or RenderCache()
        self._jsonnet = jsonnet
        self._charts = charts
        self._plugins = plugins
        self._checked: dict[tuple[Path, str], None] = {}
        self._flights: SingleFlight[RenderedSource] = SingleFlight()
        limit = self.settings.parallelism_limit
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None

    async def render(self, request: RenderRequest) -> RenderResult:
        """Render every source of ``request``; raise :class:`RenderError` on any failure."""
        result = await self._render(request, render_misses=True)
        assert result is not None
        return result

    async def lookup(self, request: RenderRequest) -> RenderResult | None:
        """The cached result of ``request``, or ``None`` if any source would need rendering.

        Needs no checkout: Git sources are identified by their commit alone, so a
        controller can ask before checking anything out. (A chart from a Helm repository
        is still resolved to its version, from the fetcher's index cache.)
        """
        if request.hard_refresh:
            return None
        return await self._render(request, render_misses=False)

    async def carry_forward(
        self, previous: RenderRequest, current: RenderRequest
    ) -> RenderResult | None:
        """Serve ``current`` with the cached render of ``previous``, re-keyed to it.

        For ``manifest-generate-paths``: when :func:`~tether.render.genpaths.needs_render`
        says that no file changed between the two commits matters to the application,
        the render at the old commit is the render at the new one. Its cache entries are
        stored under the new commit's keys (as Argo CD moves its manifest cache to the
        new revision) and the result returned; ``None`` when the old render is not cached
        or the requests differ in more than their revisions.
        """
        if len(previous.sources) != len(current.sources):
            return None
        old_refs = {c.source.ref: c for c in previous.sources if c.source.ref}
        new_refs = {c.source.ref: c for c in current.sources if c.source.ref}
        for old, new in zip(previous.sources, current.sources, strict=True):
            if old.source != new.source:
                return None
            if (old.source.ref and not old.source.path) or old.source.is_helm_repository:
                continue  # lends files only / identified by chart version, not commit
            old_key = await self._key(previous, old, old.revision, old_refs)
            new_key = await self._key(current, new, new.revision, new_refs)
            if old_key is None or new_key is None or not self.cache.alias(old_key, new_key):
                return None
        return await self.lookup(current)

    async def _render(self, request: RenderRequest, *, render_misses: bool) -> RenderResult | None:
        refs = {
            checkout.source.ref: checkout for checkout in request.sources if checkout.source.ref
        }
        rendered: list[RenderedSource] = []
        for index, checkout in enumerate(request.sources):
            source = checkout.source
            if source.ref and not source.path and not source.chart:
                continue
            subject = _subject(source)
            try:
                done = await self._render_source(request, index, checkout, refs, render_misses)
            except RenderError as error:
                raise error.about(subject) from error
            except OSError as error:  # unreadable checkout, full scratch disk, ...
                cause = f"file system error: {error.strerror or error}"
                raise RenderError(subject, cause) from error
            if done is None:
                return None
            rendered.append(done)
        objects, warnings = _deduplicate(rendered)
        return RenderResult(
            objects=objects,
            sources=tuple(rendered),
            warnings=warnings,
            cache_key=cache_key({"sources": [source.cache_key for source in rendered]}),
        )

    async def _render_source(
        self,
        request: RenderRequest,
        index: int,
        checkout: SourceCheckout,
        refs: Mapping[str, SourceCheckout],
        render_misses: bool,
    ) -> RenderedSource | None:
        source = checkout.source
        subject = _subject(source)
        chart_dir = None
        if source.is_helm_repository:
            # The version a constraint resolves to (and the archive's digest) is what
            # identifies the chart's content, so it is resolved before the cache lookup.
            chart_dir, version, digest = await self._fetch_chart(checkout, subject)
            checkout = replace(checkout, revision=version)
            identity = f"{version}@{digest}"
        else:
            identity = checkout.revision
        key = await self._key(request, checkout, identity, refs)
        if key is not None and not request.hard_refresh:
            cached = self.cache.get(key)
            if cached is not None:
                return replace(cached, index=index, from_cache=True)
        if not render_misses:
            return None

        async def work() -> RenderedSource:
            if chart_dir is not None:
                root, app_dir, tool = None, chart_dir, Tool.HELM
            else:
                root, app_dir, tool = await asyncio.to_thread(self._locate, checkout, subject)
            async with self._slots or contextlib.nullcontext():
                objects = await self._run(request, checkout, root, app_dir, tool, refs, subject)
            size = len(orjson.dumps(objects))
            frozen: tuple[FrozenObject, ...] = tuple(freeze(obj) for obj in objects)
            keys = tuple(_identity(obj, request.destination_namespace) for obj in frozen)
            result = RenderedSource(
                index=index, tool=tool, objects=frozen, cache_key=key or "", keys=keys
            )
            if key is not None:
                self.cache.put(key, result, size)
            return result

        if key is None:
            return await work()
        result, shared = await self._flights.run(key, work)
        return replace(result, index=index, from_cache=True) if shared else result

    @staticmethod
    def _locate(checkout: SourceCheckout, subject: str) -> tuple[Path, Path, Tool]:
        """The checkout's real root, the application folder, and the tool that renders it."""
        if checkout.root is None:
            raise RenderError(subject, "a Git source needs a checkout")
        root = checkout.root.resolve()
        app_dir = resolve_in_repo(root, root, checkout.source.path or ".", subject=subject)
        return root, app_dir, detect_tool(checkout.source, app_dir, subject=subject)

    async def _fetch_chart(self, checkout: SourceCheckout, subject: str) -> tuple[Path, str, str]:
        """The local folder, resolved version and digest of a Helm repository chart."""
        if self._charts is None:
            raise RenderError(subject, "charts from Helm repositories are not configured")
        source = checkout.source
        fetched = await self._charts.fetch(
            source.repo_url,
            source.chart,
            source.target_revision,
            credentials=checkout.credentials,
            pass_credentials=bool(source.helm and source.helm.pass_credentials),
        )
        return fetched.path, fetched.ref.version, fetched.ref.digest

    async def _run(
        self,
        request: RenderRequest,
        checkout: SourceCheckout,
        root: Path | None,
        app_dir: Path | None,
        tool: Tool,
        refs: Mapping[str, SourceCheckout],
        subject: str,
    ) -> list[dict[str, Any]]:
        """Run the tool; ``app_dir`` is the app folder, or the fetched chart's folder."""
        source = checkout.source
        env = request.build_env(checkout)
        if root is not None:
            await self._check_checkout(root, checkout.revision, subject)
        for name, ref in refs.items():  # ``$ref`` value files are read from these checkouts
            if ref.root is None:
                raise RenderError(subject, f"source ref {name} needs a checkout")
            await self._check_checkout(ref.root.resolve(), ref.revision, subject)
        assert app_dir is not None
        if source.is_helm_repository:
            return await render_helm(
                app_dir,
                source.helm,
                self._helm_context(request, None, refs, env),
                settings=self.settings,
                toolchain=self.toolchain,
                subject=subject,
            )
        assert root is not None
        if not await asyncio.to_thread(app_dir.is_dir):
            raise MissingPathError(subject, source.path or ".", "application path")
        if tool is Tool.HELM:
            return await render_helm(
                app_dir,
                source.helm,
                self._helm_context(request, root, refs, env),
                settings=self.settings,
                toolchain=self.toolchain,
                subject=subject,
            )
        if tool is Tool.KUSTOMIZE:
            build = KustomizeBuild(
                env=env,
                settings=self.settings,
                kube_version=request.kube_version,
                api_versions=request.api_versions,
            )
            return await render_kustomize(
                root,
                app_dir,
                source.kustomize,
                build=build,
                toolchain=self.toolchain,
                subject=subject,
            )
        if tool is Tool.PLUGIN:
            if self._plugins is None:
                raise RenderError(subject, "config management plugins are not configured")
            return await self._plugins.render(
                root, app_dir, source.plugin or PluginSource(), build_env=env
            )
        return await render_directory(
            root,
            app_dir,
            source.directory or DirectorySource(),
            env=env,
            jsonnet=self._jsonnet,
            limits=self.settings.yaml_limits,
            max_total_bytes=self.settings.max_directory_bytes,
            sops_identities=self.settings.sops_identities,
        )

    def _helm_context(
        self,
        request: RenderRequest,
        root: Path | None,
        refs: Mapping[str, SourceCheckout],
        env: Mapping[str, str],
    ) -> HelmContext:
        return HelmContext(
            release_name=request.app_name,
            namespace=request.destination_namespace,
            kube_version=request.kube_version,
            api_versions=request.api_versions,
            root=root,
            refs={name: ref.root.resolve() for name, ref in refs.items() if ref.root is not None},
            env=env,
        )

    async def _check_checkout(self, root: Path, revision: str, subject: str) -> None:
        """Walk the checkout for escaping symlinks, once per (checkout, commit)."""
        if revision and (root, revision) in self._checked:
            return
        await asyncio.to_thread(check_tree, root, root, subject=subject)
        if revision:
            if len(self._checked) >= _MEMO_LIMIT:
                self._checked.pop(next(iter(self._checked)))
            self._checked[(root, revision)] = None

    async def _key(
        self,
        request: RenderRequest,
        checkout: SourceCheckout,
        identity: str,
        refs: Mapping[str, SourceCheckout],
    ) -> str | None:
        """The cache key of one source, or ``None`` when its content is not identified.

        ``identity`` is the commit of a Git source, ``version@digest`` of a chart. The key
        reads no file: the versions of both helm and kustomize take part (the tool is
        only known after looking into the checkout), so upgrading either re-renders all.
        """
        if not identity or any(not ref.revision for ref in refs.values()):
            return None
        return cache_key(
            {
                "source": checkout.source.to_dict(),
                "revision": identity,
                "tools": [
                    await self.toolchain.version("helm"),
                    await self.toolchain.version("kustomize"),
                ],
                "refs": {name: [ref.source.repo_url, ref.revision] for name, ref in refs.items()},
                "app": [
                    request.app_name,
                    request.app_namespace,
                    request.destination_namespace,
                    request.kube_version,
                    list(request.api_versions),
                ],
                "settings": self.settings.cache_fields(),
            }
        )


def _subject(source: ApplicationSource) -> str:
    """How errors name a source: its path, or the chart for a Helm repository source."""
    if source.is_helm_repository:
        return f"chart {source.chart}@{source.target_revision or 'latest'} from {source.repo_url}"
    return source.path or "."


def _deduplicate(
    rendered: list[RenderedSource],
) -> tuple[tuple[FrozenObject, ...], tuple[RepeatedResourceWarning, ...]]:
    """All objects once each (last content wins, first position kept), plus warnings."""
    by_key: dict[ResourceKey | int, FrozenObject] = {}
    counts: dict[ResourceKey, int] = {}
    for source in rendered:
        for key, obj in zip(source.keys, source.objects, strict=True):
            if not key.name:
                # Only ``generateName``: each such object is a new one (hooks), never
                # a repeat of another unnamed object of its kind.
                by_key[len(by_key)] = obj
                continue
            by_key[key] = obj
            counts[key] = counts.get(key, 0) + 1
    warnings = tuple(
        RepeatedResourceWarning(key, count) for key, count in counts.items() if count > 1
    )
    return tuple(by_key.values()), warnings


def _identity(obj: FrozenObject, destination_namespace: str) -> ResourceKey:
    key = ResourceKey.of(obj)
    if not key.namespace and destination_namespace:
        # Namespaced objects without a namespace land in the destination namespace; two
        # such copies are the same object as one that names that namespace.
        return replace(key, namespace=destination_namespace)
    return key
