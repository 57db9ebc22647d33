"""The HTTP connection to one API server: TLS, credentials, pooled keep-alive requests.

lightkube reads the kubeconfig (contexts, embedded or referenced certificates) and
builds the TLS context. Ordinary requests go over a small HTTP/1.1 client of this
module: a pool of keep-alive connections, one request at a time on each, responses
parsed by ``httptools`` (the C parser uvicorn uses). A sync of thousands of objects is
bound by the client's CPU per request, and this path costs about half of what aiohttp
does (measured on the sync benchmark, 4,000 requests over TLS to the local cluster:
0.38-0.45 s of client CPU against 0.73-0.85 s), which was itself a quarter of an httpx
stack's. Watches, long-lived streams read line by line, stay on aiohttp.

A reused connection that the server closed before answering (its idle timeout racing
our request) is retried once on a new connection for the idempotent methods (GET,
PUT, DELETE); connections idle longer than :data:`IDLE_SECONDS` are not reused, which
keeps that race rare. Transport failures are :class:`TransportError`, an
``aiohttp.ClientConnectionError``, so callers handle both paths alike.

Credentials are a bearer token, a token file (re-read when the server answers 401),
an exec plugin (run again on 401; only when the kubeconfig was loaded with exec plugins
allowed), or basic auth. Their values never appear in errors.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import httptools
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import SingleConfig
from lightkube.config.models import User

from tether import __version__
from tether.kube.config import ConfigError

#: Connections idle for longer are closed rather than reused (servers close idle
#: connections after 30 s or more; reusing one they are closing would fail the request).
IDLE_SECONDS: Final = 15.0
#: Methods safe to send again when a reused connection closed before the answer.
_IDEMPOTENT: Final = frozenset({"GET", "PUT", "DELETE"})
#: Characters a request path keeps as they are; others are percent-encoded.
_PATH_SAFE: Final = "/%:@!$&'()*+,;=-._~"
_USER_AGENT: Final = f"tether/{__version__}"


class Credentials:
    """Produces the ``Authorization`` header for one kubeconfig user."""

    def __init__(self, user: User | None, base_dir: Path | None) -> None:
        self._user = user
        self._base_dir = base_dir
        self._header: str | None = None
        self._lock = asyncio.Lock()

    @property
    def refreshable(self) -> bool:
        """Whether a 401 may be cured by fetching the credentials again."""
        user = self._user
        return user is not None and bool(user.token_file or user.exec)

    async def header(self, *, refresh: bool = False) -> str | None:
        """The header value (``Bearer ...``/``Basic ...``), or ``None`` for no credentials."""
        if self._header is not None and not refresh:
            return self._header
        async with self._lock:
            self._header = await self._fetch()
            return self._header

    async def _fetch(self) -> str | None:
        user = self._user
        if user is None:
            return None
        if user.token:
            return f"Bearer {user.token}"
        if user.token_file:
            path = Path(user.token_file)
            if not path.is_absolute() and self._base_dir is not None:
                path = self._base_dir / path
            try:
                return f"Bearer {path.read_text().strip()}"
            except OSError as error:
                raise ConfigError(f"failed to read token file {path}: {error.strerror}") from error
        if user.exec:
            return f"Bearer {await self._exec_token()}"
        if user.username and user.password:
            pair = f"{user.username}:{user.password}".encode()
            return f"Basic {base64.b64encode(pair).decode()}"
        return None

    async def _exec_token(self) -> str:
        plugin = self._user.exec if self._user is not None else None
        if plugin is None:
            raise ConfigError("failed to run an exec plugin: the user has none")
        env = dict(os.environ) | {var.name: var.value for var in plugin.env or []}
        process = await asyncio.create_subprocess_exec(
            plugin.command,
            *(plugin.args or []),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(60):
                stdout, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            raise ConfigError(f"failed to run exec plugin {plugin.command}: timed out") from None
        if process.returncode != 0:
            raise ConfigError(
                f"failed to run exec plugin {plugin.command}: exit code {process.returncode}"
            )
        try:
            return str(json.loads(stdout)["status"]["token"])
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"failed to run exec plugin {plugin.command}: no status.token in its output"
            ) from error


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response: status code, body bytes, and the wait the server asked for."""

    status: int
    body: bytes
    #: Seconds of the ``Retry-After`` header (``None`` when absent or not a number).
    retry_after: float | None = None


def _retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header (the HTTP-date form is not used by Kubernetes)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


class TransportError(aiohttp.ClientConnectionError):
    """The request could not be sent or its response not read (no secret in the message)."""


