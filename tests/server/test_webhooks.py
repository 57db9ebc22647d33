"""Webhooks: providers' push payloads, signatures, and which applications refresh."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from serverharness import TESTDATA, Harness, application, running_server

from tether.kube import KubeClient
from tether.model import API_VERSION

pytestmark = pytest.mark.asyncio(loop_scope="session")

GITHUB_SECRET = "github-hook-secret"
GITLAB_SECRET = "gitlab-hook-token"
GITEA_SECRET = "gitea-hook-secret"
BITBUCKET_SERVER_SECRET = "bitbucket-server-secret"
AZURE_USER, AZURE_PASSWORD = "hook", "azure-hook-password"
GENERATE_PATHS = "argocd.argoproj.io/manifest-generate-paths"

#: name -> (repo URL, target revision, path, manifest-generate-paths or "")
APPS = {
    "gh-main": ("https://github.com/example/apps.git", "main", "guestbook", ""),
    "gh-head-ssh": ("git@github.com:example/apps.git", "HEAD", "guestbook", ""),
    "gh-refs-heads": ("https://GitHub.com/example/apps/", "refs/heads/main", "x", ""),
    "gh-dev": ("https://github.com/example/apps.git", "dev", "guestbook", ""),
    "gh-paths-hit": ("https://github.com/example/apps.git", "main", "guestbook", "."),
    "gh-paths-miss": ("https://github.com/example/apps.git", "main", "other", "."),
    "gh-paths-abs": ("https://github.com/example/apps.git", "main", "other", "/guestbook;/x"),
    "gh-other-repo": ("https://github.com/example/other.git", "main", "guestbook", ""),
    "gl-api": ("https://gitlab.example.com/platform/apps.git", "main", "api", "."),
    "gl-web": ("https://gitlab.example.com/platform/apps.git", "main", "web", "."),
    "gitea-tag": ("https://gitea.example.com/ops/apps", "v1.4.0", "release", ""),
    "gitea-main": ("https://gitea.example.com/ops/apps", "main", "release", ""),
    "gitea-semver": ("https://gitea.example.com/ops/apps", "^1.2", "release", ""),
    "gitea-semver-miss": ("https://gitea.example.com/ops/apps", "~2.0", "release", ""),
    "bb-main": ("git@bitbucket.org:team/apps.git", "main", "app", ""),
    "az-main": ("https://dev.azure.com/contoso/Platform/_git/apps", "HEAD", "app", ""),
    "bbs-main": ("https://bitbucket.example.com/scm/ops/apps.git", "main", "app", ""),
}


@dataclass
class Pushes:
    """What the ``on_push`` hook received."""

    calls: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    async def __call__(self, repo: str, revision: str, paths: Sequence[str]) -> None:
        self.calls.append((repo, revision, tuple(paths)))


@dataclass
class Hooks:
    harness: Harness
    pushes: Pushes


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def module_hooks(kube: KubeClient) -> AsyncIterator[Hooks]:
    pushes = Pushes()
    async with running_server(kube, on_push=pushes) as h:
        await h.put_secret_keys(
            {
                "webhook.github.secret": GITHUB_SECRET,
                "webhook.gitlab.secret": GITLAB_SECRET,
                "webhook.gogs.secret": GITEA_SECRET,
                "webhook.bitbucketserver.secret": BITBUCKET_SERVER_SECRET,
                "webhook.azuredevops.username": AZURE_USER,
                "webhook.azuredevops.password": AZURE_PASSWORD,
            }
        )
        for name, (repo, revision, path, paths) in APPS.items():
            annotations = {GENERATE_PATHS: paths} if paths else None
            await h.create_app(
                application(name, repo=repo, revision=revision, path=path, annotations=annotations)
            )
        yield Hooks(h, pushes)


@pytest_asyncio.fixture(loop_scope="session")
async def hooks(module_hooks: Hooks) -> Hooks:
    """The module's server with every refresh annotation cleared and no pushes recorded."""
    h = module_hooks.harness
    for name in APPS:
        updated = await h.kube.patch(
            API_VERSION,
            "Application",
            name,
            h.namespace,
            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": None}}},
        )
        h.app.state.context.apps.observe(updated)
    module_hooks.pushes.calls.clear()
    return module_hooks


async def refreshed(h: Harness) -> set[str]:
    listed = await h.kube.list(API_VERSION, "Application", h.namespace)
    return {
        a["metadata"]["name"]
        for a in listed.items
        if "argocd.argoproj.io/refresh" in (a["metadata"].get("annotations") or {})
    }


def payload(name: str) -> bytes:
    return (TESTDATA / name).read_bytes()


