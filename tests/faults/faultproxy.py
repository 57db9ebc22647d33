"""A fault-injecting HTTPS proxy in front of a Kubernetes API server, on loopback.

:class:`FaultProxy` listens on ``127.0.0.1`` with a certificate of its own, forwards
every request to the real server over TLS (trusting the server's CA) and streams the
answer back, watches included. Clients reach it through the kubeconfig it writes
(:attr:`FaultProxy.kubeconfig`: the proxy's address, its certificate as the CA, the
cluster's bearer token), so ``kubectl`` and :class:`~tether.kube.KubeClient` talk to it
unchanged.

What goes wrong is a :class:`~faultplan.FaultPlan` (see :mod:`faultplan`) that a test
sets and replaces while traffic flows (:meth:`FaultProxy.set_plan`,
:meth:`FaultProxy.clear`); :meth:`FaultProxy.sever_watches` drops every open watch at
once, as a restarted server would. :attr:`FaultProxy.injected` counts what each rule did
(a :class:`~faultplan.CutWatch` counts the streams it was set on);
:attr:`FaultProxy.forwarded` counts what the server answered, per verb and code.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import random
import socket
import ssl
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faultplan import CutWatch, Drop, ExpireWatch, FaultPlan, RequestInfo, Respond, Rule, classify

#: Request headers that belong to one hop, not to the request (RFC 9110 section 7.6.1),
#: plus those the proxy sets itself.
_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)
#: The ``Server`` header of answers the proxy makes up.
_PROXY_SERVER = "tether-fault-proxy"


class _WatchCut(Exception):
    """A :class:`CutWatch` limit was reached."""


# --- TLS -----------------------------------------------------------------------------


def issue_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``127.0.0.1`` (valid one day) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tether fault proxy")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "proxy.crt", folder / "proxy.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


# --- the proxy ---------------------------------------------------------------------------


class FaultProxy:
    """An HTTPS proxy on loopback in front of one API server, injecting a :class:`FaultPlan`.

    Use it as an async context manager (or :meth:`start` and :meth:`close`) inside the
    event loop of the test: it serves from that loop.
    """

    def __init__(
        self,
        upstream: str,
        upstream_ca: Path,
        token: str,
        folder: Path,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.folder = folder
        self.rng = rng or random.Random(0)
        self.plan = FaultPlan()
        self._fired: Counter[str] = Counter()  # per plan, for the rules' limits
        #: Injections per rule name since the proxy started.
        self.injected: Counter[str] = Counter()
        #: Answers the server gave, per ``(verb, code)``, for every forwarded request.
        self.forwarded: Counter[tuple[str, int]] = Counter()
        self._token = token
        self._upstream_ssl = ssl.create_default_context(cafile=str(upstream_ca))
        self._cert, self._key = issue_certificate(folder)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._watches: set[asyncio.Task[Any]] = set()
        self._watches_changed = asyncio.Event()
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The proxy's base URL."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> Path:
        """The proxy's certificate, which clients trust as the CA."""
        return self._cert

    @property
    def kubeconfig(self) -> Path:
        """A kubeconfig (context ``fault-proxy``) that reaches the cluster through the proxy."""
        return self.folder / "kubeconfig"

    async def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1 and write the kubeconfig."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._upstream_ssl, limit=0),
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, connect=10),
        )
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert, self._key)
        await web.SockSite(self._runner, sock, ssl_context=context).start()
        self._write_kubeconfig()
        return self

    async def close(self) -> None:
        """Stop serving, ending every open watch."""
        self.sever_watches()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "fault-proxy",
            "clusters": [
                {
                    "name": "fault-proxy",
                    "cluster": {"server": self.url, "certificate-authority": str(self._cert)},
                }
            ],
            "users": [{"name": "fault-proxy", "user": {"token": self._token}}],
            "contexts": [
                {
                    "name": "fault-proxy",
                    "context": {"cluster": "fault-proxy", "user": "fault-proxy"},
                }
            ],
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    # --- the plan ----------------------------------------------------------------

    def set_plan(self, *rules: Rule) -> None:
        """Put ``rules`` in force for every request from now on (open watches keep theirs).

        Their limits count from now: a rule of an earlier plan that fired is fresh again.
        """
        self.plan = FaultPlan(tuple(rules))
        self._fired = Counter()

    def clear(self) -> None:
        """Forward everything untouched from now on."""
        self.set_plan()

    def sever_watches(self) -> int:
        """Drop every open watch connection now (a restarted server); returns how many."""
        tasks = list(self._watches)
        for task in tasks:
            task.cancel()
        return len(tasks)

    @property
    def open_watches(self) -> int:
        """How many watch streams are being forwarded now."""
        return len(self._watches)

    async def wait_watches(self, count: int) -> None:
        """Wait until at least ``count`` watches are open (bound it with a timeout)."""
        while len(self._watches) < count:
            self._watches_changed.clear()
            await self._watches_changed.wait()

    # --- serving -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        info = classify(
            request.method,
            request.path,
            {k: v for k, v in request.query.items()},
            request.headers.get("Content-Type", ""),
        )
        decision = self.plan.decide(info, self.rng, self._fired)
        self._fired.update(decision.fired)
        self.injected.update(decision.fired)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        answer = decision.answer
        if isinstance(answer, ExpireWatch):
            return await self._expire(request, info)
        if answer is not None and not answer.forward_first:
            return self._fail(request, info, answer)
        body = await request.read()
        try:
            return await self._forward(request, info, body, decision.cut, answer)
        except ConnectionResetError:
            _hang_up(request)  # the client went away (it timed out or gave up) meanwhile

    def _fail(
        self, request: web.Request, info: RequestInfo, answer: Respond | Drop
    ) -> web.Response:
        if isinstance(answer, Drop):
            _hang_up(request)
        headers = {"Content-Type": "application/json", "Server": _PROXY_SERVER}
        if answer.retry_after is not None:
            headers["Retry-After"] = str(answer.retry_after)
        return web.Response(
            status=answer.code, body=json.dumps(answer.status(info)).encode(), headers=headers
        )

    async def _expire(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        version = info.query.get("resourceVersion", "")
        event = {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {version}",
                "reason": "Expired",
                "code": 410,
            },
        }
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Server": _PROXY_SERVER}
        )
        await response.prepare(request)
        await response.write(json.dumps(event).encode() + b"\n")
        await response.write_eof()
        return response

    async def _forward(
        self,
        request: web.Request,
        info: RequestInfo,
        body: bytes,
        cut: CutWatch | None,
        answer: Respond | Drop | None = None,
    ) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        headers["Accept-Encoding"] = "identity"
        try:
            upstream = await self._session.request(
                request.method,
                self.upstream + request.path_qs,
                headers=headers,
                data=body or None,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, OSError):
            _hang_up(request)  # the server is gone: so is the client's connection
        async with upstream:
            self.forwarded[(info.verb, upstream.status)] += 1
            if answer is not None:
                await upstream.read()  # the server did the work; its answer is lost
                return self._fail(request, info, answer)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in upstream.headers.items():
                if name.lower() not in _HOP_HEADERS:
                    response.headers.add(name, value)
            if info.verb != "watch" or upstream.status >= 300:
                payload = await upstream.read()
                response.content_length = len(payload)
                await response.prepare(request)
                await response.write(payload)
                await response.write_eof()
                return response
            await response.prepare(request)
            # Open from here on: severing drops the stream the client already reads.
            task = asyncio.current_task()
            assert task is not None
            self._watches.add(task)
            self._watches_changed.set()
            try:
                await self._stream_watch(request, upstream, response, cut)
            except asyncio.CancelledError:
                _abort(request)
                raise
            finally:
                self._watches.discard(task)
                self._watches_changed.set()
            return response

    async def _stream_watch(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        response: web.StreamResponse,
        cut: CutWatch | None,
    ) -> None:
        """Forward whole events (lines) as they arrive, until the stream or ``cut`` ends it."""
        events = 0
        pending = b""
        limit = cut.events if cut is not None else None
        seconds = cut.seconds if cut is not None else None
        try:
            async with asyncio.timeout(seconds):
                async for chunk in upstream.content.iter_any():
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        await response.write(line + b"\n")
                        events += 1
                        if limit is not None and events >= limit:
                            raise _WatchCut
        except (TimeoutError, _WatchCut):
            if cut is not None and cut.abort:
                _abort(request)
                return
        except (aiohttp.ClientError, ConnectionError):
            _abort(request)  # upstream broke: pass the breakage on
            return
        with contextlib.suppress(ConnectionError):
            await response.write_eof()


def _hang_up(request: web.Request) -> NoReturn:
    """Close the client's connection without an answer, and end the handler."""
    _abort(request)
    # aiohttp ends a handler quietly on an HTTPException; with the connection gone,
    # nothing of it is sent.
    raise web.HTTPException()


def _abort(request: web.Request) -> None:
    """Close the client's connection at once, mid-request or mid-stream."""
    transport = request.transport
    if transport is not None:
        transport.abort()
