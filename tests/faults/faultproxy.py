"""A fault-injecting HTTPS proxy in front of a Kubernetes API server, on loopback.

:class:`FaultProxy` listens on ``127.0.0.1`` with a certificate of its own, forwards
every request to the real server over TLS (trusting the server's CA) and streams the
answer back, watches included. Clients reach it through the kubeconfig it writes
(:attr:`FaultProxy.kubeconfig`: the proxy's address, its certificate as the CA, the
cluster's bearer token), so ``kubectl`` and :class:`~tether.kube.KubeClient` talk to it
unchanged.

What goes wrong is a :class:`FaultPlan`, a tuple of :class:`Rule` s that a test sets and
replaces while traffic flows (:meth:`FaultProxy.set_plan`, :meth:`FaultProxy.clear`).
A rule pairs a :class:`Match` (methods, the Kubernetes verb as the API server names it,
a path pattern, query parameters such as ``dryRun``) with a fault:

- :class:`Respond`: an error answer with a proper ``Status`` body (500, 429 with
  ``Retry-After``, 409, 503, ...), before the request reaches the server or, with
  ``forward_first``, after the server has carried it out (the write happened; its answer
  is lost);
- :class:`Drop`: the connection closes without an answer (again before or after);
- :class:`Delay`: a slow server, a fixed latency or one drawn from a range;
- :class:`CutWatch`: a watch stream that ends (cleanly, or by a dropped connection)
  after a number of events or seconds;
- :class:`ExpireWatch`: a watch that resumes from a resourceVersion is told ``410
  Gone`` (an ``ERROR`` event, as kube-apiserver sends it).

Rules are tried in order; every matching :class:`Delay` and :class:`CutWatch` applies,
and the first matching answer (:class:`Respond`, :class:`Drop`, :class:`ExpireWatch`)
ends the request. ``probability`` draws from the proxy's seeded ``random.Random``;
``limit`` caps how often a rule fires. :attr:`FaultProxy.injected` counts what each rule
did; :attr:`FaultProxy.forwarded` counts what the server answered, per verb and code.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import random
import re
import socket
import ssl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
_WRITE_VERBS = frozenset({"create", "update", "patch", "apply", "delete", "deletecollection"})
#: The ``Server`` header of answers the proxy makes up.
_PROXY_SERVER = "tether-fault-proxy"


# --- what a request is ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A request as the API server classifies it (its ``RequestInfo``)."""

    method: str
    path: str
    query: Mapping[str, str]
    #: ``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``, ``apply``,
    #: ``delete``, ``deletecollection``; ``get`` for non-resource paths (``/version``).
    verb: str
    resource: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def is_write(self) -> bool:
        """Whether the request changes (or dry-runs a change of) an object."""
        return self.verb in _WRITE_VERBS

    @property
    def resumes_watch(self) -> bool:
        """A watch from a given resourceVersion (``""`` and ``"0"`` mean "from any")."""
        return self.verb == "watch" and self.query.get("resourceVersion", "") not in ("", "0")


def classify(
    method: str, path: str, query: Mapping[str, str], content_type: str = ""
) -> RequestInfo:
    """Name the verb, resource, namespace, name and subresource of one request."""
    method = method.upper()
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        rest = parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        rest = parts[3:]
    else:
        return RequestInfo(method, path, query, "get")
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    if method == "GET":
        watching = query.get("watch") in ("true", "1")
        verb = "watch" if watching else "get" if name else "list"
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "apply" if content_type.startswith("application/apply-patch") else "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    return RequestInfo(method, path, query, verb, resource, namespace, name, subresource)


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a rule concerns; an empty field matches everything.

    ``query`` maps a parameter to a regular expression its value must match in full,
    or to ``None`` for "absent": ``{"dryRun": None}`` leaves dry runs alone.
    ``writes`` matches every write verb (create, update, patch, apply, delete).
    """

    methods: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()
    path: str = ""
    query: tuple[tuple[str, str | None], ...] = ()
    writes: bool = False

    @classmethod
    def of(
        cls,
        *,
        methods: tuple[str, ...] = (),
        verbs: tuple[str, ...] = (),
        path: str = "",
        query: Mapping[str, str | None] | None = None,
        writes: bool = False,
    ) -> Match:
        """A match from plain arguments (tuples and a mapping)."""
        return cls(
            frozenset(m.upper() for m in methods),
            frozenset(verbs),
            path,
            tuple(sorted((query or {}).items())),
            writes,
        )

    def __call__(self, info: RequestInfo) -> bool:
        if self.methods and info.method not in self.methods:
            return False
        if self.verbs and info.verb not in self.verbs:
            return False
        if self.writes and not info.is_write:
            return False
        if self.path and re.search(self.path, info.path) is None:
            return False
        for name, pattern in self.query:
            value = info.query.get(name)
            if pattern is None:
                if value is not None:
                    return False
            elif value is None or re.fullmatch(pattern, value) is None:
                return False
        return True


# --- faults ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer ``code`` with a ``Status`` body instead of the server's answer."""

    code: int
    reason: str
    message: str
    #: Seconds for ``Retry-After`` (and ``details.retryAfterSeconds``), if any.
    retry_after: int | None = None
    #: Forward the request first and replace the server's answer: the change is made.
    forward_first: bool = False

    def status(self, info: RequestInfo) -> dict[str, Any]:
        """The ``Status`` object kube-apiserver would send."""
        details: dict[str, Any] = {}
        if info.name:
            details["name"] = info.name
        if info.resource:
            details["kind"] = info.resource
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        message = self.message.format(resource=info.resource or "objects", name=info.name)
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def internal_error(*, forward_first: bool = False) -> Respond:
    """500 InternalError, as a failing storage layer answers."""
    return Respond(
        500,
        "InternalError",
        "Internal error occurred: injected fault: etcdserver: request timed out",
        forward_first=forward_first,
    )