def github_signature(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def test_github_push_refreshes_matching_apps(hooks: Hooks) -> None:
    body = payload("webhook-github-push.json")
    response = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": github_signature(body)},
    )
    assert response.status_code == 200, response.text
    expected = {"gh-main", "gh-head-ssh", "gh-refs-heads", "gh-paths-hit", "gh-paths-abs"}
    assert await refreshed(hooks.harness) == expected
    assert response.json()["refreshed"] == sorted(expected)
    assert hooks.pushes.calls == [
        (
            "https://github.com/example/apps",
            "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
            ("guestbook/deployment.yaml", "guestbook/service.yaml"),
        )
    ]


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "sha1=abc", github_signature(b"another body")],
    ids=["missing", "zeros", "sha1", "other-body"],
)
async def test_github_bad_signature_is_401_and_refreshes_nothing(
    hooks: Hooks, signature: str
) -> None:
    headers = {"X-GitHub-Event": "push"}
    if signature:
        headers["X-Hub-Signature-256"] = signature
    response = await hooks.harness.http.post(
        "/api/webhook", content=payload("webhook-github-push.json"), headers=headers
    )
    assert response.status_code == 401
    assert await refreshed(hooks.harness) == set()
    assert hooks.pushes.calls == []


async def test_github_ping_and_other_branches_refresh_nothing(hooks: Hooks) -> None:
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = await hooks.harness.http.post(
        "/api/webhook",
        content=ping,
        headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": github_signature(ping)},
    )
    assert response.status_code == 200
    data = json.loads(payload("webhook-github-push.json"))
    data["ref"] = "refs/heads/feature"
    body = json.dumps(data).encode()
    response = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": github_signature(body)},
    )
    assert response.status_code == 200
    assert await refreshed(hooks.harness) == set()


async def test_gitlab_push_with_token(hooks: Hooks) -> None:
    body = payload("webhook-gitlab-push.json")
    bad = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"},
    )
    assert bad.status_code == 401
    assert await refreshed(hooks.harness) == set()
    good = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": GITLAB_SECRET},
    )
    assert good.status_code == 200
    assert await refreshed(hooks.harness) == {"gl-api"}  # web/ did not change


async def test_gitea_tag_push_with_signature(hooks: Hooks) -> None:
    body = payload("webhook-gitea-push.json")
    signature = hmac.new(GITEA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    bad = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={"X-Gitea-Event": "push", "X-Gitea-Signature": "f" * 64},
    )
    assert bad.status_code == 401
    good = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={"X-Gitea-Event": "push", "X-Gitea-Signature": signature},
    )
    assert good.status_code == 200
    assert await refreshed(hooks.harness) == {"gitea-tag", "gitea-semver"}


async def test_bitbucket_cloud_without_a_configured_uuid_is_accepted(hooks: Hooks) -> None:
    response = await hooks.harness.http.post(
        "/api/webhook",
        content=payload("webhook-bitbucket-push.json"),
        headers={
            "X-Event-Key": "repo:push",
            "X-Hook-UUID": "{d2bc1e09-8b6b-4fd2-9a1e-3c3d4b6f5b7a}",
        },
    )
    assert response.status_code == 200
    assert await refreshed(hooks.harness) == {"bb-main"}


async def test_bitbucket_server_signed_refs_changed(hooks: Hooks) -> None:
    body = payload("webhook-bitbucketserver-push.json")
    headers = {"X-Event-Key": "repo:refs_changed", "X-Request-Id": "b5f4c1d2"}
    bad = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={**headers, "X-Hub-Signature": github_signature(body, "wrong")},
    )
    assert bad.status_code == 401
    good = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={**headers, "X-Hub-Signature": github_signature(body, BITBUCKET_SERVER_SECRET)},
    )
    assert good.status_code == 200
    assert await refreshed(hooks.harness) == {"bbs-main"}


async def test_azure_devops_basic_auth(hooks: Hooks) -> None:
    body = payload("webhook-azuredevops-push.json")

    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    headers = {"X-Vss-ActivityId": "d1f5b4c2-0000-0000-0000-000000000000"}
    bad = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={**headers, "Authorization": basic(AZURE_USER, "nope")},
    )
    assert bad.status_code == 401
    good = await hooks.harness.http.post(
        "/api/webhook",
        content=body,
        headers={**headers, "Authorization": basic(AZURE_USER, AZURE_PASSWORD)},
    )
    assert good.status_code == 200
    assert await refreshed(hooks.harness) == {"az-main"}


async def test_oversized_unknown_and_malformed_deliveries(hooks: Hooks) -> None:
    http = hooks.harness.http
    huge = await http.post(
        "/api/webhook", content=b"x" * (50 * 1024 * 1024 + 1), headers={"X-GitHub-Event": "push"}
    )
    assert huge.status_code == 413
    unknown = await http.post("/api/webhook", content=b"{}", headers={"X-Some-Event": "push"})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unknown webhook event"
    garbage = b"{not json"
    malformed = await http.post(
        "/api/webhook",
        content=garbage,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": github_signature(garbage)},
    )
    assert malformed.status_code == 400
    assert await refreshed(hooks.harness) == set()
