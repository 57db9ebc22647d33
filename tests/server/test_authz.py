"""The authorisation matrix: every endpoint by every kind of caller.

Callers: no token, a malformed token, an expired token, a read-only user, a project
role token (``proj:team:deployer``), and admin. An entry expects 401, 403, or ``OK``
(authorised: whatever the endpoint then says, it is neither 401 nor 403). Every
response body is also searched for the secret values planted in the cluster.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from serverharness import Harness, application, load_fixture, running_server

from tether.kube import KubeClient
from tether.model import API_VERSION
from tether.server.tokens import TokenSigner

pytestmark = pytest.mark.asyncio(loop_scope="session")

OK = 0
REPO = "https://git.example.com/team/apps.git"
REPO_PASSWORD = "s3cr3t-repo-password"
CLUSTER_TOKEN = "s3cr3t-cluster-token"
SECRET_VALUE = "s3cr3t-data-value"
READER_PASSWORD = "reader-password"
SECRETS = (
    REPO_PASSWORD,
    CLUSTER_TOKEN,
    SECRET_VALUE,
    base64.b64encode(SECRET_VALUE.encode()).decode(),
    "$2b$",  # a bcrypt hash
)
CALLERS = ("none", "bad", "expired", "readonly", "project", "admin")


@dataclass
class Matrix:
    """The harness and a token per caller."""

    harness: Harness
    tokens: dict[str, str]
    destination: str


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def matrix(kube: KubeClient) -> AsyncIterator[Matrix]:
    async with running_server(kube) as h:
        destination = f"{h.namespace}-dest"
        await h.put_config("argocd-cm", {"accounts.reader": "login", "accounts.ci": "apiKey"})
        await h.put_config("argocd-rbac-cm", load_fixture("configmap-rbac.yaml"))
        changed = await h.http.put(
            "/api/v1/account/password",
            headers=h.auth(),
            json={
                "name": "reader",
                "currentPassword": h.admin_password,
                "newPassword": READER_PASSWORD,
            },
        )
        assert changed.status_code == 200, changed.text
        project = load_fixture("appproject-team.yaml")
        project["metadata"]["namespace"] = h.namespace
        await kube.create(project)
        made = await h.http.post(
            "/api/v1/projects/team/roles/deployer/token", headers=h.auth(), json={}
        )
        assert made.status_code == 200, made.text
        await kube.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": destination}}
        )
        await kube.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "creds", "namespace": destination},
                "stringData": {"password": SECRET_VALUE},
            }
        )
        team = application("team-app", project="team", repo=REPO)
        team["spec"]["destination"]["namespace"] = destination
        await h.create_app(team)
        await kube.patch(
            API_VERSION,
            "Application",
            "team-app",
            h.namespace,
            {
                "status": {
                    "resources": [
                        {
                            "version": "v1",
                            "kind": "Secret",
                            "namespace": destination,
                            "name": "creds",
                            "status": "Synced",
                        }
                    ]
                }
            },
        )
        await h.create_app(application("other-app"))
        repo = await h.http.post(
            "/api/v1/repositories",
            headers=h.auth(),
            json={"repo": REPO, "username": "git", "password": REPO_PASSWORD},
        )
        assert repo.status_code == 200, repo.text
        cluster = await h.http.post(
            "/api/v1/clusters",
            headers=h.auth(),
            json={
                "server": "https://prod.example.com:6443",
                "name": "prod",
                "config": {"bearerToken": CLUSTER_TOKEN, "tlsClientConfig": {"insecure": True}},
            },
        )
        assert cluster.status_code == 200, cluster.text
        key = (await h.app.state.context.authenticator.signer())._key
        expired, _ = TokenSigner(key, lambda: h.clock() - 2 * 86400).issue("admin", lifetime=3600)
        tokens = {
            "none": "",
            "bad": "not-a-jwt",
            "expired": expired,
            "readonly": await h.login("reader", READER_PASSWORD),
            "project": made.json()["token"],
            "admin": h.admin_token,
        }
        yield Matrix(h, tokens, destination)


R, P, A = "readonly", "project", "admin"
APP_BODY = application("team-app", project="team", repo=REPO)
NEW_APP = application("new-app", project="no-such-project")
PROJECT_BODY = {"project": {"metadata": {"name": "matrix-made"}, "spec": {"sourceRepos": ["*"]}}}
TEAM_BODY = {**load_fixture("appproject-team.yaml"), "metadata": {"name": "team"}}
PASSWORD_BODY = {"currentPassword": "wrong", "newPassword": "long-enough"}
REPO_ENC = quote(REPO, safe="")
IN_CLUSTER = quote("https://kubernetes.default.svc", safe="")

#: (method, path, body, {caller: expected}); authenticated callers not named expect 403.
ENDPOINTS: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/api/v1/applications", None, {R: OK, P: OK, A: OK}),
    ("POST", "/api/v1/applications", NEW_APP, {A: OK}),
    ("GET", "/api/v1/applications/team-app", None, {R: OK, P: OK, A: OK}),
    ("GET", "/api/v1/applications/other-app", None, {R: OK, A: OK}),
    ("GET", "/api/v1/applications/team-app?refresh=normal", None, {R: OK, P: OK, A: OK}),
    ("PUT", "/api/v1/applications/team-app", APP_BODY, {A: OK}),
    ("DELETE", "/api/v1/applications/no-such-app", None, {A: OK}),
    ("POST", "/api/v1/applications/team-app/sync", {"dryRun": True}, {P: OK, A: OK}),
    ("PUT", "/api/v1/applications/team-app/rollback", {"id": 99}, {P: OK, A: OK}),
    ("DELETE", "/api/v1/applications/team-app/operation", None, {P: OK, A: OK}),
    ("GET", "/api/v1/applications/team-app/resource-tree", None, {R: OK, P: OK, A: OK}),
    ("GET", "/api/v1/applications/team-app/managed-resources", None, {R: OK, P: OK, A: OK}),
    ("GET", "/api/v1/applications/team-app/events", None, {R: OK, P: OK, A: OK}),
    ("GET", "/api/v1/applications/team-app/manifests", None, {R: OK, P: OK, A: OK}),
    ("GET", "/api/v1/applicationsets", None, {R: OK, P: OK, A: OK}),
    ("GET", "/api/v1/applicationsets/no-such-appset", None, {R: OK, A: OK}),
    ("POST", "/api/v1/applicationsets", load_fixture("applicationset-guestbook.yaml"), {A: OK}),
    (
        "POST",
        "/api/v1/applicationsets/generate",
        {"applicationSet": load_fixture("applicationset-guestbook.yaml")},
        {A: OK},
    ),
    ("DELETE", "/api/v1/applicationsets/no-such-appset", None, {A: OK}),
    ("GET", "/api/v1/projects", None, {R: OK, P: OK, A: OK}),
    ("POST", "/api/v1/projects?upsert=true", PROJECT_BODY, {A: OK}),
    ("GET", "/api/v1/projects/team", None, {R: OK, P: OK, A: OK}),
    ("GET", "/api/v1/projects/default", None, {R: OK, A: OK}),
    ("PUT", "/api/v1/projects/team", TEAM_BODY, {A: OK}),
    ("DELETE", "/api/v1/projects/no-such-project", None, {A: OK}),
    ("POST", "/api/v1/projects/team/roles/deployer/token", {}, {A: OK}),
    ("GET", "/api/v1/repositories", None, {R: OK, P: OK, A: OK}),
    ("GET", f"/api/v1/repositories/{REPO_ENC}", None, {R: OK, A: OK}),
    ("POST", "/api/v1/repositories?upsert=true", {"repo": REPO}, {A: OK}),
    ("PUT", f"/api/v1/repositories/{REPO_ENC}", {"repo": REPO}, {A: OK}),
    ("DELETE", "/api/v1/repositories/https%3A%2F%2Fno.example%2Fx", None, {A: OK}),
    ("GET", "/api/v1/clusters", None, {R: OK, P: OK, A: OK}),
    ("GET", f"/api/v1/clusters/{IN_CLUSTER}", None, {R: OK, A: OK}),
    ("POST", "/api/v1/clusters?upsert=true", {"server": "https://prod.example.com:6443"}, {A: OK}),
    ("DELETE", "/api/v1/clusters/https%3A%2F%2Fno.example", None, {A: OK}),
    ("GET", "/api/v1/account", None, {R: OK, A: OK}),
    ("GET", "/api/v1/account/reader", None, {R: OK, A: OK}),
    ("POST", "/api/v1/account/ci/token", {}, {A: OK}),
    (
        "PUT",
        "/api/v1/account/password",
        {"currentPassword": "x", "newPassword": "y"},
        {R: OK, A: OK},
    ),
    ("GET", "/api/v1/session/userinfo", None, {R: OK, P: OK, A: OK}),
]
#: Reachable without a token (version, settings, metrics, the OpenAPI document).
PUBLIC = [
    ("GET", "/api/version"),
    ("GET", "/api/v1/settings"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
]


def _expected(caller: str, rules: dict[str, int]) -> int:
    if caller in ("none", "bad", "expired"):
        return 401
    return rules.get(caller, 403)


def _assert_no_secret(response: httpx.Response) -> None:
    for secret in SECRETS:
        assert secret not in response.text, f"{secret!r} leaked by {response.request.url}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "body", "rules"),
    ENDPOINTS,
    ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS],
)
async def test_endpoint_authorisation(
    matrix: Matrix, caller: str, method: str, path: str, body: Any, rules: dict[str, int]
) -> None:
    token = matrix.tokens[caller]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await matrix.harness.http.request(method, path, json=body, headers=headers)
    expected = _expected(caller, rules)
    if expected == OK:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == expected, response.text
    _assert_no_secret(response)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), PUBLIC)
async def test_public_endpoints(matrix: Matrix, caller: str, method: str, path: str) -> None:
    token = matrix.tokens[caller]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await matrix.harness.http.request(method, path, headers=headers)
    assert response.status_code == 200
    _assert_no_secret(response)


async def test_lists_leave_out_what_the_caller_may_not_see(matrix: Matrix) -> None:
    http = matrix.harness.http

    async def names(caller: str) -> list[str]:
        headers = {"Authorization": f"Bearer {matrix.tokens[caller]}"}
        response = await http.get("/api/v1/applications", headers=headers)
        return [i["metadata"]["name"] for i in response.json()["items"]]

    assert await names("project") == ["team-app"]
    assert {"team-app", "other-app"} <= set(await names("readonly"))


async def test_deny_wins_over_the_role(matrix: Matrix) -> None:
    h = matrix.harness
    await h.create_app(application("hidden-one"))
    headers = {"Authorization": f"Bearer {matrix.tokens['readonly']}"}
    response = await h.http.get("/api/v1/applications/hidden-one", headers=headers)
    assert response.status_code == 403
    assert (
        await h.http.get("/api/v1/applications/hidden-one", headers=h.auth())
    ).status_code == 200


async def test_live_secret_of_an_app_is_masked(matrix: Matrix) -> None:
    h = matrix.harness
    response = await h.http.get(
        "/api/v1/applications/team-app/resource",
        headers=h.auth(),
        params={"kind": "Secret", "resourceName": "creds", "namespace": matrix.destination},
    )
    assert response.status_code == 200, response.text
    assert "++++++++" in response.json()["manifest"]
    _assert_no_secret(response)
    outside = await h.http.get(
        "/api/v1/applications/team-app/resource",
        headers=h.auth(),
        params={"kind": "Secret", "resourceName": "argocd-secret", "namespace": h.namespace},
    )
    assert outside.status_code == 404  # not an object of the app: not served


async def test_repository_and_cluster_credentials_are_write_only(matrix: Matrix) -> None:
    h = matrix.harness
    repo = (await h.http.get(f"/api/v1/repositories/{REPO_ENC}", headers=h.auth())).json()
    assert repo["repo"] == REPO
    assert repo["hasCredentials"] is True
    assert "password" not in repo
    cluster = (await h.http.get("/api/v1/clusters", headers=h.auth())).json()["items"]
    prod = next(c for c in cluster if c["server"] == "https://prod.example.com:6443")
    # The matrix upserted it without a config: the stored credentials were kept.
    assert prod["config"] == {"tlsClientConfig": {"insecure": True}}
    # An update that omits the password keeps it in the Secret.
    listed = await h.kube.list(
        "v1", "Secret", h.namespace, label_selector="argocd.argoproj.io/secret-type=repository"
    )
    stored = base64.b64decode(listed.items[0]["data"]["password"]).decode()
    assert stored == REPO_PASSWORD


async def test_mutations_are_audited_without_secrets(matrix: Matrix) -> None:
    h = matrix.harness
    events = await h.kube.list("v1", "Event", h.namespace)
    messages = {e["message"] for e in events.items if e["source"]["component"] == "tether-server"}
    assert f"admin added repository {REPO}" in messages
    assert "admin added cluster https://prod.example.com:6443" in messages
    assert "admin changed the password of account reader" in messages
    assert "reader logged in from 127.0.0.1" in messages
    for secret in SECRETS:
        assert not any(secret in m for m in messages)
