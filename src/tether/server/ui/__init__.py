"""The web UI: static files served by the tether server, no build step, no CDN.

The UI is plain JavaScript modules and CSS under ``static/`` (``index.html``,
``js/*.js``, ``style.css``; icons are inline SVG), talking to the REST API under
``/api/v1`` with the ``argocd.token`` cookie and ``X-Requested-With: XMLHttpRequest``
on every mutating request, and to ``/api/v1/stream/applications`` for live updates.
Everything is loaded from this server: no external fonts, scripts or styles, which the
Content-Security-Policy below enforces.

Serving rules
-------------
- ``/assets/...`` are the static files, answered with ``ETag`` and ``Last-Modified``
  and ``Cache-Control: no-cache``: file names carry no content hash, so browsers must
  revalidate (a cheap 304) rather than keep a stale module after an upgrade.
- The UI's own pages (``/``, ``/login``, ``/applications[/...]``, ``/projects``)
  answer ``index.html`` (the single-page app routes on the client), also ``no-cache``.
  Every other path keeps its JSON 404: the fallback never shadows ``/api``,
  ``/metrics`` or a page the server does not have (``/docs`` stays off).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from tether.server.errors import NotFoundError

STATIC: Final = Path(__file__).resolve().parent / "static"
#: The client-side routes: each, and everything under it, answers the UI's page.
CLIENT_ROUTES: Final = ("/login", "/applications", "/projects")
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_SECURITY_HEADER_BYTES: Final = [
    (k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
]


class _RevalidatedFiles(StaticFiles):
    """Static files that browsers revalidate on every use (``no-cache`` plus ETag)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one file, adding the caching and security headers."""

        async def with_headers(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])  # type: ignore[call-overload]
                headers.append((b"cache-control", b"no-cache"))
                headers.extend(_SECURITY_HEADER_BYTES)
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, with_headers)  # type: ignore[arg-type]


def _index() -> Response:
    return FileResponse(
        STATIC / "index.html",
        media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache", **SECURITY_HEADERS},
    )


def is_client_route(path: str) -> bool:
    """Whether ``path`` is one of the UI's pages (answered with ``index.html``)."""
    return any(path == route or path.startswith(route + "/") for route in CLIENT_ROUTES)


def mount_ui(app: FastAPI) -> None:
    """Serve the UI from ``app``: assets at ``/assets``, ``index.html`` for its pages.

    Call it after every API router is included: the fallback route matches every path
    and must come last.
    """
    app.mount("/assets", _RevalidatedFiles(directory=STATIC, check_dir=True), name="ui-assets")

    @app.get("/", include_in_schema=False)
    async def ui_root() -> Response:
        return _index()

    @app.get("/{path:path}", include_in_schema=False)
    async def ui_fallback(path: str, request: Request) -> Response:
        if not is_client_route(request.url.path):
            raise NotFoundError(f"failed to find {request.url.path}: no such endpoint")
        return _index()