class ServerDisconnected(TransportError):
    """The server closed the connection before any byte of its answer arrived."""


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return zlib.decompress(body, wbits=16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:  # raw deflate, as some servers send it
            return zlib.decompress(body, wbits=-zlib.MAX_WBITS)
    return body


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection carrying one request at a time."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[Response] | None = None
        self._chunks: list[bytes] = []
        self._encoding = ""
        self._retry_after: str | None = None
        self._answered = False
        self.reusable = False
        self.closed = False
        self.idle_since = 0.0

    # -- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's do not subclass asyncio.Transport).
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(TransportError(f"malformed HTTP response: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._answered:
            self._fail(TransportError("the server closed the connection mid-response"))
        else:
            self._fail(ServerDisconnected("the server closed the connection before answering"))

    # -- httptools callbacks ------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-encoding":
            self._encoding = value.decode("latin-1").strip().lower()
        elif lowered == b"retry-after":
            self._retry_after = value.decode("latin-1").strip()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        answer, self._answer = self._answer, None
        self.reusable = self._parser.should_keep_alive() and not self.closed
        body = b"".join(self._chunks)
        self._chunks = []
        if answer is None or answer.done():
            return
        try:
            body = _decompress(body, self._encoding)
        except zlib.error as error:
            answer.set_exception(TransportError(f"failed to decompress the response: {error}"))
            self.reusable = False
            return
        status = self._parser.get_status_code()
        answer.set_result(Response(status, body, _retry_after(self._retry_after)))

    # -- use ----------------------------------------------------------------------

    async def exchange(self, request: bytes) -> Response:
        """Send one request and wait for its whole response."""
        if self._transport is None or self.closed:
            raise ServerDisconnected("the connection is closed")
        self._answer = asyncio.get_running_loop().create_future()
        self._chunks, self._encoding, self._retry_after, self._answered = [], "", None, False
        self.reusable = False
        self._transport.write(request)
        return await self._answer

    def close(self) -> None:
        """Close the connection (any request on it fails)."""
        self.reusable = False
        if self._transport is not None:
            self._transport.close()

    def _fail(self, error: Exception) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(error)


class _Pool:
    """Keep-alive connections to one server, at most ``limit`` at once."""

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None, *, limit: int, connect: float
    ) -> None:
        self._host = host
        self._port = port
        self._tls = tls
        self._connect_timeout = connect
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(limit)

    async def exchange(self, method: str, request: bytes) -> Response:
        """Send ``request`` on a pooled connection; retried once where that is safe."""
        async with self._slots:
            for attempt in (1, 2):
                connection, reused = await self._checkout()
                try:
                    response = await connection.exchange(request)
                except ServerDisconnected:
                    connection.close()
                    if reused and attempt == 1 and method in _IDEMPOTENT:
                        continue
                    raise
                except BaseException:
                    # Timed out or cancelled mid-request: the connection's state is unknown.
                    connection.close()
                    raise
                self._checkin(connection)
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _checkout(self) -> tuple[_Connection, bool]:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection, True
            connection.close()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, protocol = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    ssl=self._tls,
                    server_hostname=self._host if self._tls is not None else None,
                )
        except (OSError, ssl.SSLError) as error:
            raise TransportError(
                f"failed to connect to {self._host}:{self._port}: {error}"
            ) from error
        return protocol, False

    def _checkin(self, connection: _Connection) -> None:
        if connection.reusable and not connection.closed:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()


class Transport:
    """Pooled HTTPS (or HTTP) requests to one API server, authenticated."""

    def __init__(self, single: SingleConfig, *, timeout: float, max_connections: int) -> None:
        self.base_url = single.cluster.server.rstrip("/")
        self._timeout = timeout
        self._max_connections = max_connections
        self._ssl: ssl.SSLContext | bool = False
        if self.base_url.startswith("https:"):
            try:
                self._ssl = client_adapter.verify_cluster(
                    single.cluster, single.user or User(), single.abs_file, trust_env=False
                )
            except (OSError, ValueError, ssl.SSLError) as error:
                raise ConfigError(f"failed to set up TLS for {self.base_url}: {error}") from error
        url = urlsplit(self.base_url)
        if not url.hostname:
            raise ConfigError(f"failed to read the server address {self.base_url!r}")
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._host_header = url.netloc.rpartition("@")[2]
        self._prefix = url.path.rstrip("/")
        self.credentials = Credentials(single.user, single.fname.parent if single.fname else None)
        self._pool: _Pool | None = None
        self._session: aiohttp.ClientSession | None = None

    def _connections(self) -> _Pool:
        # Created on first use, inside the running event loop that its connections use.
        if self._pool is None:
            tls = self._ssl if isinstance(self._ssl, ssl.SSLContext) else None
            self._pool = _Pool(
                self._host,
                self._port,
                tls,
                limit=self._max_connections,
                connect=min(self._timeout, 10),
            )
        return self._pool

    def _client(self) -> aiohttp.ClientSession:
        # For watches only; created on first use, inside the running event loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl, limit=self._max_connections)
            self._session = aiohttp.ClientSession(
                self.base_url,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout, connect=min(self._timeout, 10)),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pools."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._session is not None:
            await self._session.close()

    async def _headers(self, extra: Mapping[str, str] | None, refresh: bool) -> dict[str, str]:
        headers = {"Accept": "application/json", **(extra or {})}
        authorization = await self.credentials.header(refresh=refresh)
        if authorization:
            headers["Authorization"] = authorization
        return headers

    def _encode(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> bytes:
        target = self._prefix + quote(path, safe=_PATH_SAFE)
        if params:
            target += "?" + urlencode(params, quote_via=quote)
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {self._host_header}",
            f"User-Agent: {_USER_AGENT}",
            "Accept-Encoding: gzip, deflate",
        ]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        payload = body or b""
        if payload or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(payload)}")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("latin-1") + payload

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request and read the whole response (retried once after a 401 if useful)."""
        refresh = False
        while True:
            request = self._encode(
                method, path, params, body, await self._headers(headers, refresh)
            )
            async with asyncio.timeout(self._timeout):
                response = await self._connections().exchange(method, request)
            if response.status == 401 and self.credentials.refreshable and not refresh:
                refresh = True
                continue
            return response

    async def stream_lines(
        self, path: str, *, params: Mapping[str, str], read_timeout: float
    ) -> AsyncIterator[Response | bytes]:
        """A streaming GET: yields an error :class:`Response`, or the body's lines."""
        timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=read_timeout)
        async with self._client().get(
            path, params=params, headers=await self._headers(None, False), timeout=timeout
        ) as response:
            if response.status >= 400:
                yield Response(response.status, await response.read())
                return
            pending = b""
            # Chunks, not readline(): a watch event is one line and may be megabytes.
            async for chunk in response.content.iter_any():
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield line
            if pending.strip():
                yield pending
