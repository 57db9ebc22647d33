"""Discovery: which kinds a cluster serves, under which paths, with which verbs.

tether works on objects of any kind, including custom resources whose CRDs appear while
it runs, so it never hard-codes REST paths. :class:`Discovery` asks the server once
(aggregated discovery when the server offers it, the per-group documents otherwise) and
asks again when a kind is not found, at most once per ``min_refresh_interval``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.kube.errors import UnknownKind

#: What a discovery fetch needs: GET a path with extra headers, answer the parsed JSON.
Fetch = Callable[[str, Mapping[str, str]], Awaitable[Any]]

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


@dataclass(frozen=True, slots=True)
class ApiResource:
    """One served kind at one group-version."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        """``group/version``, or just ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        """The REST path of the collection, or of one object (and its subresource)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if sub:
                base += f"/{sub}"
        return base


class Discovery:
    """A refreshable index of the kinds one server serves."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        min_refresh_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._min_interval = min_refresh_interval
        self._clock = clock
        self._by_gvk: dict[tuple[str, str, str], ApiResource] = {}
        self._preferred: dict[tuple[str, str], ApiResource] = {}
        self._refreshed_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def resources(self) -> list[ApiResource]:
        """Every served (group, version, kind), in a stable order."""
        return sorted(self._by_gvk.values(), key=lambda r: (r.group, r.kind, r.version))

    async def resolve(self, api_version: str, kind: str) -> ApiResource:
        """The resource serving ``apiVersion``/``kind``, refreshing once if it is unknown."""
        group, _, version = api_version.rpartition("/")
        key = (group, version, kind)
        if key not in self._by_gvk:
            await self._refresh_if_stale()
        try:
            return self._by_gvk[key]
        except KeyError:
            raise UnknownKind(
                "resolve", f"{api_version}/{kind}", "the server does not serve this kind"
            ) from None

    async def resolve_group_kind(self, group: str, kind: str) -> ApiResource:
        """The preferred version's resource for a group and kind."""
        if (group, kind) not in self._preferred:
            await self._refresh_if_stale()
        try:
            return self._preferred[(group, kind)]
        except KeyError:
            target = f"{group}/{kind}" if group else kind
            raise UnknownKind("resolve", target, "the server does not serve this kind") from None

    async def refresh(self) -> None:
        """Fetch the served kinds now."""
        async with self._lock:
            await self._load()

    async def _refresh_if_stale(self) -> None:
        async with self._lock:
            now = self._clock()
            if self._refreshed_at is not None and now - self._refreshed_at < self._min_interval:
                return
            await self._load()

    async def _load(self) -> None:
        resources: list[tuple[ApiResource, bool]] = []
        core = await self._fetch("/api", {"Accept": AGGREGATED_ACCEPT})
        apis = await self._fetch("/apis", {"Accept": AGGREGATED_ACCEPT})
        if _is_aggregated(apis) and _is_aggregated(core):
            for document in (core, apis):
                resources.extend(_from_aggregated(document))
        else:
            resources.extend(
                (r, True) for r in _from_legacy("", "v1", await self._fetch("/api/v1", {}))
            )
            for group in apis.get("groups") or []:
                preferred = (group.get("preferredVersion") or {}).get("version")
                for entry in group.get("versions") or []:
                    version = entry.get("version", "")
                    document = await self._fetch(f"/apis/{group['name']}/{version}", {})
                    resources.extend(
                        (r, version == preferred)
                        for r in _from_legacy(group["name"], version, document)
                    )
        self._index(resources)
        self._refreshed_at = self._clock()

    def _index(self, resources: Iterable[tuple[ApiResource, bool]]) -> None:
        by_gvk: dict[tuple[str, str, str], ApiResource] = {}
        preferred: dict[tuple[str, str], ApiResource] = {}
        for resource, is_preferred in resources:
            by_gvk[(resource.group, resource.version, resource.kind)] = resource
            if is_preferred or (resource.group, resource.kind) not in preferred:
                preferred[(resource.group, resource.kind)] = resource
        self._by_gvk, self._preferred = by_gvk, preferred


def _is_aggregated(document: Any) -> bool:
    return isinstance(document, dict) and document.get("kind") == "APIGroupDiscoveryList"


def _from_aggregated(document: Mapping[str, Any]) -> Iterable[tuple[ApiResource, bool]]:
    for group in document.get("items") or []:
        name = (group.get("metadata") or {}).get("name", "")
        for index, version_entry in enumerate(group.get("versions") or []):
            version = version_entry.get("version", "")
            for entry in version_entry.get("resources") or []:
                kind = (entry.get("responseKind") or {}).get("kind", "")
                if not kind:
                    continue
                subresources = frozenset(
                    s.get("subresource", "") for s in entry.get("subresources") or []
                )
                resource = ApiResource(
                    group=name,
                    version=version,
                    kind=kind,
                    plural=entry.get("resource", ""),
                    namespaced=entry.get("scope") == "Namespaced",
                    verbs=frozenset(entry.get("verbs") or ()),
                    short_names=tuple(entry.get("shortNames") or ()),
                    subresources=subresources,
                )
                # Versions are listed in preference order; the first one is preferred.
                yield resource, index == 0


def _from_legacy(group: str, version: str, document: Mapping[str, Any]) -> list[ApiResource]:
    entries = document.get("resources") or []
    subresources: dict[str, set[str]] = {}
    for entry in entries:
        plural, _, sub = entry.get("name", "").partition("/")
        if sub:
            subresources.setdefault(plural, set()).add(sub)
    return [
        ApiResource(
            group=group,
            version=version,
            kind=entry.get("kind", ""),
            plural=entry["name"],
            namespaced=bool(entry.get("namespaced")),
            verbs=frozenset(entry.get("verbs") or ()),
            short_names=tuple(entry.get("shortNames") or ()),
            subresources=frozenset(subresources.get(entry["name"], ())),
        )
        for entry in entries
        if "/" not in entry.get("name", "/")
    ]
