"""The generic cluster client: any verb on any kind, objects as plain mappings.

tether handles objects of every kind, known in advance or not, and compares, hashes
and stores them as JSON-shaped mappings. So :class:`KubeClient` speaks REST directly
over :class:`~tether.kube.transport.Transport` (TLS and credentials set up from the
kubeconfig lightkube reads), resolving paths through :mod:`discovery`, instead of going
through lightkube's typed models. Every call is throttled, and every failure is a
:class:`~tether.kube.errors.KubeError`. An optional :data:`RequestObserver`, given at
construction, sees each request as a :class:`RequestRecord` (verb, kind, namespace,
status code, dry run): the controller counts requests per application with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import orjson

from tether.kube.config import ClusterConfig
from tether.kube.discovery import ApiResource, Discovery
from tether.kube.errors import KubeError, Unavailable, error_from_status
from tether.kube.throttle import Throttle
from tether.kube.transport import Response, Transport
from tether.model import keys

log = logging.getLogger(__name__)

PatchType = Literal["json", "merge", "strategic", "apply"]
PropagationPolicy = Literal["Foreground", "Background", "Orphan"]

#: How often a request is sent again when the server answers 429 or 5xx with a
#: ``Retry-After`` header, as client-go does; the wait is the header's, at most
#: :data:`MAX_RETRY_AFTER` seconds.
MAX_SERVER_RETRIES = 10
MAX_RETRY_AFTER = 10.0

_PATCH_CONTENT_TYPES: dict[str, str] = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


@dataclass(frozen=True, slots=True)
class ObjectList:
    """The items of a list call and the collection's resourceVersion to watch from."""

    items: list[dict[str, Any]]
    resource_version: str


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: ``ADDED``, ``MODIFIED``, ``DELETED`` or ``BOOKMARK``."""

    type: str
    object: dict[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request a :class:`KubeClient` made, as a request observer sees it.

    ``verb`` is the Kubernetes API verb (``get``, ``list``, ``create``, ``update``,
    ``patch``, ``delete``); ``kind`` and ``namespace`` are empty where the request
    concerns none (discovery, ``/version``, cluster-scoped kinds); ``status_code`` is 0
    when no response arrived (connection refused, timeout).
    """

    verb: str
    kind: str
    namespace: str
    status_code: int
    dry_run: bool


#: Called after each request with what it was; must be cheap and must not raise.
RequestObserver = Callable[[RequestRecord], None]

_API_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def describe(kind: str, namespace: str | None, name: str | None) -> str:
    """``kind/namespace/name`` (or ``kind/name``) for messages."""
    return "/".join(part for part in (kind, namespace, name) if part)


def describe_object(obj: Mapping[str, Any]) -> str:
    """``kind/namespace/name`` of an object mapping."""
    metadata = obj.get("metadata") or {}
    return describe(str(obj.get("kind", "")), metadata.get("namespace"), metadata.get("name"))


