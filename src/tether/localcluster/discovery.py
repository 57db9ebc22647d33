"""Discovery documents: ``/version``, ``/api``, ``/apis`` and their aggregated form.

``kubectl`` first asks ``/api`` and ``/apis`` for the aggregated discovery document
(``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``), which describes every
resource of every group in one response; older clients walk the legacy documents
(``APIVersions``, ``APIGroupList``, one ``APIResourceList`` per group version). Both
are built from the :class:`~tether.localcluster.registry.Registry` and cached until
it changes (a CRD is added or removed).
"""

from __future__ import annotations

import platform
from typing import Any

import orjson

from tether.localcluster.registry import Registry
from tether.localcluster.resources import SUBRESOURCE_VERBS, ResourceType

#: The Kubernetes release this server answers as (kubectl 1.35 skew-checks against it).
KUBERNETES_VERSION = "v1.35.0"

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def version_info() -> dict[str, str]:
    """The ``/version`` document."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    major, minor, _ = KUBERNETES_VERSION.lstrip("v").split(".")
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(int(minor) - 1),
        "gitVersion": KUBERNETES_VERSION,
        "gitCommit": "tether-local-cluster",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": f"linux/{arch}",
    }


def aggregated_version(accept: str) -> str | None:
    """The aggregated discovery version an ``Accept`` header asks for, if any."""
    for part in accept.split(","):
        params = {
            p.split("=", 1)[0].strip(): p.split("=", 1)[-1].strip()
            for p in part.split(";")[1:]
            if "=" in p
        }
        if (
            params.get("g") == "apidiscovery.k8s.io"
            and params.get("as") == ("APIGroupDiscoveryList")
            and params.get("v") in ("v2", "v2beta1")
        ):
            return params["v"]
    return None


def _subresources(rtype: ResourceType) -> list[tuple[str, str, str, str]]:
    """``(name, group, version, kind)`` of each subresource."""
    subs = []
    if rtype.status:
        subs.append(("status", rtype.group, rtype.version, rtype.kind))
    if rtype.scale is not None:
        subs.append(("scale", "autoscaling", "v1", "Scale"))
    for extra in rtype.extra_subresources:
        subs.append((extra, rtype.group, rtype.version, rtype.kind))
    return subs


class Discovery:
    """Builds (and caches) the discovery documents of a registry."""

    def __init__(self, registry: Registry) -> None:
        """Describe what ``registry`` serves."""
        self._registry = registry
        self._cache: dict[tuple[str, ...], bytes] = {}
        self._generation = -1

    def _cached(self, key: tuple[str, ...], build: Any) -> bytes:
        if self._generation != self._registry.generation:
            self._cache.clear()
            self._generation = self._registry.generation
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = orjson.dumps(build())
        return found

    def api_versions(self, address: str) -> bytes:
        """``/api``: the core group's versions."""
        return self._cached(
            ("api", address),
            lambda: {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": address}
                ],
            },
        )

    def group_list(self) -> bytes:
        """``/apis``: every named group with its versions."""
        return self._cached(
            ("apis",),
            lambda: {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    self._group(g, v) for g, v in sorted(self._registry.groups().items()) if g
                ],
            },
        )

    def group(self, name: str) -> bytes | None:
        """``/apis/<group>``."""
        versions = self._registry.groups().get(name)
        if not name or versions is None:
            return None
        return self._cached(
            ("group", name),
            lambda: {"kind": "APIGroup", "apiVersion": "v1", **self._group(name, versions)},
        )

    @staticmethod
    def _group(name: str, versions: list[str]) -> dict[str, Any]:
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        return {"name": name, "versions": entries, "preferredVersion": entries[0]}

    def resource_list(self, group: str, version: str) -> bytes | None:
        """``/api/v1`` or ``/apis/<group>/<version>``: an ``APIResourceList``."""
        types = self._registry.in_group_version(group, version)
        if not types:
            return None

        def build() -> dict[str, Any]:
            resources: list[dict[str, Any]] = []
            for rtype in types:
                entry: dict[str, Any] = {
                    "name": rtype.plural,
                    "singularName": rtype.singular_name,
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": list(rtype.verbs),
                }
                if rtype.short_names:
                    entry["shortNames"] = list(rtype.short_names)
                if rtype.categories:
                    entry["categories"] = list(rtype.categories)
                resources.append(entry)
                for sub, sgroup, sversion, skind in _subresources(rtype):
                    sub_entry = {
                        "name": f"{rtype.plural}/{sub}",
                        "singularName": "",
                        "namespaced": rtype.namespaced,
                        "kind": skind,
                        "verbs": list(SUBRESOURCE_VERBS),
                    }
                    if sgroup != rtype.group:
                        sub_entry.update(group=sgroup, version=sversion)
                    resources.append(sub_entry)
            return {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": resources,
            }

        return self._cached(("resources", group, version), build)

    def aggregated(self, core: bool, version: str) -> bytes:
        """The ``APIGroupDiscoveryList`` of ``/api`` (``core``) or ``/apis``."""
        return self._cached(
            ("aggregated", str(core), version),
            lambda: {
                "kind": "APIGroupDiscoveryList",
                "apiVersion": f"apidiscovery.k8s.io/{version}",
                "metadata": {},
                "items": [
                    self._group_discovery(g, vs)
                    for g, vs in sorted(self._registry.groups().items())
                    if (g == "") == core
                ],
            },
        )

    def _group_discovery(self, group: str, versions: list[str]) -> dict[str, Any]:
        return {
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": [
                {
                    "version": v,
                    "resources": [
                        self._resource_discovery(t, v)
                        for t in self._registry.in_group_version(group, v)
                    ],
                    "freshness": "Current",
                }
                for v in versions
            ],
        }

    @staticmethod
    def _resource_discovery(rtype: ResourceType, version: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "resource": rtype.plural,
            "responseKind": {"group": rtype.group, "version": version, "kind": rtype.kind},
            "scope": "Namespaced" if rtype.namespaced else "Cluster",
            "singularResource": rtype.singular_name,
            "verbs": list(rtype.verbs),
        }
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.categories:
            entry["categories"] = list(rtype.categories)
        subs = _subresources(rtype)
        if subs:
            entry["subresources"] = [
                {
                    "subresource": name,
                    "responseKind": {
                        "group": g,
                        "version": v if g != rtype.group else version,
                        "kind": k,
                    },
                    "verbs": list(SUBRESOURCE_VERBS),
                }
                for name, g, v, k in subs
            ]
        return entry
