"""Hostile API clients: broken or oversized bodies, injection, smuggled secrets, bad tokens.

Every request goes through the real ASGI app (``tests/server/serverharness.py``) against
the session's local cluster. Each case asserts a clear 4xx error with a message, that the
control namespace holds exactly what it held before (Applications, AppProjects and
Secrets, by name and resourceVersion), and that no secret the client sent or the server
holds comes back in the response.

The server suite covers filters, names and webhook signatures one endpoint at a time
(``tests/server/test_applications.py``, ``test_webhooks.py``); these are the requests
that cross from the API into the cluster's state.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest

if TYPE_CHECKING:
    from serverharness import Harness

from serverharness import application

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET_VALUE = "api-s3cret-never-echoed"
#: What a successful ``ext::`` injection in a repository URL would create.
PWNED = Path("/tmp/tether-badinput-pwned")


@dataclass(frozen=True)
class Hostile:
    """One hostile request: method, path, body (JSON-encodable, or raw bytes), expectation."""

    id: str
    method: str
    path: str
    body: Any
    status: int
    cause: str


def big_application() -> bytes:
    manifest = application("big")
    manifest["metadata"]["annotations"] = {"padding": "x" * (5 * 1024 * 1024)}
    return json.dumps(manifest).encode()


CASES = [
    Hostile("app-json-truncated", "POST", "/api/v1/applications", b'{"metadata": {', 400, "json"),
    Hostile("app-json-array", "POST", "/api/v1/applications", [application("x")], 400, ""),
    Hostile("app-body-too-large", "POST", "/api/v1/applications", big_application(), 413, "larger"),
    Hostile(
        "app-name-traversal",
        "POST",
        "/api/v1/applications",
        application("../../etc/passwd"),
        400,
        "name",
    ),
    Hostile(
        "app-unknown-project",
        "POST",
        "/api/v1/applications",
        application("orphan", project="no-such-project"),
        400,
        "no-such-project",
    ),
    Hostile(
        "repo-ext-transport",
        "POST",
        "/api/v1/repositories",
        {"repo": f"ext::sh -c touch% {PWNED}", "username": "u", "password": SECRET_VALUE},
        400,
        "repo",
    ),
    Hostile(
        "cluster-not-a-url",
        "POST",
        "/api/v1/clusters",
        {"server": "not a url", "name": "x", "config": {"bearerToken": SECRET_VALUE}},
        400,
        "server",
    ),
    Hostile(
        "project-destinations-not-a-list",
        "POST",
        "/api/v1/projects",
        {"project": {"metadata": {"name": "p"}, "spec": {"destinations": "everywhere"}}},
        400,
        "destinations",
    ),
    Hostile(
        "password-change-wrong-current",
        "PUT",
        "/api/v1/account/password",
        {"currentPassword": "wrong", "newPassword": SECRET_VALUE},
        400,
        "password",
    ),
    Hostile(
        "login-injection",
        "POST",
        "/api/v1/session",
        {"username": "admin' OR '1'='1", "password": SECRET_VALUE},
        401,
        "",
    ),
]


async def snapshot(server: Harness) -> dict[str, dict[str, str]]:
    """Every Application, AppProject and Secret of the control namespace: name -> version."""
    state: dict[str, dict[str, str]] = {}
    for api_version, kind in [
        ("argoproj.io/v1alpha1", "Application"),
        ("argoproj.io/v1alpha1", "AppProject"),
        ("v1", "Secret"),
    ]:
        listed = await server.kube.list(api_version, kind, server.namespace)
        state[kind] = {
            o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listed.items
        }
    return state


def assert_no_secret(server: Harness, text: str) -> None:
    """``text`` holds neither a secret the client sent nor the admin's password or token."""
    for secret in (SECRET_VALUE, server.admin_password, server.admin_token):
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_hostile_request_is_refused_and_changes_nothing(
    server: Harness, case: Hostile
) -> None:
    before = await snapshot(server)
    content = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode()
    response = await server.http.request(
        case.method,
        case.path,
        content=content,
        headers=server.auth() | {"Content-Type": "application/json"},
    )
    assert response.status_code == case.status, response.text
    error = str(response.json().get("error", ""))
    assert error, response.text
    assert case.cause.lower() in error.lower(), error
    assert_no_secret(server, response.text)
    assert await snapshot(server) == before
    assert not await asyncio.to_thread(PWNED.exists)


def forged_tokens(server: Harness) -> dict[str, str]:
    """Tokens that must not authenticate: garbage, unsigned, signed by another key, expired."""
    claims = {"sub": "admin", "iss": "argocd", "iat": 0, "nbf": 0}
    other_key = "another-servers-signing-key-of-32-bytes"
    unsigned = jwt.encode(claims, key="", algorithm="none")
    return {
        "garbage": "not-a-token",
        "empty": "",
        "alg-none": unsigned,
        "other-key": jwt.encode(claims, other_key, algorithm="HS256"),
        "expired-shape": jwt.encode(claims | {"exp": 1}, other_key, algorithm="HS256"),
        "admin-token-tampered": server.admin_token[:-2]
        + ("AA" if server.admin_token[-2:] != "AA" else "BB"),
    }


@pytest.mark.parametrize(
    "which",
    ["garbage", "empty", "alg-none", "other-key", "expired-shape", "admin-token-tampered"],
)
async def test_forged_tokens_cannot_write(server: Harness, which: str) -> None:
    token = forged_tokens(server)[which]
    before = await snapshot(server)
    response = await server.http.post(
        "/api/v1/applications",
        headers={"Authorization": f"Bearer {token}"},
        json=application(f"forged-{which}"),
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"]
    assert_no_secret(server, response.text)
    assert await snapshot(server) == before


@pytest.mark.parametrize(
    ("kind", "resource"),
    [
        ("Secret", "argocd-secret"),
        ("Secret", "argocd-initial-admin-secret"),
        ("ConfigMap", "argocd-cm"),
    ],
)
async def test_an_application_resource_route_reads_only_its_own_resources(
    server: Harness, kind: str, resource: str
) -> None:
    """Asking an Application for an object it does not manage is refused, not served."""
    await server.create_app(application("reader"))
    response = await server.http.get(
        "/api/v1/applications/reader/resource",
        headers=server.auth(),
        params={"kind": kind, "resourceName": resource, "namespace": server.namespace},
    )
    assert response.status_code in (403, 404), response.text[:300]
    assert response.json()["error"]
    assert "manifest" not in response.json()
    assert_no_secret(server, response.text)
