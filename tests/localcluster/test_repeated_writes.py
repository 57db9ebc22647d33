"""Writes repeated with the same bytes (a sync's dry run, then its apply) answer as if first.

The server remembers, by content, the validation report and the applied field set of
recent writes. These cases pin that nothing of a remembered answer leaks into a write
that differs: another validation mode, another body, another manager, a later second.
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tether.localcluster.timestamps import FORMAT, rfc3339

from .conftest import RunningCluster

APPLY = {"Content-Type": "application/apply-patch+yaml"}


@pytest.fixture
def api(local_cluster_session: RunningCluster) -> Iterator[tuple[httpx.Client, str]]:
    namespace = f"repeat-{uuid.uuid4().hex[:8]}"
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


def configmap(namespace: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": data,
    }


def apply(
    client: httpx.Client, obj: dict[str, Any], *, dry_run: bool = False, **params: str
) -> httpx.Response:
    path = f"/api/v1/namespaces/{obj['metadata']['namespace']}/configmaps/settings"
    query = {"fieldManager": "repeat-test", **params} | ({"dryRun": "All"} if dry_run else {})
    return client.patch(path, content=json.dumps(obj), params=query, headers=APPLY)


def owned(answer: httpx.Response, manager: str = "repeat-test") -> dict[str, Any]:
    entries = answer.json()["metadata"]["managedFields"]
    fields: dict[str, Any] = next(e["fieldsV1"] for e in entries if e["manager"] == manager)
    return fields


def test_dry_run_then_apply_answer_alike_and_own_the_applied_fields(
    api: tuple[httpx.Client, str],
) -> None:
    client, namespace = api
    obj = configmap(namespace, mode="a", level="1")
    dry = apply(client, obj, dry_run=True)
    real = apply(client, obj)
    assert (dry.status_code, real.status_code) == (201, 201)
    assert dry.json()["data"] == real.json()["data"] == {"mode": "a", "level": "1"}
    assert owned(dry) == owned(real) == {"f:data": {"f:level": {}, "f:mode": {}}}
    # Another body: its own fields, not the remembered ones.
    changed = apply(client, configmap(namespace, mode="b"))
    assert changed.status_code == 200
    assert owned(changed) == {"f:data": {"f:mode": {}}}
    assert changed.json()["data"] == {"mode": "b"}
    # The same body under another manager: that manager owns it too.
    shared = apply(client, configmap(namespace, mode="b"), fieldManager="other")
    assert owned(shared, "other") == {"f:data": {"f:mode": {}}}


def test_the_validation_mode_is_part_of_what_is_remembered(api: tuple[httpx.Client, str]) -> None:
    client, namespace = api
    obj = configmap(namespace, mode="a") | {"extra": {"unknown": True}}
    warned = apply(client, obj, dry_run=True, fieldValidation="Warn")
    assert warned.status_code == 201
    assert warned.headers["warning"] == '299 - "unknown field \\"extra\\""'
    strict = apply(client, obj, fieldValidation="Strict")
    assert strict.status_code == 400
    assert strict.json()["message"] == 'strict decoding error: unknown field "extra"'
    ignored = apply(client, obj, fieldValidation="Ignore")
    assert ignored.status_code == 201
    assert "warning" not in ignored.headers
    assert "extra" not in ignored.json()


def test_an_invalid_object_is_refused_every_time(api: tuple[httpx.Client, str]) -> None:
    client, namespace = api
    obj = configmap(namespace) | {"data": {"count": 3}}
    for dry_run in (True, False, False):
        answer = apply(client, obj, dry_run=dry_run)
        assert answer.status_code == 400, answer.text
        assert "data[count]" in answer.json()["message"]
    assert client.get(f"/api/v1/namespaces/{namespace}/configmaps/settings").status_code == 404


@pytest.mark.parametrize(
    "zone", [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30)), None]
)
def test_timestamps_read_as_formatted_afresh(zone: timezone | None) -> None:
    start = datetime(2026, 3, 29, 0, 59, 58, 900_000, tzinfo=zone)
    moments = [start + timedelta(milliseconds=250 * n) for n in range(16)]
    for moment in [*moments, *reversed(moments), start]:
        assert rfc3339(moment) == moment.strftime(FORMAT)
