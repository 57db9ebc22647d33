"""A small fake of the GitHub, GitLab and Gitea REST APIs (and a generator plugin).

Served on 127.0.0.1 by a threaded stdlib HTTP server. Routes map a path to a JSON
document (or a callable of the request's query); lists are paginated with
``page``/``per_page`` (GitHub, GitLab) or ``page``/``limit`` (Gitea), as the real
services do. Every request is recorded with its headers so tests can check
authentication.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Route = Any  # a JSON document, or a function of (query, body) returning one


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class FakeForge:
    """Routes and the requests received; ``url`` once started."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    fail_with: int = 0

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, Any]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = json.loads(raw) if raw else None
        self.requests.append(Request(method, parts.path, query, dict(headers), body))
        if self.fail_with:
            return self.fail_with, {"message": "internal failure " + "x" * 500}
        route = self.routes.get(parts.path)
        if route is None:
            return 404, {"message": "Not Found"}
        document = route(query, body) if callable(route) else route
        if isinstance(document, list):
            size = int(query.get("per_page") or query.get("limit") or 30)
            page = int(query.get("page") or 1)
            document = document[(page - 1) * size : page * size]
        return 200, document


@contextmanager
def serve(forge: FakeForge) -> Iterator[FakeForge]:
    """Run ``forge`` on a loopback port for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, document = forge.handle(self.command, self.path, dict(self.headers), raw)
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    forge.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield forge
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
