"""The ASGI application: authentication, routing and the wire format.

A lean ASGI app (no framework: per-request overhead matters at hundreds of requests a
second) that authenticates the bearer token in constant time, reads the body with the
3 MiB limit, routes discovery, health, OpenAPI and resource paths, and turns every
:class:`~tether.localcluster.errors.APIError` into its ``Status`` response. Watches are
streamed with chunked transfer, one JSON event per line.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from tether.localcluster.body import MAX_BODY
from tether.localcluster.discovery import (
    AGGREGATED_V2,
    AGGREGATED_V2BETA1,
    Discovery,
    aggregated_version,
    version_info,
)
from tether.localcluster.errors import (
    APIError,
    internal,
    method_not_allowed,
    route_not_found,
    too_large,
    unauthorized,
)
from tether.localcluster.handlers import Handlers, Request, Response, Stream
from tether.localcluster.routes import parse_resource_path

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Paths anyone may read, as the ``system:public-info-viewer`` role allows.
_PUBLIC = frozenset({"/healthz", "/livez", "/readyz", "/version"})

OpenAPIProvider = Callable[[str, str], "tuple[bytes, str] | None"]


class BodyTooLarge(Exception):
    """The request body is over the limit."""


class APIApp:
    """The Kubernetes API over ASGI."""

    def __init__(
        self,
        handlers: Handlers,
        discovery: Discovery,
        token: str,
        address: Callable[[], str],
        openapi: OpenAPIProvider | None = None,
    ) -> None:
        """Serve ``handlers`` to clients presenting ``token``.

        ``address`` gives ``host:port`` for ``/api``; ``openapi(path, accept)`` serves the
        OpenAPI documents and returns ``None`` for paths it does not know.
        """
        self._handlers = handlers
        self._discovery = discovery
        self._auth = f"Bearer {token}".encode()
        self._address = address
        self._openapi = openapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            response = await self._respond(scope, receive)
        except APIError as error:
            response = Response(error.code, orjson.dumps(error.status()))
        except BodyTooLarge:
            response = Response(413, orjson.dumps(too_large().status()))
        except Exception as error:  # the boundary: any bug becomes a 500 Status
            log.exception("failed to serve %s %s", scope.get("method"), scope.get("path"))
            failure = internal(type(error).__name__)
            response = Response(failure.code, orjson.dumps(failure.status()))
        await _send(send, receive, response)

    async def _respond(self, scope: Scope, receive: Receive) -> Response | Stream:
        path: str = scope["path"]
        # ASGI servers hand header names over lower-cased (the specification requires it).
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if path not in _PUBLIC and not hmac.compare_digest(
            headers.get("authorization", "").encode(), self._auth
        ):
            raise unauthorized()
        method: str = scope["method"]
        body = await _read_body(receive) if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        query = dict(_query_pairs(scope["query_string"]))
        request = Request(method, query, headers, body)
        segments = [unquote(s) for s in path.strip("/").split("/")] if path != "/" else []
        resource = parse_resource_path(segments)
        if resource is not None:
            return await self._handlers.handle(request, resource)
        if method != "GET":
            raise method_not_allowed(method.lower())
        return self._fixed(path, segments, headers.get("accept", ""))

    def _fixed(self, path: str, segments: list[str], accept: str) -> Response:
        """Health, version, discovery and OpenAPI."""
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return Response(200, orjson.dumps(version_info()))
        if segments and segments[0] in ("api", "apis") and len(segments) <= 3:
            found = self._discovery_document(segments, accept)
            if found is not None:
                return found
        if segments and segments[0] == "openapi" and self._openapi is not None:
            served = self._openapi(path, accept)
            if served is not None:
                return Response(200, served[0], served[1])
        raise route_not_found()

    def _discovery_document(self, segments: list[str], accept: str) -> Response | None:
        if len(segments) == 1:
            version = aggregated_version(accept)
            core = segments[0] == "api"
            if version is not None:
                ctype = AGGREGATED_V2 if version == "v2" else AGGREGATED_V2BETA1
                return Response(200, self._discovery.aggregated(core, version), ctype)
            body = (
                self._discovery.api_versions(self._address())
                if core
                else self._discovery.group_list()
            )
            return Response(200, body)
        if segments[0] == "api":
            doc = self._discovery.resource_list("", segments[1]) if len(segments) == 2 else None
        elif len(segments) == 2:
            doc = self._discovery.group(segments[1])
        else:
            doc = self._discovery.resource_list(segments[1], segments[2])
        return Response(200, doc) if doc is not None else None


def _query_pairs(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The parameters of a query string (clients repeat a few short ones: those are cached)."""
    if len(raw) > _CACHED_QUERY_LENGTH:
        return tuple(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    return _short_query_pairs(raw)


_CACHED_QUERY_LENGTH = 256


@functools.lru_cache(maxsize=512)
def _short_query_pairs(raw: bytes) -> tuple[tuple[str, str], ...]:
    return tuple(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send(send: Send, receive: Receive, response: Response | Stream) -> None:
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"cache-control", b"no-cache, private"),
    ]
    headers += [(k.encode(), v.encode()) for k, v in response.headers]
    if isinstance(response, Response):
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    # A server does not learn of a vanished client by writing to it (the ASGI server
    # drops such writes), so listen for the disconnect and end the stream then.
    listener = asyncio.get_running_loop().create_task(_on_disconnect(receive, response.stop))
    try:
        async for chunk in response.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    except OSError:
        return
    finally:
        listener.cancel()
        await response.chunks.aclose()  # type: ignore[attr-defined]


async def _on_disconnect(receive: Receive, stop: Callable[[], None]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    stop()


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
