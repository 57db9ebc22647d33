"""GitHub (and GitHub Enterprise) push webhooks.

Detected by ``X-GitHub-Event``; signed with HMAC-SHA256 of the body in
``X-Hub-Signature-256: sha256=<hex>`` when ``webhook.github.secret`` is set. A push names
the repository by ``html_url``, ``clone_url`` and ``ssh_url`` (any may be what an app
uses) and lists each commit's added, modified and removed files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.server.webhooks.push import (
    Push,
    WebhookUnauthorized,
    check_hmac_sha256,
    files_of_commits,
    short_ref,
)

NAME = "github"
SECRET_KEYS = ("webhook.github.secret",)


def detect(headers: Mapping[str, str]) -> bool:
    """Whether the request comes from GitHub."""
    return "x-github-event" in headers


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str]) -> None:
    """Check the signature when a secret is configured."""
    secret = secrets.get("webhook.github.secret", "")
    if not secret:
        return
    signature = headers.get("x-hub-signature-256", "")
    if not signature.startswith("sha256="):
        raise WebhookUnauthorized("github webhook has no X-Hub-Signature-256 signature")
    check_hmac_sha256(secret, body, signature.removeprefix("sha256="), NAME)


def parse(headers: Mapping[str, str], payload: Mapping[str, Any]) -> list[Push]:
    """The pushes of a ``push`` event (other events, ``ping`` included, push nothing)."""
    if headers.get("x-github-event") != "push":
        return []
    repository = payload.get("repository") or {}
    ref, is_tag = short_ref(str(payload.get("ref", "")))
    urls = tuple(
        str(repository[k])
        for k in ("html_url", "clone_url", "ssh_url", "git_url")
        if repository.get(k)
    )
    return [
        Push(
            repo_urls=urls,
            ref=ref,
            is_tag=is_tag,
            default_branch=str(repository.get("default_branch", "")),
            revision=str(payload.get("after", "")),
            changed_paths=files_of_commits(payload.get("commits")),
        )
    ]
