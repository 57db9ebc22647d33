"""Bitbucket Server (Data Center) push webhooks.

Detected by ``X-Event-Key`` with ``X-Request-Id`` and no ``X-Hook-UUID``; signed with
HMAC-SHA256 in ``X-Hub-Signature: sha256=<hex>`` when ``webhook.bitbucketserver.secret``
is set. A ``repo:refs_changed`` event names the repository by its clone links and lists
changed refs, not files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.server.webhooks.push import Push, WebhookUnauthorized, check_hmac_sha256, short_ref

NAME = "bitbucketserver"
SECRET_KEYS = ("webhook.bitbucketserver.secret",)


def detect(headers: Mapping[str, str]) -> bool:
    """Whether the request comes from Bitbucket Server."""
    return "x-event-key" in headers and "x-hook-uuid" not in headers


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str]) -> None:
    """Check the signature when a secret is configured."""
    secret = secrets.get("webhook.bitbucketserver.secret", "")
    if not secret:
        return
    signature = headers.get("x-hub-signature", "")
    if not signature.startswith("sha256="):
        raise WebhookUnauthorized("bitbucketserver webhook has no X-Hub-Signature signature")
    check_hmac_sha256(secret, body, signature.removeprefix("sha256="), NAME)


def parse(headers: Mapping[str, str], payload: Mapping[str, Any]) -> list[Push]:
    """One push per changed ref of a ``repo:refs_changed`` event."""
    if headers.get("x-event-key") != "repo:refs_changed":
        return []
    repository = payload.get("repository") or {}
    clones = ((repository.get("links") or {}).get("clone")) or []
    urls = tuple(str(c["href"]) for c in clones if isinstance(c, Mapping) and c.get("href"))
    pushes = []
    for change in payload.get("changes") or []:
        ref = (change or {}).get("ref") or {}
        if (change or {}).get("type") == "DELETE":
            continue
        name, is_tag = short_ref(str(ref.get("id", "")))
        pushes.append(
            Push(
                repo_urls=urls,
                ref=name,
                is_tag=is_tag or ref.get("type") == "TAG",
                revision=str(change.get("toHash", "")),
            )
        )
    return pushes
