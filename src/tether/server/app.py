"""The application factory: one FastAPI app serving the API, webhooks, metrics and SSE.

``create_app(client, namespace, clock)`` wires the collaborators (settings store,
authenticator, auditor, watch cache, cluster inspector) and returns the app. Startup
(the lifespan) creates the signing key and admin password on first start and fills the
Application cache; shutdown stops the watches. The interactive docs pages, which load
assets from CDNs, are disabled; the OpenAPI document is served at ``/api/openapi.json``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from tether import __version__
from tether.kube import KubeClient, KubeError
from tether.server.accounts import bootstrap
from tether.server.appcache import ApplicationCache
from tether.server.audit import Auditor
from tether.server.auth import Authenticator
from tether.server.clock import Clock, system_clock
from tether.server.context import MAX_BODY, ServerContext
from tether.server.errors import ApiError, BadInput, PayloadTooLarge, from_kube_error
from tether.server.events import router as events_router
from tether.server.interfaces import (
    DestinationClients,
    ManagedResources,
    ManifestSource,
    PushHook,
    ResourceTree,
)
from tether.server.metrics import AppMetrics, metrics_router
from tether.server.ratelimit import LoginLimiter
from tether.server.responses import OrjsonResponse
from tether.server.routes import (
    account,
    app_operations,
    app_resources,
    applications,
    applicationsets,
    clusters,
    projects,
    repositories,
    session,
    settings,
    version,
)
from tether.server.store import SettingsStore
from tether.server.tree import ClusterInspector, in_cluster_only
from tether.server.ui import mount_ui
from tether.server.webhooks.dispatch import MAX_WEBHOOK_BODY
from tether.server.webhooks.dispatch import router as webhook_router

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse bodies over the limit with 413, by ``Content-Length`` or while streaming.

    Webhook payloads may be up to 50 MB (Argo CD's default); API bodies up to
    :data:`MAX_BODY`. Nothing of a refused body is kept.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, stopping it with 413 once its body passes the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = MAX_WEBHOOK_BODY if scope["path"].startswith("/api/webhook") else MAX_BODY
        error = PayloadTooLarge(f"request body larger than {limit} bytes")
        for name, value in scope.get("headers") or []:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_error(send, error)
                return
        received = 0
        refused = started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now, then tell the app the client left: it stops reading,
                    # and whatever it answers is dropped (the 413 already went out).
                    refused = True
                    if not started:
                        await _send_error(send, error)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if not refused:
                started = True
                await send(message)

        await self.app(scope, limited_receive, guarded_send)


async def _send_error(send: Send, error: ApiError) -> None:
    body = orjson.dumps(error.body())
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _error_response(error: ApiError) -> JSONResponse:
    return OrjsonResponse(error.body(), status_code=error.status, headers=error.headers)


def create_app(
    client: KubeClient,
    namespace: str = "argocd",
    clock: Clock = system_clock,
    *,
    manifests: ManifestSource | None = None,
    destinations: DestinationClients | None = None,
    on_push: PushHook | None = None,
    registry: CollectorRegistry | None = None,
    resource_tree: ResourceTree | None = None,
    managed_resources: ManagedResources | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    settings_ttl: float = 2.0,
    refresh_timeout: float = 10.0,
) -> FastAPI:
    """Build the server for the control ``namespace`` of the cluster behind ``client``.

    ``manifests`` renders apps (the controller's; without it ``/manifests`` answers 501
    and managed resources carry no ``targetState``); ``destinations`` gives the client
    of an app's destination cluster (default: only the in-cluster destination);
    ``on_push`` is called for each accepted webhook push; ``registry`` receives the
    server's metrics and may carry the controller's too. ``resource_tree`` and
    ``managed_resources`` replace the answers built from the cluster alone (for
    example with the controller's live cache and diffs). ``refresh_timeout`` bounds how
    long a ``?refresh=`` read waits for the controller to finish the refresh.
    """
    store = SettingsStore(client, namespace, monotonic=monotonic, ttl=settings_ttl)
    inspector = ClusterInspector(destinations or in_cluster_only(client), manifests)
    apps = ApplicationCache(client, namespace)
    context = ServerContext(
        client=client,
        namespace=namespace,
        clock=clock,
        store=store,
        authenticator=Authenticator(client, store, clock, LoginLimiter(monotonic)),
        auditor=Auditor(client, namespace, clock),
        apps=apps,
        inspector=inspector,
        tree=resource_tree or inspector,
        managed=managed_resources or inspector,
        manifests=manifests,
        on_push=on_push,
        monotonic=monotonic,
        refresh_timeout=refresh_timeout,
    )
    registry = registry if registry is not None else CollectorRegistry()
    app_metrics = AppMetrics(context, registry)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await bootstrap(store, clock)
        await apps.start()
        try:
            yield
        finally:
            await apps.close()

    app = FastAPI(
        title="tether API",
        version=__version__,
        description="tether's REST API, shaped like Argo CD's.",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
    )
    app.state.context = context
    app.state.metrics = app_metrics
    app.state.registry = registry

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(KubeError)
    async def _kube_error(_: Request, error: KubeError) -> JSONResponse:
        return _error_response(from_kube_error(error))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors()[:5]:
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
        return _error_response(BadInput("invalid request: " + "; ".join(problems)))

    for module in (
        session,
        account,
        applications,
        app_operations,
        app_resources,
        applicationsets,
        projects,
        repositories,
        clusters,
        settings,
    ):
        app.include_router(module.router)
    app.include_router(version.router)
    app.include_router(events_router)
    app.include_router(webhook_router)
    app.include_router(metrics_router)
    mount_ui(app)  # last: its fallback route answers every other GET
    app.add_middleware(BodyLimit)
    return app
