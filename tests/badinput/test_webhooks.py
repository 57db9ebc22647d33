"""A compromised webhook sender: it holds the shared secret, or pretends to.

The most a webhook can do in tether is ask for a refresh of the Applications whose
repository it names; it never changes a spec, creates or deletes anything, or learns a
secret. These cases send signed and unsigned deliveries that try for more (look-alike
repository URLs, broken and oversized payloads) and check the Applications afterwards:
specs untouched, and a refresh requested only where the pushed repository really is the
Application's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from tether.model import API_VERSION

if TYPE_CHECKING:
    from serverharness import Harness

from serverharness import application

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOOK_SECRET = "webhook-shared-s3cret"
REPO = "https://github.com/example/apps"
REFRESH = "argocd.argoproj.io/refresh"


def push(html_url: str, path: str = "guestbook/deployment.yaml") -> bytes:
    """A GitHub push delivery for ``main`` of ``html_url`` touching ``path``."""
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": "1" * 40,
            "repository": {
                "html_url": html_url,
                "clone_url": f"{html_url}.git",
                "default_branch": "main",
            },
            "commits": [{"added": [], "modified": [path], "removed": []}],
        }
    ).encode()


def signed(body: bytes, secret: str = HOOK_SECRET) -> dict[str, str]:
    """Headers of a GitHub push delivery of ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={digest}"}


async def applications(server: Harness) -> dict[str, dict[str, Any]]:
    """The control namespace's Applications by name."""
    listed = await server.kube.list(API_VERSION, "Application", server.namespace)
    return {a["metadata"]["name"]: a for a in listed.items}


def refreshed(apps: dict[str, dict[str, Any]]) -> set[str]:
    """Names of the Applications that carry a refresh request."""
    return {n for n, a in apps.items() if REFRESH in (a["metadata"].get("annotations") or {})}


@pytest_asyncio.fixture(loop_scope="session")
async def hooked(server: Harness) -> Harness:
    """The server with a GitHub webhook secret and one Application of :data:`REPO`."""
    await server.put_secret_keys({"webhook.github.secret": HOOK_SECRET})
    await server.create_app(application("apps", repo=f"{REPO}.git"))
    return server


@pytest.mark.parametrize(
    ("body", "secret", "status", "cause"),
    [
        (push(f"{REPO}-evil"), HOOK_SECRET, 200, ""),
        (push("https://github.com/example/apps/../apps"), HOOK_SECRET, 200, ""),
        (push("https://github.com.evil.example/example/apps"), HOOK_SECRET, 200, ""),
        (push(REPO, path="other/file.yaml"), "guessed-secret", 401, "signature"),
        (b"{not json", HOOK_SECRET, 400, "not json"),
        (b"[1, 2, 3]", HOOK_SECRET, 400, "not a json object"),
        (push(REPO) + b" " * (51 * 1024 * 1024), HOOK_SECRET, 413, "larger"),
    ],
    ids=[
        "look-alike-repo",
        "dot-dot-repo",
        "look-alike-host",
        "wrong-secret",
        "signed-not-json",
        "signed-not-an-object",
        "signed-oversized",
    ],
)
async def test_webhook_refreshes_only_the_pushed_repository(
    hooked: Harness, body: bytes, secret: str, status: int, cause: str
) -> None:
    before = await applications(hooked)
    response = await hooked.http.post("/api/webhook", content=body, headers=signed(body, secret))
    assert response.status_code == status, response.text[:500]
    if status == 200:
        assert response.json()["refreshed"] == []
    else:
        assert cause in response.json()["error"].lower(), response.text[:500]
    assert HOOK_SECRET not in response.text
    after = await applications(hooked)
    assert refreshed(after) == set()
    assert {n: a["spec"] for n, a in after.items()} == {n: a["spec"] for n, a in before.items()}


async def test_genuine_push_asks_for_a_refresh_and_nothing_more(hooked: Harness) -> None:
    before = await applications(hooked)
    body = push(REPO)
    response = await hooked.http.post("/api/webhook", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    after = await applications(hooked)
    assert refreshed(after) == {"apps"}
    assert {n: a["spec"] for n, a in after.items()} == {n: a["spec"] for n, a in before.items()}
    assert after["apps"]["metadata"]["annotations"][REFRESH] == "normal"
