"""Shared request checks and filters for the resource routes.

Names from paths and bodies are checked against Kubernetes' rules before they reach
the cluster client, so a hostile name (``../``, control characters, oversized) is a
clear 400 rather than a surprising path. Application filters work on the raw objects of
the watch cache: no parsing per item on the list path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tether.model import Application, SpecError
from tether.server.errors import BadInput
from tether.source import normalize_url
from tether.source.errors import InvalidRepositoryURL

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def check_name(name: str, what: str = "name") -> str:
    """``name`` when it is a valid object name (DNS subdomain); :class:`BadInput` otherwise."""
    if not _DNS_SUBDOMAIN.match(name):
        raise BadInput(f"invalid {what} {name[:80]!r}: must be a lower-case DNS subdomain")
    return name


def parse_application(data: Any, *, require_name: bool = False) -> Application:
    """An Application from a request body or the cluster; :class:`BadInput` names the field."""
    if not isinstance(data, Mapping):
        raise BadInput("the body must be a JSON object")
    try:
        app = Application.from_dict(data)
    except SpecError as error:
        raise BadInput(f"invalid application: {error}") from error
    if require_name:
        check_name(app.name, "application name")
    return app


def application_object(app: Application, namespace: str) -> dict[str, Any]:
    """The object to store for a requested app: its spec and user metadata, no status."""
    obj = app.to_dict()
    obj.pop("status", None)
    obj.pop("operation", None)
    metadata = obj["metadata"]
    obj["metadata"] = {
        k: v for k, v in metadata.items() if k in ("name", "labels", "annotations", "finalizers")
    } | {"namespace": namespace}
    return obj


def _normalized(url: str) -> str:
    try:
        return normalize_url(url)
    except InvalidRepositoryURL:
        return url


def _repos(spec: Mapping[str, Any]) -> list[str]:
    sources = [spec.get("source") or {}, *(spec.get("sources") or [])]
    return [str(s.get("repoURL", "")) for s in sources if isinstance(s, Mapping)]


def app_matches(
    obj: Mapping[str, Any],
    *,
    projects: set[str],
    labels_match: Callable[[Mapping[str, str]], bool],
    repo: str,
    sync_statuses: set[str],
    health_statuses: set[str],
    search: str,
) -> bool:
    """Whether an Application object passes the list filters."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if projects and str(spec.get("project") or "default") not in projects:
        return False
    if search and search.lower() not in str(metadata.get("name", "")).lower():
        return False
    if not labels_match(metadata.get("labels") or {}):
        return False
    if sync_statuses and str((status.get("sync") or {}).get("status", "")) not in sync_statuses:
        return False
    if (
        health_statuses
        and str((status.get("health") or {}).get("status", "")) not in health_statuses
    ):
        return False
    if repo:
        wanted = _normalized(repo)
        if all(_normalized(r) != wanted for r in _repos(spec)):
            return False
    return True
