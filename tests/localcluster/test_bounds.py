"""Out-of-range ports and counts are refused as kube-apiserver refuses them, with a 422.

Each fixture in ``testdata/localcluster/bounds`` is sent as a create and as a
server-side apply (both also as dry runs); the Status must carry the real server's
message and causes, and nothing may be stored. Values at the very bounds are accepted.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import RunningCluster

BOUNDS = Path(__file__).resolve().parents[2] / "testdata" / "localcluster" / "bounds"
PORT = "must be between 1 and 65535, inclusive"
NON_NEGATIVE = "must be greater than or equal to 0"

#: Fixture -> (kind as the message qualifies it, every expected cause as (field, message)).
REFUSED: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "service-port-out-of-range": (
        "Service",
        [("spec.ports[0].port", f"Invalid value: 99999: {PORT}")],
    ),
    "service-targetport-out-of-range": (
        "Service",
        [("spec.ports[1].targetPort", f"Invalid value: 70000: {PORT}")],
    ),
    "service-nodeport-out-of-range": (
        "Service",
        [
            (
                "spec.ports[0].nodePort",
                "Invalid value: 8080: provided port is not in the valid range. "
                "The range of valid ports is 30000-32767",
            )
        ],
    ),
    "service-nodeport-on-clusterip": (
        "Service",
        [("spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")],
    ),
    "pod-containerport-out-of-range": (
        "Pod",
        [
            ("spec.containers[0].ports[0].containerPort", f"Invalid value: 65536: {PORT}"),
            ("spec.containers[0].ports[0].hostPort", f"Invalid value: -1: {PORT}"),
        ],
    ),
    "pod-containerport-zero": (
        "Pod",
        [("spec.initContainers[0].ports[0].containerPort", "Required value")],
    ),
    "deployment-negative-replicas": (
        "Deployment.apps",
        [
            ("spec.replicas", f"Invalid value: -1: {NON_NEGATIVE}"),
            ("spec.revisionHistoryLimit", f"Invalid value: -2: {NON_NEGATIVE}"),
            (
                "spec.template.spec.containers[0].ports[0].containerPort",
                f"Invalid value: 100000: {PORT}",
            ),
        ],
    ),
    "statefulset-negative-replicas": (
        "StatefulSet.apps",
        [("spec.replicas", f"Invalid value: -3: {NON_NEGATIVE}")],
    ),
    "job-negative-backofflimit": (
        "Job.batch",
        [
            ("spec.parallelism", f"Invalid value: -2: {NON_NEGATIVE}"),
            ("spec.backoffLimit", f"Invalid value: -1: {NON_NEGATIVE}"),
        ],
    ),
    "cronjob-containerport-out-of-range": (
        "CronJob.batch",
        [
            ("spec.jobTemplate.spec.completions", f"Invalid value: -1: {NON_NEGATIVE}"),
            (
                "spec.jobTemplate.spec.template.spec.containers[0].ports[0].containerPort",
                f"Invalid value: 99999: {PORT}",
            ),
        ],
    ),
}
ACCEPTED = ["service-ports-at-bounds", "deployment-zero-replicas"]

_PLURALS = {
    "Service": "services",
    "Pod": "pods",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "Job": "jobs",
    "CronJob": "cronjobs",
}


@pytest.fixture
def api(local_cluster_session: RunningCluster) -> Iterator[tuple[httpx.Client, str]]:
    namespace = f"bounds-{uuid.uuid4().hex[:8]}"
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


def load(name: str) -> tuple[dict[str, Any], str]:
    """The fixture as an object, and as the YAML text an apply sends."""
    text = (BOUNDS / f"{name}.yaml").read_text()
    return yaml.safe_load(text), text


def collection(obj: dict[str, Any], namespace: str) -> str:
    group_version = obj["apiVersion"]
    root = "/api" if "/" not in group_version else "/apis"
    return f"{root}/{group_version}/namespaces/{namespace}/{_PLURALS[obj['kind']]}"


def writes(
    client: httpx.Client, obj: dict[str, Any], text: str, namespace: str
) -> Iterator[httpx.Response]:
    """The fixture as a create and as an apply, each a dry run first."""
    path = collection(obj, namespace)
    name = obj["metadata"]["name"]
    for dry_run in ({"dryRun": "All"}, {}):
        yield client.post(path, json=obj, params=dry_run)
        yield client.patch(
            f"{path}/{name}",
            content=text,
            params={"fieldManager": "bounds-test", **dry_run},
            headers={"Content-Type": "application/apply-patch+yaml"},
        )


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_out_of_range_values_are_refused(api: tuple[httpx.Client, str], name: str) -> None:
    client, namespace = api
    obj, text = load(name)
    kind, causes = REFUSED[name]
    listed = "; ".join(f"{field}: {message}" for field, message in causes)
    expected = f'{kind} "{obj["metadata"]["name"]}" is invalid: ' + (
        listed if len(causes) == 1 else "[" + listed.replace("; ", ", ") + "]"
    )
    for answer in writes(client, obj, text, namespace):
        assert answer.status_code == 422, answer.text
        status = answer.json()
        assert (status["reason"], status["message"]) == ("Invalid", expected)
        assert [(c["field"], c["message"]) for c in status["details"]["causes"]] == causes
    missing = client.get(f"{collection(obj, namespace)}/{obj['metadata']['name']}")
    assert missing.status_code == 404


@pytest.mark.parametrize("name", ACCEPTED)
def test_values_at_the_bounds_are_accepted(api: tuple[httpx.Client, str], name: str) -> None:
    client, namespace = api
    obj, text = load(name)
    path = f"{collection(obj, namespace)}/{obj['metadata']['name']}"
    applied = client.patch(
        path,
        content=text,
        params={"fieldManager": "bounds-test"},
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert applied.status_code == 201, applied.text
    assert client.get(path).json()["spec"] == applied.json()["spec"]