class KubeClient:
    """An async client for one cluster; use as an async context manager or call :meth:`close`."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        throttle: Throttle | None = None,
        timeout: float = 30.0,
        observer: RequestObserver | None = None,
    ) -> None:
        """A client of ``config``'s cluster; ``observer`` sees every request (not watches)."""
        self.config = config
        self.throttle = throttle or Throttle()
        self._observer = observer
        self._transport = Transport(
            config.single, timeout=timeout, max_connections=self.throttle.max_in_flight
        )
        self.discovery = Discovery(self._discover)

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._transport.close()

    # --- plumbing ----------------------------------------------------------------

    async def _discover(self, path: str, headers: Mapping[str, str]) -> Any:
        return await self._request("GET", path, verb="discover", target=path, headers=headers)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        target: str,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str = "",
        namespace: str | None = None,
        dry_run: bool = False,
    ) -> Any:
        query = _query(params)
        for attempt in range(MAX_SERVER_RETRIES + 1):
            async with self.throttle.slot():
                try:
                    response = await self._transport.request(
                        method, path, params=query, body=body, headers=headers
                    )
                except (aiohttp.ClientError, TimeoutError) as error:
                    self._observe(method, verb, kind, namespace, 0, dry_run)
                    raise Unavailable(verb, target, _transport_cause(error)) from error
            self._observe(method, verb, kind, namespace, response.status, dry_run)
            wait = response.retry_after
            if wait is None or attempt == MAX_SERVER_RETRIES:
                break
            if response.status != 429 and response.status < 500:
                break
            # The server asked for the request again after a pause (429 from API priority
            # and fairness, a 5xx while it starts or stops) and did not act on this one.
            log.debug("%s %s: the server answered %s; retrying", verb, target, response.status)
            await asyncio.sleep(min(wait, MAX_RETRY_AFTER))
        if response.status >= 400:
            raise error_from_status(verb, target, response.status, _json_or_none(response))
        try:
            return orjson.loads(response.body)
        except orjson.JSONDecodeError as error:
            raise KubeError(verb, target, "the server answered with invalid JSON") from error

    def _observe(
        self,
        method: str,
        verb: str,
        kind: str,
        namespace: str | None,
        status: int,
        dry_run: bool,
    ) -> None:
        if self._observer is None:
            return
        api_verb = _API_VERBS.get(method) or ("list" if verb == "list" else "get")
        self._observer(RequestRecord(api_verb, kind, namespace or "", status, dry_run))

    async def _resource_of(self, obj: Mapping[str, Any]) -> ApiResource:
        return await self.discovery.resolve(
            str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        )

    # --- verbs -------------------------------------------------------------------

    async def version(self) -> dict[str, Any]:
        """The server's ``/version`` document."""
        result: dict[str, Any] = await self._request(
            "GET", "/version", verb="get", target="version"
        )
        return result

    async def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        """Read one object."""
        resource = await self.discovery.resolve(api_version, kind)
        result: dict[str, Any] = await self._request(
            "GET",
            resource.path(namespace, quote(name, safe="")),
            verb="get",
            target=describe(kind, namespace, name),
            kind=kind,
            namespace=namespace,
        )
        return result

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
    ) -> ObjectList:
        """Read every matching object, following ``continue`` tokens page by page."""
        resource = await self.discovery.resolve(api_version, kind)
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = await self._request(
                "GET",
                resource.path(namespace),
                verb="list",
                target=describe(kind, namespace, None),
                params={
                    "labelSelector": label_selector,
                    "fieldSelector": field_selector,
                    "limit": page_size,
                    "continue": token,
                },
                kind=kind,
                namespace=namespace,
            )
            for item in page.get("items") or []:
                # Items of a list omit apiVersion and kind; put them back so each item
                # stands on its own.
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", kind)
                items.append(item)
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                return ObjectList(items, str(metadata.get("resourceVersion", "")))

    async def watch(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        resource_version: str = "",
        label_selector: str | None = None,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Stream changes after ``resource_version`` until the server ends the watch.

        An ``ERROR`` event raises the matching error (:class:`~tether.kube.errors.Gone`
        when the version is too old: relist, then watch again).
        """
        resource = await self.discovery.resolve(api_version, kind)
        target = describe(kind, namespace, None)
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "labelSelector": label_selector,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if bookmarks else None,
        }
        try:
            async for item in self._transport.stream_lines(
                resource.path(namespace), params=_query(params), read_timeout=timeout_seconds + 30.0
            ):
                if isinstance(item, Response):
                    raise error_from_status("watch", target, item.status, _json_or_none(item))
                event = orjson.loads(item)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise error_from_status("watch", target, int(status.get("code", 500)), status)
                yield WatchEvent(str(event.get("type")), event.get("object") or {})
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Unavailable("watch", target, _transport_cause(error)) from error

    async def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str = keys.FIELD_MANAGER,
        force: bool = True,
        dry_run: bool = False,
        validate: bool = True,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` (the whole intent of ``field_manager`` for it)."""
        params = {
            "fieldManager": field_manager,
            "force": "true" if force else None,
            "dryRun": "All" if dry_run else None,
            "fieldValidation": "Strict" if validate else "Ignore",
        }
        return await self._send_object(
            "PATCH", "apply", obj, params, _PATCH_CONTENT_TYPES["apply"], subresource=subresource
        )

    async def create(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str = keys.FIELD_MANAGER,
    ) -> dict[str, Any]:
        """Create ``obj`` (``generateName`` is honoured by the server)."""
        params = {"dryRun": "All" if dry_run else None, "fieldManager": field_manager}
        return await self._send_object("POST", "create", obj, params, named=False)

    async def replace(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str = keys.FIELD_MANAGER,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Replace ``obj`` (a PUT; a stale resourceVersion in it gives a Conflict)."""
        params = {"dryRun": "All" if dry_run else None, "fieldManager": field_manager}
        return await self._send_object("PUT", "replace", obj, params, subresource=subresource)

    async def _send_object(
        self,
        method: str,
        verb: str,
        obj: Mapping[str, Any],
        params: Mapping[str, Any],
        content_type: str = "application/json",
        *,
        named: bool = True,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Write a whole object: to its own path (``named``) or to its collection."""
        resource = await self._resource_of(obj)
        metadata = obj.get("metadata") or {}
        name = quote(str(metadata.get("name", "")), safe="") if named else None
        result: dict[str, Any] = await self._request(
            method,
            resource.path(metadata.get("namespace"), name, subresource),
            verb=verb,
            target=describe_object(obj),
            params=params,
            body=orjson.dumps(obj),
            headers={"Content-Type": content_type},
            kind=str(obj.get("kind", "")),
            namespace=metadata.get("namespace"),
            dry_run=bool(params.get("dryRun")),
        )
        return result

    async def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        patch: Any,
        *,
        patch_type: PatchType = "merge",
        dry_run: bool = False,
        field_manager: str = keys.FIELD_MANAGER,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Patch one object with a JSON, merge, strategic-merge or apply patch."""
        resource = await self.discovery.resolve(api_version, kind)
        result: dict[str, Any] = await self._request(
            "PATCH",
            resource.path(namespace, quote(name, safe=""), subresource),
            verb="patch",
            target=describe(kind, namespace, name),
            params={"dryRun": "All" if dry_run else None, "fieldManager": field_manager},
            body=orjson.dumps(patch),
            headers={"Content-Type": _PATCH_CONTENT_TYPES[patch_type]},
            kind=kind,
            namespace=namespace,
            dry_run=dry_run,
        )
        return result

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: PropagationPolicy = "Background",
        uid: str | None = None,
        resource_version: str | None = None,
        dry_run: bool = False,
        grace_period_seconds: int | None = None,
    ) -> dict[str, Any]:
        """Delete one object; ``uid``/``resource_version`` make it conditional."""
        resource = await self.discovery.resolve(api_version, kind)
        preconditions = {
            k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v
        }
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": propagation_policy,
        }
        if preconditions:
            body["preconditions"] = preconditions
        if dry_run:
            body["dryRun"] = ["All"]
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        result: dict[str, Any] = await self._request(
            "DELETE",
            resource.path(namespace, quote(name, safe="")),
            verb="delete",
            target=describe(kind, namespace, name),
            body=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
            kind=kind,
            namespace=namespace,
            dry_run=dry_run,
        )
        return result


def _query(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as strings, leaving out the unset ones."""
    return {k: str(v) for k, v in (params or {}).items() if v not in (None, "", False)}


def _transport_cause(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _json_or_none(response: Response) -> Any:
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
