"""The AppProject custom resource: what its applications may deploy, from where, to where.

Besides the types, this module holds the project's three decisions, pure functions that
match Argo CD's documented semantics exactly and say why when they deny:

- :meth:`AppProject.is_source_permitted`: ``sourceRepos`` are globs over normalised
  repository URLs (``/`` separates); a ``!pattern`` entry denies what it matches and, as
  in Argo CD, counts as a match for everything else.
- :meth:`AppProject.is_destination_permitted`: a destination matches an entry when its
  server or name and its namespace match; any ``!`` entry the destination fails denies it.
- :meth:`AppProject.is_resource_permitted`: cluster-scoped kinds must be whitelisted
  (an empty ``clusterResourceWhitelist`` allows none); namespaced kinds are all allowed
  when ``namespaceResourceWhitelist`` is absent, none when it is present but empty;
  a blacklist entry always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tether.model.application import API_VERSION, check_type_meta
from tether.model.meta import ObjectMeta
from tether.model.patterns import is_deny_pattern, match_in_list, normalize_git_url, pattern_match
from tether.model.projectparts import (
    GroupKind,
    OrphanedResources,
    ProjectDestination,
    ProjectRole,
    SyncWindow,
)
from tether.model.specerror import SpecError
from tether.model.wire import Fields, prune

PROJECT_KIND: Final = "AppProject"
_SPEC_FIELDS = frozenset(
    {
        "sourceRepos",
        "sourceNamespaces",
        "destinations",
        "description",
        "clusterResourceWhitelist",
        "clusterResourceBlacklist",
        "namespaceResourceWhitelist",
        "namespaceResourceBlacklist",
        "orphanedResources",
        "roles",
        "syncWindows",
        "signatureKeys",
        "destinationServiceAccounts",
        "permitOnlyProjectScopedClusters",
    }
)


@dataclass(frozen=True, slots=True)
class Permission:
    """A project's verdict: allowed, or denied with the reason. True when allowed."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


_ALLOWED: Final = Permission(True)


def _group_kinds(f: Fields, key: str) -> tuple[GroupKind, ...] | None:
    return None if f.data.get(key) is None else tuple(GroupKind.read(i) for i in f.children(key))


def _in_list(entries: tuple[GroupKind, ...] | None, group: str, kind: str) -> bool:
    return any(entry.matches(group, kind) for entry in entries or ())


