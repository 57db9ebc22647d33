"""GitLab push webhooks.

Detected by ``X-Gitlab-Event``; authenticated by ``X-Gitlab-Token``, compared in
constant time with ``webhook.gitlab.secret`` when it is set. ``Push Hook`` and
``Tag Push Hook`` events name the project by ``web_url``, ``git_http_url`` and
``git_ssh_url`` and list each commit's changed files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.server.webhooks.push import Push, check_token, files_of_commits, short_ref

NAME = "gitlab"
SECRET_KEYS = ("webhook.gitlab.secret",)
_PUSH_EVENTS = ("Push Hook", "Tag Push Hook", "System Hook")


def detect(headers: Mapping[str, str]) -> bool:
    """Whether the request comes from GitLab."""
    return "x-gitlab-event" in headers


def verify(headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str]) -> None:
    """Check the token when a secret is configured."""
    del body  # GitLab does not sign the body; the shared token is the proof
    secret = secrets.get("webhook.gitlab.secret", "")
    if secret:
        check_token(secret, headers.get("x-gitlab-token", ""), NAME)


def parse(headers: Mapping[str, str], payload: Mapping[str, Any]) -> list[Push]:
    """The pushes of a push or tag push event."""
    if headers.get("x-gitlab-event") not in _PUSH_EVENTS or payload.get("object_kind") not in (
        "push",
        "tag_push",
    ):
        return []
    project = payload.get("project") or {}
    repository = payload.get("repository") or {}
    urls = tuple(
        dict.fromkeys(
            str(u)
            for u in (
                project.get("web_url"),
                project.get("git_http_url"),
                project.get("git_ssh_url"),
                repository.get("homepage"),
                repository.get("git_http_url"),
                repository.get("git_ssh_url"),
            )
            if u
        )
    )
    ref, is_tag = short_ref(str(payload.get("ref", "")))
    return [
        Push(
            repo_urls=urls,
            ref=ref,
            is_tag=is_tag or payload.get("object_kind") == "tag_push",
            default_branch=str(project.get("default_branch", "")),
            revision=str(payload.get("checkout_sha") or payload.get("after") or ""),
            changed_paths=files_of_commits(payload.get("commits")),
        )
    ]
