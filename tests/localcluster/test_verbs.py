"""The write verbs over HTTP: dry runs, subresources, validation modes, collections, paging."""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import RunningCluster

JSON = {"Content-Type": "application/json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
APPLY = {"Content-Type": "application/apply-patch+yaml"}


@pytest.fixture
def api(local_cluster_session: RunningCluster) -> Iterator[tuple[httpx.Client, str]]:
    namespace = f"verbs-{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=local_cluster_session.base_url,
        verify=ssl.create_default_context(cafile=str(local_cluster_session.ca_path)),
        headers=local_cluster_session.headers(),
        timeout=10,
    ) as client:
        created = client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        assert created.status_code == 201
        yield client, namespace


def configmap(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"},
    }


def pdb(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": name}}},
    }


def test_dry_run_on_every_write_stores_nothing(api: tuple[httpx.Client, str]) -> None:
    client, ns = api
    cms = f"/api/v1/namespaces/{ns}/configmaps"
    dry = {"dryRun": "All"}
    created = client.post(cms, params=dry, json=configmap("dry"))
    assert created.status_code == 201
    assert created.json()["metadata"]["uid"]
    assert client.get(f"{cms}/dry").status_code == 404
    applied = client.patch(
        f"{cms}/dry",
        params={**dry, "fieldManager": "t"},
        headers=APPLY,
        content=json.dumps(configmap("dry")),
    )
    assert applied.status_code == 201
    assert client.get(f"{cms}/dry").status_code == 404

    real = client.post(cms, json=configmap("real")).json()
    rv = real["metadata"]["resourceVersion"]
    real["data"] = {"k": "changed"}
    assert client.put(f"{cms}/real", params=dry, json=real).json()["data"] == {"k": "changed"}
    patched = client.patch(
        f"{cms}/real", params=dry, headers=MERGE, content=b'{"data": {"k": "patched"}}'
    )
    assert patched.json()["data"] == {"k": "patched"}
    assert client.delete(f"{cms}/real", params=dry).status_code == 200
    stored = client.get(f"{cms}/real").json()
    assert (stored["data"], stored["metadata"]["resourceVersion"]) == ({"k": "v"}, rv)


def test_status_subresource_semantics(api: tuple[httpx.Client, str]) -> None:
    client, ns = api
    path = f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets"
    body = pdb("budget")
    body["status"] = {"currentHealthy": 5}
    created = client.post(path, json=body).json()
    assert "currentHealthy" not in created.get("status", {})  # status is not written on create
    created["status"] = {
        "currentHealthy": 2,
        "desiredHealthy": 1,
        "disruptionsAllowed": 1,
        "expectedPods": 2,
    }
    created["spec"]["minAvailable"] = 9
    status = client.put(f"{path}/budget/status", json=created).json()
    assert status["status"]["currentHealthy"] == 2
    assert status["spec"]["minAvailable"] == 1  # a status write changes only status
    main = client.patch(
        f"{path}/budget",
        headers=MERGE,
        content=b'{"spec": {"minAvailable": 2}, "status": {"currentHealthy": 0}}',
    )
    assert main.json()["spec"]["minAvailable"] == 2
    assert main.json()["status"]["currentHealthy"] == 2  # the main resource ignores status
    assert main.json()["metadata"]["generation"] == 2


def test_field_validation_modes(api: tuple[httpx.Client, str]) -> None:
    client, ns = api
    cms = f"/api/v1/namespaces/{ns}/configmaps"
    body = {**configmap("fv"), "bogus": True}
    ignored = client.post(cms, params={"fieldValidation": "Ignore"}, json=body)
    assert ignored.status_code == 201
    assert "warning" not in ignored.headers
    strict = client.patch(
        f"{cms}/fv",
        params={"fieldValidation": "Strict"},
        headers=MERGE,
        content=b'{"spec": {"x": 1}}',
    )
    assert strict.status_code == 400
    assert strict.json()["message"] == 'strict decoding error: unknown field "spec"'
    bad_mode = client.post(cms, params={"fieldValidation": "Loose"}, json=configmap("x"))
    assert bad_mode.status_code == 400


def test_generate_name_deletecollection_and_paging(api: tuple[httpx.Client, str]) -> None:
    client, ns = api
    cms = f"/api/v1/namespaces/{ns}/configmaps"
    names = []
    for index in range(5):
        body = configmap("", tier="a" if index % 2 else "b")
        body["metadata"] = {"generateName": "gen-", "labels": body["metadata"]["labels"]}
        created = client.post(cms, json=body)
        assert created.status_code == 201
        names.append(created.json()["metadata"]["name"])
    assert all(n.startswith("gen-") and len(n) == 9 for n in names)

    first = client.get(cms, params={"limit": 2}).json()
    assert len(first["items"]) == 2
    assert first["metadata"]["remainingItemCount"] == 3
    rest = client.get(cms, params={"continue": first["metadata"]["continue"]}).json()
    listed = [i["metadata"]["name"] for i in first["items"] + rest["items"]]
    assert listed == sorted(names)

    deleted = client.delete(cms, params={"labelSelector": "tier=b"})
    assert deleted.status_code == 200
    assert deleted.json()["kind"] == "ConfigMapList"
    assert len(deleted.json()["items"]) == 3
    left = client.get(cms).json()["items"]
    assert {i["metadata"]["labels"]["tier"] for i in left} == {"a"}


def test_delete_precondition_on_resource_version(api: tuple[httpx.Client, str]) -> None:
    client, ns = api
    cms = f"/api/v1/namespaces/{ns}/configmaps"
    client.post(cms, json=configmap("pre"))
    refused = client.request(
        "DELETE", f"{cms}/pre", headers=JSON, content=b'{"preconditions": {"resourceVersion": "1"}}'
    )
    assert refused.status_code == 409
    assert "Precondition failed: ResourceVersion in precondition: 1" in refused.json()["message"]
    gone = client.delete(f"{cms}/pre")
    assert gone.json()["status"] == "Success"
    assert gone.json()["details"]["kind"] == "configmaps"


def test_tables_for_kubectl_get(api: tuple[httpx.Client, str]) -> None:
    client, ns = api
    client.post(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", json=pdb("t"))
    accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    table = client.get(f"/api/v1/namespaces/{ns}/configmaps", headers=accept).json()
    assert table["kind"] == "Table"
    assert table["apiVersion"] == "meta.k8s.io/v1"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    generic = client.get(
        f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", headers=accept
    ).json()
    assert [c["name"] for c in generic["columnDefinitions"]] == ["Name", "Age"]
    assert generic["rows"][0]["cells"][0] == "t"
    assert generic["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
