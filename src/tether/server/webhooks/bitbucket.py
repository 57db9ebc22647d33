"""Bitbucket Cloud push webhooks.

Detected by ``X-Event-Key`` with an ``X-Hook-UUID`` header; Bitbucket Cloud does not
sign payloads, so when ``webhook.bitbucket.uuid`` is set the webhook's UUID must match
it (constant time). A ``repo:push`` lists the new head of each changed branch or tag
but not the changed files, so every app on a pushed ref refreshes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.server.webhooks.push import Push, check_token

NAME = "bitbucket"
SECRET_KEYS = ("webhook.bitbucket.uuid",)


def detect(headers: Mapping[str, str]) -> bool:
    """Whether the request comes from Bitbucket Cloud."""
    return "x-hook-uuid" in headers and "x-event-key" in headers


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str]) -> None:
    """Check the hook UUID when one is configured."""
    del body
    expected = secrets.get("webhook.bitbucket.uuid", "")
    if expected:
        check_token(expected.strip("{}"), headers.get("x-hook-uuid", "").strip("{}"), NAME)


def parse(headers: Mapping[str, str], payload: Mapping[str, Any]) -> list[Push]:
    """One push per changed ref of a ``repo:push`` event."""
    if headers.get("x-event-key") != "repo:push":
        return []
    repository = payload.get("repository") or {}
    links = repository.get("links") or {}
    html = (links.get("html") or {}).get("href") or ""
    full_name = str(repository.get("full_name", ""))
    urls = tuple(
        u
        for u in (
            html,
            f"https://bitbucket.org/{full_name}" if full_name else "",
            f"git@bitbucket.org:{full_name}.git" if full_name else "",
        )
        if u
    )
    main = (repository.get("mainbranch") or {}).get("name") or ""
    pushes = []
    for change in (payload.get("push") or {}).get("changes") or []:
        new = (change or {}).get("new") or {}
        if not new.get("name"):
            continue  # a deleted ref
        pushes.append(
            Push(
                repo_urls=urls,
                ref=str(new["name"]),
                is_tag=new.get("type") == "tag",
                default_branch=str(main),
                revision=str((new.get("target") or {}).get("hash", "")),
            )
        )
    return pushes
