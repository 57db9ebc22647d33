"""``GET /api/v1/stream/applications``: application changes as Server-Sent Events.

Each event's data is Argo CD's watch shape, ``{"result": {"type": ..., "application":
...}}``: first an ``ADDED`` event for every application that matches, then one event
per change as the watch cache sees it. Only applications the caller may ``get`` are
sent, and the filters of the list endpoint (``name``, ``projects``, ``selector``)
apply. A comment line is sent every ``heartbeat`` seconds so that proxies keep an idle
stream open; a subscriber too slow to keep up has its stream ended (clients reconnect).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from tether.server.context import Caller, Ctx
from tether.server.errors import BadInput
from tether.server.rbac import Action, Resource
from tether.server.selectors import SelectorError, parse_selector

router = APIRouter(tags=["applications"])
HEARTBEAT_SECONDS = 15.0


def _event(change_type: str, obj: Mapping[str, Any]) -> bytes:
    data = orjson.dumps({"result": {"type": change_type, "application": obj}})
    return b"data: " + data + b"\n\n"


@router.get("/api/v1/stream/applications")
async def stream_applications(
    request: Request,
    caller: Caller,
    ctx: Ctx,
    name: Annotated[str, Query(max_length=253)] = "",
    projects: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 - FastAPI reads it
    selector: Annotated[str, Query(max_length=4096)] = "",
) -> StreamingResponse:
    """Stream application changes until the client disconnects."""
    try:
        labels_match = parse_selector(selector)
    except SelectorError as error:
        raise BadInput(str(error)) from error
    wanted = {p for item in projects for p in item.split(",") if p}
    may_get = (await ctx.policy(caller)).checker(
        [caller.subject], Resource.APPLICATIONS, Action.GET
    )

    def visible(obj: Mapping[str, Any]) -> bool:
        metadata = obj.get("metadata") or {}
        app_name = str(metadata.get("name", ""))
        project = str((obj.get("spec") or {}).get("project") or "default")
        return (
            (not name or app_name == name)
            and (not wanted or project in wanted)
            and labels_match(metadata.get("labels") or {})
            and may_get(f"{project}/{app_name}")
        )

    async def events() -> AsyncIterator[bytes]:
        with ctx.apps.subscribe() as queue:
            for obj in ctx.apps.items():
                if visible(obj):
                    yield _event("ADDED", obj)
            while not await request.is_disconnected():
                try:
                    async with asyncio.timeout(ctx.sse_heartbeat):
                        change = await queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if change is None:
                    return
                if visible(change.object):
                    yield _event(change.type, change.object)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
