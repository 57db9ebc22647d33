"""Azure DevOps (Azure Repos) push webhooks.

Detected by ``X-Vss-ActivityId``; Azure DevOps authenticates service hooks with HTTP
basic auth, checked (constant time) against ``webhook.azuredevops.username`` and
``webhook.azuredevops.password`` when they are set. A ``git.push`` event lists ref
updates and the repository's ``remoteUrl``, not the changed files.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from tether.server.webhooks.push import Push, WebhookUnauthorized, check_token, short_ref

NAME = "azuredevops"
SECRET_KEYS = ("webhook.azuredevops.username", "webhook.azuredevops.password")


def detect(headers: Mapping[str, str]) -> bool:
    """Whether the request comes from Azure DevOps."""
    return "x-vss-activityid" in headers


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str]) -> None:
    """Check basic auth when credentials are configured."""
    del body
    username = secrets.get("webhook.azuredevops.username", "")
    password = secrets.get("webhook.azuredevops.password", "")
    if not username and not password:
        return
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise WebhookUnauthorized("azuredevops webhook has no basic authentication")
    try:
        given_user, _, given_password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise WebhookUnauthorized(
            "azuredevops webhook has malformed basic authentication"
        ) from error
    check_token(f"{username}:{password}", f"{given_user}:{given_password}", NAME)


def parse(headers: Mapping[str, str], payload: Mapping[str, Any]) -> list[Push]:
    """One push per ref update of a ``git.push`` event."""
    del headers
    if payload.get("eventType") != "git.push":
        return []
    resource = payload.get("resource") or {}
    repository = resource.get("repository") or {}
    urls = tuple(str(u) for u in (repository.get("remoteUrl"), repository.get("sshUrl")) if u)
    default_branch, _ = short_ref(str(repository.get("defaultBranch", "")))
    pushes = []
    for update in resource.get("refUpdates") or []:
        if not isinstance(update, Mapping) or set(str(update.get("newObjectId", "0"))) == {"0"}:
            continue  # a deleted ref
        ref, is_tag = short_ref(str(update.get("name", "")))
        pushes.append(
            Push(
                repo_urls=urls,
                ref=ref,
                is_tag=is_tag,
                default_branch=default_branch,
                revision=str(update.get("newObjectId", "")),
            )
        )
    return pushes
