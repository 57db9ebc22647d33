"""AppProject: round trips, and its three decisions matching Argo CD's semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.model import (
    DEFAULT_PROJECT_SPEC,
    AppProject,
    AppProjectSpec,
    SpecError,
    WindowKind,
    default_project,
)

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "model"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TESTDATA / name).read_text())
    return data


def project(**spec: Any) -> AppProject:
    """A project named ``team`` with the given spec fields (wire names)."""
    return AppProject.from_dict(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "team"},
            "spec": spec,
        }
    )


def test_manifest_round_trips_unchanged() -> None:
    data = load("appproject-windows-roles.yaml")
    assert AppProject.from_dict(data).to_dict() == data


def test_windows_and_roles_are_typed() -> None:
    spec = AppProject.from_dict(load("appproject-windows-roles.yaml")).spec
    allow, deny = spec.sync_windows
    assert (allow.kind, allow.manual_sync, allow.duration_seconds) == (WindowKind.ALLOW, True, 3600)
    assert (deny.kind, deny.time_zone, deny.and_operator) == (
        WindowKind.DENY,
        "Europe/Amsterdam",
        True,
    )
    assert deny.duration_seconds == 8.5 * 3600
    read_only, ci = spec.roles
    assert read_only.groups == ("my-oidc-group",)
    assert [(t.iat, t.exp) for t in ci.jwt_tokens] == [(1535390316, 0), (1535390400, 1567000000)]
    assert spec.orphaned_resources is not None
    assert spec.orphaned_resources.warn is True
    assert spec.signature_keys == ("ABCDEF1234567890",)
    assert spec.destination_service_accounts[0]["defaultServiceAccount"] == "guestbook-deployer"


# --- sources -------------------------------------------------------------------------

ORG = "https://github.com/org"
SOURCES = [
    (["*"], f"{ORG}/anything", True),
    ([], f"{ORG}/repo", False),
    ([f"{ORG}/*"], f"{ORG}/repo", True),
    ([f"{ORG}/*"], f"{ORG}/team/repo", False),  # `*` stops at `/`
    ([f"{ORG}/**"], f"{ORG}/team/repo", True),
    ([f"{ORG}/repo.git"], "https://GitHub.com/org/repo", True),  # normalised URLs
    (["git@github.com:org/repo.git"], "git@github.com:org/repo", True),
    ([f"{ORG}/{{a,b}}"], f"{ORG}/b", True),
    ([f"{ORG}/*", f"!{ORG}/secret"], f"{ORG}/secret.git", False),
    ([f"{ORG}/*", f"!{ORG}/secret"], f"{ORG}/public", True),
    # A negation alone permits everything it does not match, as in Argo CD.
    ([f"!{ORG}/secret"], "https://gitlab.com/x/y", True),
    ([f"!{ORG}/*"], f"{ORG}/a", False),
    (["*", "!https://evil.example.com/**"], "https://evil.example.com/x/y", False),
]


@pytest.mark.parametrize(("repos", "url", "allowed"), SOURCES)
def test_is_source_permitted(repos: list[str], url: str, allowed: bool) -> None:
    verdict = project(sourceRepos=repos).is_source_permitted(url)
    assert bool(verdict) is allowed
    assert (verdict.reason == "") is allowed
    if not allowed:
        assert url in verdict.reason
        assert "project team" in verdict.reason


# --- destinations --------------------------------------------------------------------

LOCAL = "https://kubernetes.default.svc"
PROD = "https://prod.example.com"
ANY = {"server": "*", "namespace": "*"}
DESTINATIONS = [
    ([ANY], LOCAL, "", "apps", True),
    ([{"server": LOCAL, "namespace": "guestbook"}], LOCAL, "", "guestbook", True),
    ([{"server": LOCAL, "namespace": "guestbook"}], LOCAL, "", "other", False),
    ([{"name": "in-cluster", "namespace": "team-*"}], "", "in-cluster", "team-a", True),
    ([{"name": "in-cluster", "namespace": "team-*"}], LOCAL, "", "team-a", False),
    ([{"name": "in-cluster", "namespace": "team-*"}], LOCAL, "in-cluster", "team-a", True),
    ([ANY, {"server": "*", "namespace": "!kube-system"}], LOCAL, "", "kube-system", False),
    ([ANY, {"server": "*", "namespace": "!kube-system"}], LOCAL, "", "apps", True),
    ([{"server": f"!{PROD}", "namespace": "*"}], LOCAL, "", "apps", True),
    ([{"server": f"!{PROD}", "namespace": "*"}], PROD, "", "apps", False),
    ([], LOCAL, "", "apps", False),
    ([ANY], LOCAL, "", "", True),  # cluster-scoped objects have no namespace
    ([{"server": LOCAL, "namespace": "guestbook"}], LOCAL, "", "", False),
    # Argo CD's rule: a destination known only by name fails a server deny pattern.
    ([{"server": f"!{PROD}", "namespace": "*"}], "", "in-cluster", "apps", False),
]


@pytest.mark.parametrize(("destinations", "server", "name", "namespace", "allowed"), DESTINATIONS)
def test_is_destination_permitted(
    destinations: list[dict[str, str]], server: str, name: str, namespace: str, allowed: bool
) -> None:
    verdict = project(destinations=destinations).is_destination_permitted(server, name, namespace)
    assert bool(verdict) is allowed
    if not allowed:
        assert "project team" in verdict.reason


def test_project_scoped_clusters() -> None:
    anywhere = {"server": "*", "name": "*", "namespace": "*"}
    scoped = project(destinations=[anywhere], permitOnlyProjectScopedClusters=True)
    assert not scoped.is_destination_permitted(LOCAL, "", "apps")
    assert scoped.is_destination_permitted(
        LOCAL, "", "apps", scoped_clusters=[(LOCAL, "in-cluster")]
    )
    assert scoped.is_destination_permitted("", "in-cluster", "apps", [(LOCAL, "in-cluster")])
    assert "only its own clusters" in scoped.is_destination_permitted(PROD, "", "a").reason


# --- resources -----------------------------------------------------------------------

CORE = ""
RESOURCES: list[tuple[dict[str, Any], str, str, bool, bool]] = [
    ({}, CORE, "Namespace", False, False),  # no cluster whitelist: no cluster resources
    ({}, "apps", "Deployment", True, True),  # no namespace whitelist: every namespaced kind
    ({"namespaceResourceWhitelist": []}, "apps", "Deployment", True, False),
    (
        {"namespaceResourceWhitelist": [{"group": "apps", "kind": "Deployment"}]},
        "apps",
        "Deployment",
        True,
        True,
    ),
    (
        {"namespaceResourceWhitelist": [{"group": "apps", "kind": "Deployment"}]},
        "apps",
        "StatefulSet",
        True,
        False,
    ),
    ({"namespaceResourceWhitelist": [{"group": "", "kind": "*"}]}, CORE, "ConfigMap", True, True),
    (
        {"namespaceResourceWhitelist": [{"group": "", "kind": "*"}]},
        "apps",
        "Deployment",
        True,
        False,
    ),
    (
        {"namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]},
        CORE,
        "ResourceQuota",
        True,
        False,
    ),
    (
        {"namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]},
        CORE,
        "ConfigMap",
        True,
        True,
    ),
    (
        {
            "namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}],
            "namespaceResourceBlacklist": [{"group": "apps", "kind": "DaemonSet"}],
        },
        "apps",
        "DaemonSet",
        True,
        False,
    ),
    (
        {
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "clusterResourceBlacklist": [
                {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole*"}
            ],
        },
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        False,
        False,
    ),
    ({"clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}, CORE, "Namespace", False, True),
    (
        {"clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]},
        CORE,
        "PersistentVolume",
        False,
        False,
    ),
    (
        {"clusterResourceWhitelist": [{"group": "*.example.com", "kind": "*"}]},
        "db.example.com",
        "Database",
        False,
        True,
    ),
    # Cluster lists say nothing about namespaced kinds, and the reverse.
    ({"clusterResourceBlacklist": [{"group": "*", "kind": "*"}]}, "apps", "Deployment", True, True),
]


@pytest.mark.parametrize(("spec", "group", "kind", "namespaced", "allowed"), RESOURCES)
def test_is_resource_permitted(
    spec: dict[str, Any], group: str, kind: str, namespaced: bool, allowed: bool
) -> None:
    verdict = project(**spec).is_resource_permitted(group, kind, namespaced)
    assert bool(verdict) is allowed
    if not allowed:
        assert kind in verdict.reason


def test_blacklist_and_whitelist_reasons_differ() -> None:
    team = AppProject.from_dict(load("appproject-windows-roles.yaml"))
    quota = team.is_resource_permitted("", "ResourceQuota", namespaced=True)
    assert "namespaceResourceBlacklist" in quota.reason
    daemonset = team.is_resource_permitted("apps", "DaemonSet", namespaced=True)
    assert "namespaceResourceWhitelist" in daemonset.reason
    assert team.is_resource_permitted("", "Namespace", namespaced=False)


def test_the_default_project_allows_everything() -> None:
    default = default_project("argocd")
    assert default.spec is DEFAULT_PROJECT_SPEC
    assert default.is_source_permitted("git@example.com:any/repo.git")
    assert default.is_destination_permitted(PROD, "", "kube-system")
    assert default.is_destination_permitted("", "in-cluster", "")
    assert default.is_resource_permitted("rbac.authorization.k8s.io", "ClusterRole", False)
    assert default.is_resource_permitted("apps", "Deployment", True)
    assert AppProject.from_dict(default.to_dict()) == default


@pytest.mark.parametrize(
    ("namespace", "allowed"),
    [
        ("argocd", True),
        ("", True),
        ("team-a", True),
        ("feature-12", True),
        ("feature-x", False),
        ("other", False),
    ],
)
def test_app_namespaces(namespace: str, allowed: bool) -> None:
    team = AppProject.from_dict(load("appproject-windows-roles.yaml"))
    assert bool(team.is_app_namespace_permitted(namespace, "argocd")) is allowed


BAD_FIELDS = [
    ({"sourceRepos": "*"}, "spec.sourceRepos"),
    ({"destinations": ["in-cluster"]}, "spec.destinations[0]"),
    ({"clusterResourceWhitelist": [{"kind": "*"}]}, "spec.clusterResourceWhitelist[0].group"),
    ({"namespaceResourceBlacklist": [{"group": ""}]}, "spec.namespaceResourceBlacklist[0].kind"),
    ({"roles": [{"policies": []}]}, "spec.roles[0].name"),
    ({"roles": [{"name": "ci", "jwtTokens": [{"exp": 1}]}]}, "spec.roles[0].jwtTokens[0].iat"),
    ({"roles": [{"name": "ci", "jwtTokens": [{"iat": "now"}]}]}, "spec.roles[0].jwtTokens[0].iat"),
    (
        {"syncWindows": [{"kind": "maybe", "schedule": "* * * * *", "duration": "1h"}]},
        "spec.syncWindows[0].kind",
    ),
    ({"syncWindows": [{"kind": "deny", "duration": "1h"}]}, "spec.syncWindows[0].schedule"),
    (
        {"syncWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "forever"}]},
        "spec.syncWindows[0].duration",
    ),
    ({"signatureKeys": [{}]}, "spec.signatureKeys[0].keyID"),
    ({"orphanedResources": {"warn": "yes"}}, "spec.orphanedResources.warn"),
    ({"permitOnlyProjectScopedClusters": "true"}, "spec.permitOnlyProjectScopedClusters"),
]


@pytest.mark.parametrize(("spec", "path"), BAD_FIELDS, ids=[c[1] for c in BAD_FIELDS])
def test_bad_fields_are_reported_by_path(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as caught:
        project(**spec)
    assert caught.value.path == path


def test_a_project_needs_a_name() -> None:
    with pytest.raises(SpecError) as caught:
        AppProject.from_dict({"metadata": {}, "spec": {}})
    assert caught.value.path == "metadata.name"


def test_absent_and_empty_lists_stay_distinct() -> None:
    assert AppProjectSpec.from_dict({}).namespace_resource_whitelist is None
    empty = AppProjectSpec.from_dict({"namespaceResourceWhitelist": []})
    assert empty.namespace_resource_whitelist == ()
    assert empty.to_dict() == {"namespaceResourceWhitelist": []}
