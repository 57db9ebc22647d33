"""Loopback servers for chart repository tests: a Helm HTTP repository and an OCI registry.

Both are small ``http.server`` handlers on 127.0.0.1 run in a thread. They serve files
prepared by the tests (archives made with the real ``helm package``), count requests
per path, and check credentials the way the real servers do: HTTP basic auth on the
Helm repository's ``/private/`` folder, and the bearer-token exchange of the OCI
distribution spec on the registry.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

USERNAME = "reader"
PASSWORD = "pa55-w0rd-not-for-logs"
TOKEN = "registry-token-42"


@dataclass
class ServerState:
    """What a server serves and what it has seen."""

    root: Path
    requests: Counter[str] = field(default_factory=Counter)
    authorized: Counter[str] = field(default_factory=Counter)
    oci: dict[str, bytes] = field(default_factory=dict)
    base_url: str = ""


def _basic_ok(header: str | None) -> bool:
    expected = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    return header == f"Basic {expected}"


class _Handler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.state.requests[path] += 1
        authorization = self.headers.get("Authorization")
        if authorization:
            self.state.authorized[path] += 1
        if path == "/token":
            self._token(authorization)
        elif path.startswith("/v2/"):
            self._registry(path, authorization)
        else:
            self._file(path, authorization)

    def _file(self, path: str, authorization: str | None) -> None:
        if path.startswith("/private/") and not _basic_ok(authorization):
            self._send(401, b"unauthorized", {"WWW-Authenticate": 'Basic realm="charts"'})
            return
        target = (self.state.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.state.root) or not target.is_file():
            self._send(404, b"not found")
            return
        self._send(200, target.read_bytes())

    def _token(self, authorization: str | None) -> None:
        if not _basic_ok(authorization):
            self._send(401, b"bad credentials")
            return
        self._send(200, json.dumps({"token": TOKEN}).encode())

    def _registry(self, path: str, authorization: str | None) -> None:
        if authorization != f"Bearer {TOKEN}":
            challenge = f'Bearer realm="{self.state.base_url}/token",service="loopback-registry"'
            self._send(401, b"{}", {"WWW-Authenticate": challenge})
            return
        body = self.state.oci.get(path)
        if body is None:
            self._send(404, b'{"errors": [{"code": "NAME_UNKNOWN"}]}')
            return
        self._send(200, body)


@contextmanager
def serve(root: Path) -> Iterator[ServerState]:
    """Serve ``root`` (and ``state.oci`` under ``/v2/``) on 127.0.0.1 until exit."""
    state = ServerState(root=root.resolve())
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
