"""Hostile and malformed requests get the Status a real API server sends, and change nothing.

Each case pins the code, reason and message shape of kube-apiserver's answer (from the
API conventions and the server's own messages), then checks that the stored objects of
the namespace are exactly as before.
"""

from __future__ import annotations

import json
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from .conftest import RunningCluster


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    body: bytes
    content_type: str
    code: int
    reason: str
    message: str


def cm(name: str = "new", **extra: object) -> bytes:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}
    ).encode()


def cm_meta(**meta: object) -> bytes:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new", **meta}}
    ).encode()


def nested(depth: int) -> bytes:
    return (
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":'
        + b'{"a":' * depth
        + b"1"
        + b"}" * depth
        + b"}"
    )


CMS = "/api/v1/namespaces/{ns}/configmaps"
KEEP = CMS + "/keep"
JSON = "application/json"

CASES = [
    Case(
        "malformed-json",
        "POST",
        CMS,
        b'{"apiVersion": "v1", kind',
        JSON,
        400,
        "BadRequest",
        "json parse error",
    ),
    Case(
        "malformed-yaml",
        "POST",
        CMS,
        b"apiVersion: v1\nkind: [",
        "application/yaml",
        400,
        "BadRequest",
        "error decoding YAML",
    ),
    Case(
        "yaml-alias",
        "POST",
        CMS,
        b"a: &x [1]\nb: *x\n",
        "application/yaml",
        400,
        "BadRequest",
        "aliases are not allowed",
    ),
    Case("array-body", "POST", CMS, b"[1, 2]", JSON, 400, "BadRequest", "cannot unmarshal array"),
    Case(
        "wrong-api-version",
        "POST",
        CMS,
        json.dumps(
            {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
        ).encode(),
        JSON,
        400,
        "BadRequest",
        "the API version in the data (apps/v1) does not match the expected API version (v1)",
    ),
    Case(
        "wrong-kind",
        "POST",
        CMS,
        json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}).encode(),
        JSON,
        400,
        "BadRequest",
        "the kind in the data (Secret) does not match the expected kind (ConfigMap)",
    ),
    Case(
        "missing-kind",
        "POST",
        CMS,
        b'{"apiVersion": "v1", "metadata": {"name": "x"}}',
        JSON,
        400,
        "BadRequest",
        "Object 'kind' is missing",
    ),
    Case(
        "name-too-long",
        "POST",
        CMS,
        cm("a" * 254),
        JSON,
        422,
        "Invalid",
        'metadata.name: Invalid value: "' + "a" * 254 + '": must be no more than 253 characters',
    ),
    Case(
        "name-bad-characters",
        "POST",
        CMS,
        cm("Bad_Name"),
        JSON,
        422,
        "Invalid",
        'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase '
        "RFC 1123 subdomain must consist of",
    ),
    Case(
        "no-name",
        "POST",
        CMS,
        cm(""),
        JSON,
        422,
        "Invalid",
        "metadata.name: Required value: name or generateName is required",
    ),
    Case(
        "bad-label",
        "POST",
        CMS,
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "labels": {"a": "not valid!"}},
            }
        ).encode(),
        JSON,
        422,
        "Invalid",
        'metadata.labels: Invalid value: "not valid!"',
    ),
    Case(
        "annotations-too-large",
        "POST",
        CMS,
        cm_meta(annotations={"big": "x" * (256 * 1024 + 1)}),
        JSON,
        422,
        "Invalid",
        "metadata.annotations: Too long: must have at most 262144 bytes",
    ),
    Case(
        "incomplete-owner-reference",
        "POST",
        CMS,
        cm_meta(ownerReferences=[{"apiVersion": "v1", "kind": "Pod", "name": "p"}]),
        JSON,
        422,
        "Invalid",
        'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
    ),
    Case(
        "bad-finalizer",
        "POST",
        CMS,
        cm_meta(finalizers=["not a name"]),
        JSON,
        422,
        "Invalid",
        'metadata.finalizers[0]: Invalid value: "not a name"',
    ),
    Case(
        "huge-body",
        "POST",
        CMS,
        cm(data={"big": "x" * (3 * 1024 * 1024)}),
        JSON,
        413,
        "RequestEntityTooLarge",
        "the request is too large",
    ),
    Case("deeply-nested", "POST", CMS, nested(200), JSON, 400, "BadRequest", "nested too deeply"),
    Case(
        "absurdly-nested", "POST", CMS, nested(100_000), JSON, 400, "BadRequest", "json parse error"
    ),
    Case(
        "unknown-field-strict",
        "POST",
        CMS + "?fieldValidation=Strict",
        cm(bogus=1),
        JSON,
        400,
        "BadRequest",
        'strict decoding error: unknown field "bogus"',
    ),
    Case(
        "wrong-field-type",
        "POST",
        CMS,
        cm(data={"a": 1}),
        JSON,
        400,
        "BadRequest",
        'ConfigMap in version "v1" cannot be handled as a ConfigMap:',
    ),
    Case(
        "duplicate",
        "POST",
        CMS,
        cm("keep"),
        JSON,
        409,
        "AlreadyExists",
        'configmaps "keep" already exists',
    ),
    Case(
        "missing-namespace",
        "POST",
        "/api/v1/namespaces/nope/configmaps",
        cm(),
        JSON,
        404,
        "NotFound",
        'namespaces "nope" not found',
    ),
    Case(
        "stale-update",
        "PUT",
        KEEP,
        cm("keep", data={"v": "2"}).replace(
            b'"name": "keep"', b'"name": "keep", "resourceVersion": "1"'
        ),
        JSON,
        409,
        "Conflict",
        'Operation cannot be fulfilled on configmaps "keep"',
    ),
    Case("update-bad-body", "PUT", KEEP, b"{nope", JSON, 400, "BadRequest", "json parse error"),
    Case(
        "update-name-mismatch",
        "PUT",
        KEEP,
        cm("other"),
        JSON,
        400,
        "BadRequest",
        "the name of the object (other) does not match the name on the URL (keep)",
    ),
    Case(
        "unsupported-patch",
        "PATCH",
        KEEP,
        b"{}",
        "text/plain",
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format",
    ),
    Case(
        "bad-json-patch",
        "PATCH",
        KEEP,
        b'[{"op": "remove", "path": "/nope"}]',
        "application/json-patch+json",
        422,
        "Invalid",
        "the server rejected our request",
    ),
    Case(
        "apply-without-manager",
        "PATCH",
        KEEP,
        cm("keep"),
        "application/apply-patch+yaml",
        422,
        "Invalid",
        "fieldManager: Required value",
    ),
    Case(
        "post-to-a-name",
        "POST",
        KEEP,
        cm("keep"),
        JSON,
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
    ),
    Case(
        "delete-precondition",
        "DELETE",
        KEEP,
        b'{"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}',
        JSON,
        409,
        "Conflict",
        "Precondition failed: UID in precondition",
    ),
    Case(
        "bad-selector",
        "GET",
        CMS + "?labelSelector=a%20in%20(",
        b"",
        JSON,
        400,
        "BadRequest",
        "unable to parse requirement",
    ),
    Case(
        "bad-field-selector",
        "GET",
        CMS + "?fieldSelector=spec.x%3Dy",
        b"",
        JSON,
        400,
        "BadRequest",
        "field label not supported: spec.x",
    ),
    Case(
        "unknown-resource",
        "GET",
        "/api/v1/namespaces/{ns}/gizmos",
        b"",
        JSON,
        404,
        "NotFound",
        "the server could not find the requested resource",
    ),
]


