"""Discovery documents as kubectl and client-go read them."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import RunningCluster

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@pytest.fixture
def client(local_cluster_session: RunningCluster) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_cluster_session.base_url,
        verify=ssl.create_default_context(cafile=str(local_cluster_session.ca_path)),
        headers=local_cluster_session.headers(),
        timeout=10,
    ) as http:
        yield http


def resource(document: dict[str, Any], group: str, plural: str) -> dict[str, Any]:
    item = next(i for i in document["items"] if i["metadata"].get("name", "") == group)
    return next(r for r in item["versions"][0]["resources"] if r["resource"] == plural)


def test_aggregated_discovery_describes_scopes_verbs_and_subresources(
    client: httpx.Client,
) -> None:
    response = client.get("/apis", headers={"Accept": AGGREGATED + ",application/json"})
    assert response.headers["content-type"] == AGGREGATED
    deployments = resource(response.json(), "apps", "deployments")
    assert deployments["scope"] == "Namespaced"
    assert deployments["responseKind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert deployments["shortNames"] == ["deploy"]
    assert {s["subresource"]: s["responseKind"]["kind"] for s in deployments["subresources"]} == {
        "status": "Deployment",
        "scale": "Scale",
    }
    core = client.get("/api", headers={"Accept": AGGREGATED}).json()
    namespaces = resource(core, "", "namespaces")
    assert namespaces["scope"] == "Cluster"
    assert "deletecollection" not in namespaces["verbs"]


def test_legacy_discovery_and_version(client: httpx.Client) -> None:
    assert client.get("/api").json()["versions"] == ["v1"]
    groups = {
        g["name"]: g["preferredVersion"]["version"] for g in client.get("/apis").json()["groups"]
    }
    assert groups["autoscaling"] == "v2"
    assert groups["apps"] == "v1"
    listed = client.get("/apis/apps/v1").json()
    names = {r["name"] for r in listed["resources"]}
    assert {"deployments", "deployments/status", "deployments/scale"} <= names
    version = client.get("/version").json()
    assert (version["major"], version["minor"]) == ("1", "35")
    assert client.get("/apis/nope.example.com/v1").status_code == 404
