"""A Git push as providers report it, and which applications it concerns."""

from __future__ import annotations

import hashlib
import hmac
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.model import keys
from tether.source import normalize_url
from tether.source.errors import InvalidRepositoryURL
from tether.source.semver_constraint import parse_constraint, parse_version


class WebhookError(Exception):
    """The request is not a webhook this server understands (400)."""


class WebhookUnauthorized(Exception):
    """The request's signature or token does not match the configured secret (401)."""


@dataclass(frozen=True, slots=True)
class Push:
    """One pushed ref of one repository.

    ``ref`` is the short name (``main``, ``v1.2.0``); ``changed_paths`` is ``None`` when
    the payload does not list the changed files (then every matching app refreshes).
    """

    repo_urls: tuple[str, ...]
    ref: str
    is_tag: bool = False
    default_branch: str = ""
    revision: str = ""
    changed_paths: tuple[str, ...] | None = None


def short_ref(ref: str) -> tuple[str, bool]:
    """``refs/heads/main`` → ``("main", False)``; ``refs/tags/v1`` → ``("v1", True)``."""
    if ref.startswith("refs/heads/"):
        return ref.removeprefix("refs/heads/"), False
    if ref.startswith("refs/tags/"):
        return ref.removeprefix("refs/tags/"), True
    return ref, False


def files_of_commits(commits: Any) -> tuple[str, ...]:
    """The files added, modified or removed by a list of GitHub-style commits."""
    paths: set[str] = set()
    for commit in commits if isinstance(commits, list) else []:
        if isinstance(commit, Mapping):
            for key in ("added", "modified", "removed"):
                paths.update(str(p) for p in commit.get(key) or [] if isinstance(p, str))
    return tuple(sorted(paths))


def _normalized(url: str) -> str:
    try:
        return normalize_url(url)
    except InvalidRepositoryURL:
        return ""


def _revision_matches(target: str, push: Push) -> bool:
    """Branch or tag name, ``HEAD`` (the default branch), or a semver constraint over tags."""
    target = target.strip()
    if target in ("", "HEAD"):
        return not push.is_tag and bool(push.default_branch) and push.ref == push.default_branch
    short, _ = short_ref(target)
    if short == push.ref:
        return True
    if push.is_tag and (constraint := parse_constraint(target)) is not None:
        version = parse_version(push.ref)
        return version is not None and constraint.matches(version)
    return False


def _paths_match(annotation: str, source_path: str, changed: tuple[str, ...]) -> bool:
    """Argo CD's ``manifest-generate-paths``: ``;``-separated, relative to the source path."""
    for entry in (p.strip() for p in annotation.split(";")):
        if not entry:
            continue
        if entry.startswith("/"):
            base = posixpath.normpath(entry.lstrip("/")) if entry != "/" else ""
        else:
            base = posixpath.normpath(posixpath.join(source_path or ".", entry))
        base = "" if base == "." else base
        for path in changed:
            if not base or path == base or path.startswith(base + "/"):
                return True
    return False


def concerns(app: Mapping[str, Any], push: Push) -> bool:
    """Whether a push concerns an Application (its repo, its revision, its paths)."""
    spec = app.get("spec") or {}
    sources = [spec["source"]] if spec.get("source") else list(spec.get("sources") or [])
    pushed = {_normalized(u) for u in push.repo_urls} - {""}
    annotation = ((app.get("metadata") or {}).get("annotations") or {}).get(
        keys.MANIFEST_GENERATE_PATHS, ""
    )
    for source in sources:
        if not isinstance(source, Mapping) or source.get("chart"):
            continue
        if _normalized(str(source.get("repoURL", ""))) not in pushed:
            continue
        if not _revision_matches(str(source.get("targetRevision", "")), push):
            continue
        if (
            annotation
            and push.changed_paths is not None
            and not _paths_match(annotation, str(source.get("path", "")), push.changed_paths)
        ):
            continue
        return True
    return False


def check_hmac_sha256(secret: str, body: bytes, signature: str, provider: str) -> None:
    """Raise :class:`WebhookUnauthorized` unless ``signature`` (hex) is the body's HMAC-SHA256."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
        raise WebhookUnauthorized(f"{provider} webhook signature does not match")


def check_token(expected: str, given: str, provider: str) -> None:
    """Raise :class:`WebhookUnauthorized` unless ``given`` equals ``expected`` (constant time)."""
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookUnauthorized(f"{provider} webhook token does not match")
