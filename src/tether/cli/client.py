"""The CLI's HTTP client for the tether API, and how a command finds its server.

Commands are short-lived and sequential, so the client is httpx's synchronous one; every
failure becomes an :class:`ApiError` whose message is one line
(``failed to <what>: <cause>``) with the server's own message when it sent one, and never
the token. Which server and token a command uses is decided by :func:`connect`: the
``--server`` and ``--auth-token`` flags (or ``TETHER_SERVER``/``TETHER_AUTH_TOKEN``) win
over the current context of the config file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from tether import __version__
from tether.cli.contexts import CliConfig, load_config

SERVER_ENV = "TETHER_SERVER"
TOKEN_ENV = "TETHER_AUTH_TOKEN"

#: Longest part of a server's error body quoted in a message.
_MAX_CAUSE = 300


class ApiError(Exception):
    """A call to the API failed; ``status`` is the HTTP status (0: no answer at all)."""

    def __init__(self, what: str, cause: str, status: int = 0) -> None:
        super().__init__(f"failed to {what}: {cause}")
        self.what = what
        self.cause = cause
        self.status = status


def normalize_server(server: str, *, plaintext: bool = False) -> str:
    """The base URL for ``server``: ``host:port`` gets a scheme, a trailing ``/api/v1`` goes."""
    server = server.strip().rstrip("/")
    if "://" not in server:
        server = ("http://" if plaintext else "https://") + server
    return server.removesuffix("/api/v1")


def path_segment(value: str) -> str:
    """``value`` percent-encoded as one path segment (repository and cluster URLs)."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Connection:
    """Where a command sends its calls, and the token it sends."""

    server: str
    token: str = field(default="", repr=False)
    insecure: bool = False


def connect(
    server: str = "", auth_token: str = "", *, config: CliConfig | None = None
) -> Connection:
    """The connection chosen by the flags, the environment and the config file.

    A ``--server`` with no token uses the token of a context for that server, if any.
    """
    server = server or os.environ.get(SERVER_ENV, "")
    token = auth_token or os.environ.get(TOKEN_ENV, "")
    config = config if config is not None else load_config()
    if server:
        url = normalize_server(server)
        known = next((c for c in config.contexts if c.server == url), None)
        if known is not None:
            return Connection(url, token or known.auth_token, known.insecure)
        return Connection(url, token)
    current = config.current_context()
    if current is None:
        raise ApiError(
            "find a server", "no current context; run tether login SERVER or pass --server"
        )
    return Connection(current.server, token or current.auth_token, current.insecure)


def _cause_of(response: httpx.Response, *, sent_token: bool) -> str:
    """The server's message for a failed call (its JSON ``message``), on one line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = ""
    if isinstance(body, Mapping):
        message = str(body.get("message") or body.get("error") or "")
    if not message:
        message = response.text or response.reason_phrase
    message = " ".join(message.split())
    if len(message) > _MAX_CAUSE:
        message = message[:_MAX_CAUSE] + "..."
    if response.status_code == 401 and sent_token:
        return f"{message} (log in again with tether login)"
    return message


class ApiClient:
    """Calls to one tether server; use as a context manager (it owns an HTTP pool)."""

    def __init__(
        self,
        connection: Connection,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": f"tether-cli/{__version__}", "Accept": "application/json"}
        if connection.token:
            headers["Authorization"] = f"Bearer {connection.token}"
        self.connection = connection
        self._http = httpx.Client(
            base_url=connection.server,
            headers=headers,
            timeout=timeout,
            verify=not connection.insecure,
            transport=transport,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one request; the decoded JSON answer, or :class:`ApiError` naming ``what``."""
        try:
            response = self._http.request(method, path, params=params, json=body)
        except httpx.TimeoutException as error:
            raise ApiError(what, f"{self.connection.server} did not answer in time") from error
        except httpx.HTTPError as error:
            cause = " ".join(str(error).split()) or type(error).__name__
            raise ApiError(what, f"cannot reach {self.connection.server}: {cause}") from error
        if response.status_code >= 400:
            cause = _cause_of(response, sent_token=bool(self.connection.token))
            raise ApiError(what, cause, response.status_code)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as error:
            raise ApiError(what, "the server's answer is not JSON", response.status_code) from error

    def get(self, path: str, what: str, params: Mapping[str, Any] | None = None) -> Any:
        """``GET path``."""
        return self.call("GET", path, what, params=params)

    def post(
        self, path: str, what: str, body: Any = None, params: Mapping[str, Any] | None = None
    ) -> Any:
        """``POST path`` with the JSON ``body``."""
        return self.call("POST", path, what, body=body, params=params)

    def put(self, path: str, what: str, body: Any = None) -> Any:
        """``PUT path`` with the JSON ``body``."""
        return self.call("PUT", path, what, body=body)

    def delete(self, path: str, what: str, params: Mapping[str, Any] | None = None) -> Any:
        """``DELETE path``."""
        return self.call("DELETE", path, what, params=params)
