"""Fixtures: a loopback HTTP receiver, an SMTP sink and a namespace with tether installed."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiosmtpd.smtp import SMTP

from tether.controller import install
from tether.kube import KubeClient, NotFound, load_kubeconfig

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "notifications"
_namespaces = itertools.count()


def load(name: str) -> dict[str, Any]:
    """One YAML fixture of ``testdata/notifications``."""
    loaded: dict[str, Any] = yaml.safe_load((TESTDATA / name).read_text())
    return loaded


@dataclass(frozen=True)
class Request:
    """One request the receiver took."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 recording requests; ``failures[path]`` answers 503 first."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(
            Request(
                request.method,
                request.path,
                dict(request.headers),
                body,
                asyncio.get_running_loop().time(),
            )
        )
        if self.failures.get(request.path, 0) > 0:
            self.failures[request.path] -= 1
            return web.Response(status=503, text="receiver unavailable")
        return web.Response(text="ok")

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


@dataclass
class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 keeping every message."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 OK"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorder = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recorder.url = f"http://127.0.0.1:{port}"
    try:
        yield recorder
    finally:
        await runner.cleanup()


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    # aiosmtpd's server protocol on the test's own loop, on a port the OS picks.
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="127.0.0.1"), "127.0.0.1", 0
    )
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class Cluster:
    """A client and a fresh control namespace with tether's CRDs and default project."""

    client: KubeClient
    namespace: str

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["namespace"] = self.namespace
        return await self.client.create(obj)

    async def patch_app(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        return await self.client.patch(
            "argoproj.io/v1alpha1", "Application", name, self.namespace, patch
        )

    async def events(self, name: str) -> list[dict[str, Any]]:
        listed = await self.client.list("v1", "Event", self.namespace)
        return [e for e in listed.items if e["involvedObject"]["name"] == name]

    async def app(self, name: str) -> dict[str, Any] | None:
        try:
            return await self.client.get(
                "argoproj.io/v1alpha1", "Application", name, self.namespace
            )
        except NotFound:
            return None


@pytest.fixture
async def cluster(local_cluster_session: Any) -> AsyncIterator[Cluster]:
    namespace = f"notify-{next(_namespaces)}"
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as client:
        async with asyncio.timeout(30):
            await install(client, namespace)
        yield Cluster(client, namespace)


@pytest.fixture
async def configured(cluster: Cluster, receiver: Receiver, smtp_sink: SmtpSink) -> Cluster:
    """:func:`cluster` with the notification ConfigMap and Secret pointing at the receivers."""
    secret = load("secret-services.yaml")
    secret["stringData"] |= {"receiver-url": receiver.url, "smtp-port": str(smtp_sink.port)}
    await cluster.create(secret)
    await cluster.create(load("configmap-services.yaml"))
    return cluster


async def eventually(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy, bounded."""
    last: Any = None
    try:
        async with asyncio.timeout(seconds):
            while True:
                result = check()
                last = await result if asyncio.iscoroutine(result) else result
                if last:
                    return last
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"condition never held; last: {last!r}") from None
