"""Gitea and Gogs push webhooks.

Detected by ``X-Gitea-Event`` or ``X-Gogs-Event``; signed with the hex HMAC-SHA256 of
the body in ``X-Gitea-Signature`` / ``X-Gogs-Signature`` when ``webhook.gogs.secret``
(Argo CD's key for both) is set. Payloads follow GitHub's push shape.
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

NAME = "gitea"
SECRET_KEYS = ("webhook.gogs.secret",)


def _event(headers: Mapping[str, str]) -> str:
    return headers.get("x-gitea-event") or headers.get("x-gogs-event") or ""


def detect(headers: Mapping[str, str]) -> bool:
    """Whether the request comes from Gitea or Gogs."""
    return "x-gitea-event" in headers or "x-gogs-event" in headers


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str]) -> None:
    """Check the signature when a secret is configured."""
    secret = secrets.get("webhook.gogs.secret", "")
    if not secret:
        return
    signature = headers.get("x-gitea-signature") or headers.get("x-gogs-signature") or ""
    if not signature:
        raise WebhookUnauthorized("gitea webhook has no signature")
    check_hmac_sha256(secret, body, signature, NAME)


def parse(headers: Mapping[str, str], payload: Mapping[str, Any]) -> list[Push]:
    """The pushes of a ``push`` event."""
    if _event(headers) != "push":
        return []
    repository = payload.get("repository") or {}
    ref, is_tag = short_ref(str(payload.get("ref", "")))
    urls = tuple(
        str(repository[k]) for k in ("html_url", "clone_url", "ssh_url") if repository.get(k)
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