@pytest.fixture
def api(local_cluster_session: RunningCluster) -> Iterator[tuple[httpx.Client, str]]:
    namespace = f"bad-{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=local_cluster_session.base_url,
        verify=ssl.create_default_context(cafile=str(local_cluster_session.ca_path)),
        headers=local_cluster_session.headers(),
        timeout=30,
    ) as client:
        created = client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        assert created.status_code == 201, created.text
        keep = client.post(CMS.format(ns=namespace), content=cm("keep", data={"v": "1"}))
        assert keep.status_code == 201, keep.text
        yield client, namespace


def snapshot(client: httpx.Client, namespace: str) -> list[tuple[str, str]]:
    listed = client.get(CMS.format(ns=namespace)).json()
    return [(i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in listed["items"]]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request_gets_the_right_status_and_changes_nothing(
    api: tuple[httpx.Client, str], case: Case
) -> None:
    client, namespace = api
    before = snapshot(client, namespace)
    response = client.request(
        case.method,
        case.path.format(ns=namespace),
        content=case.body,
        headers={"Content-Type": case.content_type},
    )
    status = response.json()
    assert response.status_code == case.code, status
    assert (status["kind"], status["apiVersion"], status["status"]) == ("Status", "v1", "Failure")
    assert (status["code"], status["reason"]) == (case.code, case.reason)
    assert case.message in status["message"]
    assert snapshot(client, namespace) == before


def test_invalid_status_lists_causes_with_field_paths(api: tuple[httpx.Client, str]) -> None:
    client, namespace = api
    response = client.post(CMS.format(ns=namespace), content=cm("Bad_Name"))
    details = response.json()["details"]
    assert details["name"] == "Bad_Name"
    assert details["kind"] == "ConfigMap"
    assert [c["field"] for c in details["causes"]] == ["metadata.name"]
    assert details["causes"][0]["reason"] == "FieldValueInvalid"


def test_unknown_field_under_warn_is_a_warning_header(api: tuple[httpx.Client, str]) -> None:
    client, namespace = api
    response = client.post(
        CMS.format(ns=namespace) + "?fieldValidation=Warn", content=cm("warned", bogus=1)
    )
    assert response.status_code == 201
    assert response.headers["warning"] == '299 - "unknown field \\"bogus\\""'


def test_requests_without_a_valid_token_are_unauthorized(
    local_cluster_session: RunningCluster,
) -> None:
    context = ssl.create_default_context(cafile=str(local_cluster_session.ca_path))
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.get(
            local_cluster_session.base_url + "/api/v1/namespaces", headers=headers, verify=context
        )
        assert response.status_code == 401
        assert response.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    health = httpx.get(local_cluster_session.base_url + "/readyz", verify=context)
    assert (health.status_code, health.text) == (200, "ok")