def too_many_requests(retry_after: int | None = 1) -> Respond:
    """429 TooManyRequests with ``Retry-After``, as API priority and fairness answers."""
    return Respond(
        429,
        "TooManyRequests",
        "the server has received too many requests and has asked us to try again later",
        retry_after=retry_after,
    )


def conflict() -> Respond:
    """409 Conflict: the object was modified meanwhile (optimistic concurrency)."""
    return Respond(
        409,
        "Conflict",
        'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
    )


def service_unavailable(retry_after: int | None = None) -> Respond:
    """503 ServiceUnavailable: the API server cannot serve the request now."""
    return Respond(
        503,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
        retry_after=retry_after,
    )


@dataclass(frozen=True, slots=True)
class Drop:
    """Close the connection without an answer."""

    forward_first: bool = False


@dataclass(frozen=True, slots=True)
class Delay:
    """Wait ``low`` seconds (or a uniform draw in ``[low, high]``) before forwarding."""

    low: float
    high: float | None = None

    def draw(self, rng: random.Random) -> float:
        """The latency of one request."""
        return self.low if self.high is None else rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class CutWatch:
    """End a watch stream after ``events`` events or ``seconds`` seconds.

    ``abort`` drops the connection (a broken network, a restarted server) instead of
    ending the response cleanly (the server's own watch timeout).
    """

    events: int | None = None
    seconds: float | None = None
    abort: bool = False


@dataclass(frozen=True, slots=True)
class ExpireWatch:
    """Answer a watch resumed from a resourceVersion with ``410 Gone`` (an ERROR event)."""


Fault = Respond | Drop | Delay | CutWatch | ExpireWatch


@dataclass(frozen=True, slots=True)
class Rule:
    """Apply ``fault`` to requests ``match`` selects, with ``probability``, ``limit`` times."""

    name: str
    fault: Fault
    match: Match = field(default_factory=Match)
    probability: float = 1.0
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The rules in force; the empty plan forwards everything untouched."""

    rules: tuple[Rule, ...] = ()


class _WatchCut(Exception):
    """A :class:`CutWatch` limit was reached."""


@dataclass(slots=True)
class _Decision:
    """What the plan made of one request."""

    delay: float = 0.0
    answer: Respond | Drop | ExpireWatch | None = None
    cut: CutWatch | None = None


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
        #: Injections per rule name (``"<rule>"``) since the proxy started.
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
        """Put ``rules`` in force for every request from now on (open watches keep theirs)."""
        self.plan = FaultPlan(tuple(rules))

    def clear(self) -> None:
        """Forward everything untouched from now on."""
        self.plan = FaultPlan()

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

    def _decide(self, info: RequestInfo) -> _Decision:
        decision = _Decision()
        for rule in self.plan.rules:
            if rule.limit is not None and self.injected[rule.name] >= rule.limit:
                continue
            fault = rule.fault
            if isinstance(fault, CutWatch | ExpireWatch) and info.verb != "watch":
                continue
            if isinstance(fault, ExpireWatch) and not info.resumes_watch:
                continue
            if not rule.match(info):
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            self.injected[rule.name] += 1
            if isinstance(fault, Delay):
                decision.delay += fault.draw(self.rng)
            elif isinstance(fault, CutWatch):
                decision.cut = decision.cut or fault
            else:
                decision.answer = fault
                return decision
        return decision

    # --- serving -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        info = classify(
            request.method,
            request.path,
            {k: v for k, v in request.query.items()},
            request.headers.get("Content-Type", ""),
        )
        decision = self._decide(info)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        answer = decision.answer
        if isinstance(answer, ExpireWatch):
            return await self._expire(request, info)
        if answer is not None and not answer.forward_first:
            return self._fail(request, info, answer)
        body = await request.read()
        return await self._forward(request, info, body, decision.cut, answer)

    def _fail(
        self, request: web.Request, info: RequestInfo, answer: Respond | Drop
    ) -> web.Response:
        if isinstance(answer, Drop):
            _abort(request)
            raise web.HTTPException()  # nothing is sent: the connection is gone
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
            _abort(request)  # the server is gone: so is the client's connection
            raise web.HTTPException() from None
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


def _abort(request: web.Request) -> None:
    """Close the client's connection at once, mid-request or mid-stream."""
    transport = request.transport
    if transport is not None:
        transport.abort()