@dataclass(frozen=True, slots=True)
class AppProjectSpec:
    """``spec`` of an AppProject.

    The resource lists are ``None`` when absent, because an absent and an empty
    ``namespaceResourceWhitelist`` mean opposite things. Fields tether does not type are
    kept in ``extra`` and written back unchanged.
    """

    source_repos: tuple[str, ...] = ()
    source_namespaces: tuple[str, ...] = ()
    destinations: tuple[ProjectDestination, ...] = ()
    description: str = ""
    cluster_resource_whitelist: tuple[GroupKind, ...] | None = None
    cluster_resource_blacklist: tuple[GroupKind, ...] | None = None
    namespace_resource_whitelist: tuple[GroupKind, ...] | None = None
    namespace_resource_blacklist: tuple[GroupKind, ...] | None = None
    orphaned_resources: OrphanedResources | None = None
    roles: tuple[ProjectRole, ...] = ()
    sync_windows: tuple[SyncWindow, ...] = ()
    signature_keys: tuple[str, ...] = ()
    destination_service_accounts: tuple[Mapping[str, Any], ...] = ()
    permit_only_project_scoped_clusters: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, path: str = "spec") -> AppProjectSpec:
        """Parse ``spec``, raising :class:`SpecError` on the first bad field."""
        f = Fields(data, path)
        orphaned = f.child("orphanedResources")
        signature_keys = []
        for item in f.children("signatureKeys"):
            if not item.text("keyID"):
                raise SpecError(item.at("keyID"), "is required")
            signature_keys.append(item.text("keyID"))
        return cls(
            source_repos=f.texts("sourceRepos"),
            source_namespaces=f.texts("sourceNamespaces"),
            destinations=tuple(ProjectDestination.read(d) for d in f.children("destinations")),
            description=f.text("description"),
            cluster_resource_whitelist=_group_kinds(f, "clusterResourceWhitelist"),
            cluster_resource_blacklist=_group_kinds(f, "clusterResourceBlacklist"),
            namespace_resource_whitelist=_group_kinds(f, "namespaceResourceWhitelist"),
            namespace_resource_blacklist=_group_kinds(f, "namespaceResourceBlacklist"),
            orphaned_resources=None if orphaned is None else OrphanedResources.read(orphaned),
            roles=tuple(ProjectRole.read(r) for r in f.children("roles")),
            sync_windows=tuple(SyncWindow.read(w) for w in f.children("syncWindows")),
            signature_keys=tuple(signature_keys),
            destination_service_accounts=tuple(
                item.data for item in f.children("destinationServiceAccounts")
            ),
            permit_only_project_scoped_clusters=f.flag("permitOnlyProjectScopedClusters"),
            extra=f.rest(_SPEC_FIELDS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (an empty resource list present is written: it means something)."""
        out = prune(
            {
                "description": self.description,
                "sourceRepos": list(self.source_repos),
                "sourceNamespaces": list(self.source_namespaces),
                "destinations": [d.to_dict() for d in self.destinations],
                "roles": [r.to_dict() for r in self.roles],
                "syncWindows": [w.to_dict() for w in self.sync_windows],
                "signatureKeys": [{"keyID": k} for k in self.signature_keys],
                "destinationServiceAccounts": [dict(a) for a in self.destination_service_accounts],
                "permitOnlyProjectScopedClusters": self.permit_only_project_scoped_clusters,
            }
        )
        for key, entries in (
            ("clusterResourceWhitelist", self.cluster_resource_whitelist),
            ("clusterResourceBlacklist", self.cluster_resource_blacklist),
            ("namespaceResourceWhitelist", self.namespace_resource_whitelist),
            ("namespaceResourceBlacklist", self.namespace_resource_blacklist),
        ):
            if entries is not None:
                out[key] = [e.to_dict() for e in entries]
        if self.orphaned_resources is not None:
            out["orphanedResources"] = self.orphaned_resources.to_dict()
        return out | dict(self.extra)


@dataclass(frozen=True, slots=True)
class AppProject:
    """An AppProject. ``status`` (JWT tokens by role) is kept as data."""

    metadata: ObjectMeta
    spec: AppProjectSpec = field(default_factory=AppProjectSpec)
    status: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> AppProject:
        """Parse an AppProject manifest."""
        f = Fields(data, path)
        check_type_meta(f, PROJECT_KIND)
        metadata = ObjectMeta.from_dict(f.data.get("metadata"), f.at("metadata"))
        if not metadata.name:
            raise SpecError(f.at("metadata.name"), "is required")
        return cls(
            metadata=metadata,
            spec=AppProjectSpec.from_dict(f.data.get("spec"), f.at("spec")),
            status=f.mapping("status") or {},
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": PROJECT_KIND,
            "metadata": self.metadata.to_dict(),
            "spec": self.spec.to_dict(),
        }
        if self.status:
            out["status"] = dict(self.status)
        return out

    @property
    def name(self) -> str:
        """The project's name."""
        return self.metadata.name

    # --- decisions -----------------------------------------------------------------

    def is_source_permitted(self, repo_url: str) -> Permission:
        """Whether applications of this project may use a repository."""
        wanted = normalize_git_url(repo_url)
        matched = False
        for entry in self.spec.source_repos:
            deny = is_deny_pattern(entry)
            pattern = ("!" if deny else "") + normalize_git_url(entry.removeprefix("!"))
            if pattern_match(pattern, wanted, "/"):
                matched = True
            elif deny:
                return Permission(
                    False,
                    f"repository {repo_url} is denied by {entry!r} in project {self.name}",
                )
        if matched:
            return _ALLOWED
        return Permission(False, f"repository {repo_url} is not permitted in project {self.name}")

    def is_destination_permitted(
        self,
        server: str,
        name: str,
        namespace: str,
        scoped_clusters: Iterable[tuple[str, str]] = (),
    ) -> Permission:
        """Whether applications of this project may deploy to a cluster and namespace.

        ``scoped_clusters`` lists the ``(server, name)`` of the clusters that belong to
        this project; it matters only with ``permitOnlyProjectScopedClusters``.
        """
        target = f"server {server or '-'}, name {name or '-'}, namespace {namespace or '-'}"
        matched = False
        for entry in self.spec.destinations:
            name_ok = bool(name) and pattern_match(entry.name, name)
            server_ok = bool(server) and pattern_match(entry.server, server)
            namespace_ok = pattern_match(entry.namespace, namespace)
            if (server_ok or name_ok) and namespace_ok:
                matched = True
            elif (
                (not name_ok and is_deny_pattern(entry.name))
                or (not server_ok and is_deny_pattern(entry.server))
                or (not namespace_ok and is_deny_pattern(entry.namespace))
            ):
                return Permission(
                    False, f"destination ({target}) is denied by {entry} in project {self.name}"
                )
        if not matched:
            return Permission(
                False, f"destination ({target}) is not permitted in project {self.name}"
            )
        if self.spec.permit_only_project_scoped_clusters and not any(
            (server and s == server) or (name and n == name) for s, n in scoped_clusters
        ):
            return Permission(
                False,
                f"destination ({target}) is not a cluster of project {self.name}, "
                "which permits only its own clusters",
            )
        return _ALLOWED

    def is_resource_permitted(self, group: str, kind: str, namespaced: bool) -> Permission:
        """Whether applications of this project may manage objects of a group and kind."""
        spec, shown = self.spec, f"{group or 'core'}/{kind}"
        if namespaced:
            whitelist, blacklist = (
                spec.namespace_resource_whitelist,
                spec.namespace_resource_blacklist,
            )
            listed = whitelist is None or _in_list(whitelist, group, kind)
            scope, white_key = "namespaced", "namespaceResourceWhitelist"
        else:
            whitelist, blacklist = spec.cluster_resource_whitelist, spec.cluster_resource_blacklist
            listed = _in_list(whitelist, group, kind)
            scope, white_key = "cluster-scoped", "clusterResourceWhitelist"
        if not listed:
            return Permission(
                False, f"{scope} resource {shown} is not in the {white_key} of project {self.name}"
            )
        if _in_list(blacklist, group, kind):
            black_key = white_key.replace("Whitelist", "Blacklist")
            return Permission(
                False, f"{scope} resource {shown} is in the {black_key} of project {self.name}"
            )
        return _ALLOWED

    def is_app_namespace_permitted(self, app_namespace: str, control_namespace: str) -> Permission:
        """Whether an Application living in ``app_namespace`` may use this project.

        Applications in tether's own namespace always may; others need a match in
        ``sourceNamespaces`` (globs or ``/regex/``).
        """
        if not app_namespace or app_namespace == control_namespace:
            return _ALLOWED
        if match_in_list(self.spec.source_namespaces, app_namespace):
            return _ALLOWED
        return Permission(
            False,
            f"applications in namespace {app_namespace} may not use project {self.name}",
        )


#: Argo CD's built-in ``default`` project: every source, destination and resource.
DEFAULT_PROJECT_SPEC: Final = AppProjectSpec(
    source_repos=("*",),
    destinations=(ProjectDestination(server="*", name="*", namespace="*"),),
    cluster_resource_whitelist=(GroupKind(group="*", kind="*"),),
)


def default_project(namespace: str) -> AppProject:
    """The ``default`` project as tether creates it in its namespace when it is missing."""
    return AppProject(ObjectMeta(name="default", namespace=namespace), DEFAULT_PROJECT_SPEC)
