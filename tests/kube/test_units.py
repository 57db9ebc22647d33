"""Unit tests of the cluster boundary's pure parts: errors, discovery parsing, throttle, config."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.kube import (
    AlreadyExists,
    ConfigError,
    Conflict,
    Discovery,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Throttle,
    Unavailable,
    UnknownKind,
    kubeconfig_from_dict,
    load_kubeconfig,
)
from tether.kube.errors import MAX_CAUSE, error_from_status


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (404, "NotFound", NotFound),
        (409, "AlreadyExists", AlreadyExists),
        (409, "Conflict", Conflict),
        (410, "Expired", Gone),
        (422, "Invalid", Invalid),
        (500, "InternalError", Unavailable),
        (503, "ServiceUnavailable", Unavailable),
        (418, "", KubeError),
    ],
)
def test_status_codes_map_to_the_error_tree(
    code: int, reason: str, expected: type[KubeError]
) -> None:
    status = {"kind": "Status", "code": code, "reason": reason, "message": "boom"}
    error = error_from_status("get", "ConfigMap/ns/a", code, status)
    assert type(error) is expected
    assert str(error) == "failed to get ConfigMap/ns/a: boom"
    assert error.code == code
    assert error.reason == reason


def test_already_exists_is_a_conflict() -> None:
    assert issubclass(AlreadyExists, Conflict)


def test_invalid_exposes_field_causes() -> None:
    status = {
        "code": 422,
        "reason": "Invalid",
        "message": "bad",
        "details": {"causes": [{"field": "metadata.name", "reason": "FieldValueInvalid"}]},
    }
    error = error_from_status("create", "ConfigMap/ns/A", 422, status)
    assert error.causes == [{"field": "metadata.name", "reason": "FieldValueInvalid"}]


def test_long_server_messages_are_truncated_and_missing_bodies_explained() -> None:
    error = error_from_status("get", "x", 500, {"message": "y" * 10_000})
    assert len(error.cause) == MAX_CAUSE
    assert error.cause.endswith("...")
    assert "the server answered 502" in str(error_from_status("get", "x", 502, None))


LEGACY_CORE = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "configmaps",
            "namespaced": True,
            "kind": "ConfigMap",
            "verbs": ["get"],
            "shortNames": ["cm"],
        },
        {"name": "namespaces", "namespaced": False, "kind": "Namespace", "verbs": ["get"]},
        {"name": "namespaces/status", "namespaced": False, "kind": "Namespace", "verbs": ["get"]},
    ],
}
LEGACY_APIS = {
    "kind": "APIGroupList",
    "groups": [
        {
            "name": "autoscaling",
            "versions": [{"version": "v2"}, {"version": "v1"}],
            "preferredVersion": {"version": "v2"},
        }
    ],
}


def hpa_list(version: str) -> dict[str, Any]:
    return {
        "resources": [
            {
                "name": "horizontalpodautoscalers",
                "namespaced": True,
                "kind": "HorizontalPodAutoscaler",
                "verbs": ["get"],
            }
        ]
    }


class FakeServer:
    """Answers discovery paths from a table and counts the calls."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.calls: list[str] = []

    async def __call__(self, path: str, headers: Mapping[str, str]) -> Any:
        self.calls.append(path)
        return self.documents[path]


async def test_legacy_discovery_resolves_paths_scopes_and_preferred_versions() -> None:
    server = FakeServer(
        {
            "/api": {"kind": "APIVersions", "versions": ["v1"]},
            "/apis": LEGACY_APIS,
            "/api/v1": LEGACY_CORE,
            "/apis/autoscaling/v2": hpa_list("v2"),
            "/apis/autoscaling/v1": hpa_list("v1"),
        }
    )
    discovery = Discovery(server)
    cm = await discovery.resolve("v1", "ConfigMap")
    assert cm.path("shop", "settings") == "/api/v1/namespaces/shop/configmaps/settings"
    ns = await discovery.resolve("v1", "Namespace")
    assert ns.path("ignored", "shop", "status") == "/api/v1/namespaces/shop/status"
    assert ns.subresources == frozenset({"status"})
    hpa = await discovery.resolve_group_kind("autoscaling", "HorizontalPodAutoscaler")
    assert hpa.version == "v2"
    assert hpa.path("a") == "/apis/autoscaling/v2/namespaces/a/horizontalpodautoscalers"


async def test_aggregated_discovery_is_used_when_offered() -> None:
    aggregated = {
        "kind": "APIGroupDiscoveryList",
        "items": [
            {
                "metadata": {"name": "apps"},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "deployments",
                                "responseKind": {
                                    "group": "apps",
                                    "version": "v1",
                                    "kind": "Deployment",
                                },
                                "scope": "Namespaced",
                                "verbs": ["get", "patch"],
                                "shortNames": ["deploy"],
                                "subresources": [
                                    {"subresource": "scale"},
                                    {"subresource": "status"},
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    server = FakeServer(
        {"/api": {"kind": "APIGroupDiscoveryList", "items": []}, "/apis": aggregated}
    )
    discovery = Discovery(server)
    deploy = await discovery.resolve("apps/v1", "Deployment")
    assert deploy.short_names == ("deploy",)
    assert deploy.subresources == frozenset({"scale", "status"})
    assert server.calls == ["/api", "/apis"]


async def test_unknown_kinds_refresh_at_most_once_per_interval() -> None:
    now = [0.0]
    server = FakeServer(
        {"/api": {"versions": ["v1"]}, "/apis": {"groups": []}, "/api/v1": LEGACY_CORE}
    )
    discovery = Discovery(server, min_refresh_interval=5.0, clock=lambda: now[0])
    await discovery.refresh()
    for _ in range(3):
        with pytest.raises(UnknownKind, match=r"failed to resolve example\.com/v1/Widget"):
            await discovery.resolve("example.com/v1", "Widget")
    assert server.calls.count("/api") == 1
    now[0] = 6.0
    with pytest.raises(UnknownKind):
        await discovery.resolve("example.com/v1", "Widget")
    assert server.calls.count("/api") == 2


async def test_throttle_spaces_requests_beyond_the_burst() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    throttle = Throttle(qps=10, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        async with throttle.slot():
            pass
    assert slept == pytest.approx([0.1, 0.1])


def kubeconfig(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:6443/"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "shop"}}],
    }


def test_token_kubeconfig_loads() -> None:
    config = kubeconfig_from_dict(kubeconfig({"token": "s3cret"}))
    assert (config.context, config.server, config.namespace) == (
        "c",
        "https://127.0.0.1:6443",
        "shop",
    )


def test_exec_plugins_are_refused_unless_allowed() -> None:
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "evil"}}
    with pytest.raises(ConfigError, match="exec credential plugin"):
        kubeconfig_from_dict(kubeconfig(user))
    assert kubeconfig_from_dict(kubeconfig(user), allow_exec=True).context == "c"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "not a kubeconfig mapping"),
        (": : :", "failed to parse kubeconfig"),
        (yaml.safe_dump(kubeconfig({"token": "t"}) | {"current-context": "nope"}), "nope"),
    ],
)
def test_bad_kubeconfigs_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(path)


def test_missing_kubeconfig_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="failed to read kubeconfig"):
        load_kubeconfig(tmp_path / "absent")


def test_secrets_never_appear_in_config_errors() -> None:
    raw = kubeconfig({"token": "s3cret"}) | {"current-context": "missing"}
    with pytest.raises(ConfigError) as caught:
        kubeconfig_from_dict(raw)
    assert "s3cret" not in str(caught.value)
