"""Shared request checks, filters and orders for the resource routes.

Names from paths and bodies are checked against Kubernetes' rules before they reach
the cluster client, so a hostile name (``../``, control characters, oversized) is a
clear 400 rather than a surprising path. Application filters (:class:`AppFilter`) and
orders (:class:`SortBy`) work on the raw objects of the watch cache: no parsing per item
on the list path.

Orders. Every order ends with the name, so it is total and a page boundary is exact.
``-`` before a field reverses that field (the name that breaks ties stays ascending,
except for ``-name`` itself). Health and sync order worst first (Degraded, Missing,
Unknown, Progressing, Suspended, Healthy; OutOfSync, Unknown, Synced), so ``health``
puts what needs attention on the first page. ``syncedAt`` is the last operation's
``finishedAt``; apps that never finished one sort as the oldest, among themselves by
``status.reconciledAt``, so ``-syncedAt`` (most recent first) shows them last.

Continue tokens. A page's ``continue`` token is opaque to clients: base64 of the order
and the sort values of the page's last item. The next page starts right after that
position in the current order, so apps added, removed or re-sorted between two
requests neither repeat nor shift the rest; a token is refused (400) by a request for
another order.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from tether.model import Application, SpecError
from tether.server.errors import BadInput
from tether.server.tree import IN_CLUSTER_NAME, IN_CLUSTER_SERVER
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


def _any_labels(_: Mapping[str, str]) -> bool:
    return True


def _destination_ids(destination: Mapping[str, Any]) -> set[str]:
    """The server URL and name of a destination; the in-cluster one answers to both."""
    server = str(destination.get("server") or "").rstrip("/")
    name = str(destination.get("name") or "")
    if server == IN_CLUSTER_SERVER and not name:
        name = IN_CLUSTER_NAME
    if name == IN_CLUSTER_NAME and not server:
        server = IN_CLUSTER_SERVER
    return {server, name} - {""}


def auto_sync_enabled(spec: Mapping[str, Any]) -> bool:
    """Whether ``spec.syncPolicy.automated`` is present and not switched off by ``enabled``."""
    automated = (spec.get("syncPolicy") or {}).get("automated")
    return isinstance(automated, Mapping) and automated.get("enabled") is not False


@dataclass(frozen=True, slots=True)
class AppFilter:
    """The list filters of ``GET /api/v1/applications``; an empty field lets everything by.

    Sets are alternatives (an app in any of the projects passes); the fields combine
    with *and*.
    """

    projects: frozenset[str] = frozenset()
    labels_match: Callable[[Mapping[str, str]], bool] = _any_labels
    #: A repository URL, compared after normalisation (``.git``, scheme, case).
    repo: str = ""
    sync_statuses: frozenset[str] = frozenset()
    health_statuses: frozenset[str] = frozenset()
    #: Case-insensitive substring of the name.
    search: str = ""
    #: Destination cluster server URLs or names.
    dest_servers: frozenset[str] = frozenset()
    dest_namespaces: frozenset[str] = frozenset()
    #: ``True``: only apps with automated sync on; ``False``: only those with it off.
    auto_sync: bool | None = None
    _repo: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalised once per request, not once per app.
        object.__setattr__(self, "_repo", _normalized(self.repo) if self.repo else "")
        object.__setattr__(self, "search", self.search.lower())
        object.__setattr__(
            self, "dest_servers", frozenset(s.rstrip("/") for s in self.dest_servers)
        )

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether an Application object passes every filter."""
        metadata = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        destination = spec.get("destination") or {}
        if self.projects and str(spec.get("project") or "default") not in self.projects:
            return False
        if self.search and self.search not in str(metadata.get("name", "")).lower():
            return False
        if not self.labels_match(metadata.get("labels") or {}):
            return False
        sync = str((status.get("sync") or {}).get("status", ""))
        if self.sync_statuses and sync not in self.sync_statuses:
            return False
        health = str((status.get("health") or {}).get("status", ""))
        if self.health_statuses and health not in self.health_statuses:
            return False
        if self.dest_servers and not self.dest_servers & _destination_ids(destination):
            return False
        namespace = str(destination.get("namespace") or "")
        if self.dest_namespaces and namespace not in self.dest_namespaces:
            return False
        if self.auto_sync is not None and auto_sync_enabled(spec) is not self.auto_sync:
            return False
        return not self._repo or any(_normalized(r) == self._repo for r in _repos(spec))


class SortBy(StrEnum):
    """The orders of ``GET /api/v1/applications`` (``sortBy``); ``-`` reverses the field."""

    NAME = "name"
    NAME_DESC = "-name"
    CREATED_AT = "createdAt"
    CREATED_AT_DESC = "-createdAt"
    SYNCED_AT = "syncedAt"
    SYNCED_AT_DESC = "-syncedAt"
    HEALTH = "health"
    HEALTH_DESC = "-health"
    SYNC = "sync"
    SYNC_DESC = "-sync"

    @property
    def descending(self) -> bool:
        """Whether the field is reversed."""
        return self.value.startswith("-")

    @property
    def field(self) -> str:
        """The field ordered by, without the direction."""
        return self.value.removeprefix("-")

    @property
    def width(self) -> int:
        """How many values (:func:`sort_values`) place an app in this order."""
        return _WIDTHS.get(self.field, 1)


_WIDTHS = {"createdAt": 2, "syncedAt": 3, "health": 2, "sync": 2}


#: Health, worst first: what needs attention sorts to the top.
HEALTH_ORDER = ("Degraded", "Missing", "Unknown", "Progressing", "Suspended", "Healthy")
#: Sync status, worst first.
SYNC_ORDER = ("OutOfSync", "Unknown", "Synced")
_HEALTH_RANK = {status: rank for rank, status in enumerate(HEALTH_ORDER)}
_SYNC_RANK = {status: rank for rank, status in enumerate(SYNC_ORDER)}


def sort_values(obj: Mapping[str, Any], sort: SortBy) -> tuple[str, ...]:
    """What ``sort`` orders ``obj`` by, as strings, the name last (a token carries these)."""
    metadata = obj.get("metadata") or {}
    status = obj.get("status") or {}
    name = str(metadata.get("name", ""))
    match sort.field:
        case "createdAt":
            return str(metadata.get("creationTimestamp") or ""), name
        case "syncedAt":
            finished = (status.get("operationState") or {}).get("finishedAt")
            return str(finished or ""), str(status.get("reconciledAt") or ""), name
        case "health":
            return str((status.get("health") or {}).get("status") or "Unknown"), name
        case "sync":
            return str((status.get("sync") or {}).get("status") or "Unknown"), name
        case _:
            return (name,)


@dataclass(frozen=True, slots=True)
class _Reversed:
    """A value that compares the other way round (reverses one field of a tuple key)."""

    value: Any

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)


def sort_key(values: tuple[str, ...], sort: SortBy) -> tuple[Any, ...]:
    """The ascending key of an item with ``values`` (from :func:`sort_values`) in ``sort``."""
    *fields, name = values
    ranked: list[Any] = list(fields)
    if sort.field == "health":
        ranked = [_HEALTH_RANK.get(fields[0], _HEALTH_RANK["Unknown"])]
    elif sort.field == "sync":
        ranked = [_SYNC_RANK.get(fields[0], _SYNC_RANK["Unknown"])]
    if not sort.descending:
        return (*ranked, name)
    if not ranked:
        return (_Reversed(name),)
    return (*(_Reversed(v) for v in ranked), name)


def object_sort_key(sort: SortBy) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The key function that orders Application objects by ``sort``."""
    return lambda obj: sort_key(sort_values(obj, sort), sort)


def encode_continue(obj: Mapping[str, Any], sort: SortBy) -> str:
    """The continue token for the page that ends with ``obj`` in ``sort``."""
    raw = orjson.dumps([sort.value, *sort_values(obj, sort)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str, sort: SortBy) -> tuple[Any, ...] | None:
    """The key of the last item before the page ``token`` asks for (``None``: first page).

    :class:`BadInput` when the token is malformed or was issued for another order.
    """
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4))
        decoded = orjson.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise BadInput("invalid continue token") from error
    if (
        not isinstance(decoded, list)
        or not decoded
        or not all(isinstance(item, str) for item in decoded)
    ):
        raise BadInput("invalid continue token")
    issued, *values = decoded
    if issued != sort.value:
        raise BadInput(
            f"the continue token was issued for sortBy={issued[:20]}, not sortBy={sort.value}"
        )
    if len(values) != sort.width:
        raise BadInput("invalid continue token")
    return sort_key(tuple(values), sort)
