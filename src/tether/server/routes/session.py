"""``/api/v1/session``: logging in and out, and who the caller is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from tether.server.audit import Reason, Subject
from tether.server.auth import COOKIE, session_seconds
from tether.server.context import Caller, Ctx

router = APIRouter(prefix="/api/v1/session", tags=["session"])


class SessionCreate(BaseModel):
    """Credentials of a local account."""

    username: str = Field(max_length=256)
    password: str = Field(max_length=1024)


class SessionToken(BaseModel):
    """A session token (also set as the ``argocd.token`` cookie)."""

    token: str


def _client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("", response_model=SessionToken)
async def create_session(
    body: SessionCreate, request: Request, response: Response, ctx: Ctx
) -> dict[str, str]:
    """Log in with a username and password; the token is returned and set as a cookie."""
    token, _ = await ctx.authenticator.login(body.username, body.password, _client_of(request))
    await ctx.auditor.record(
        body.username,
        Reason.LOGGED_IN,
        Subject("v1", "Secret", "argocd-secret", ctx.namespace),
        f"logged in from {_client_of(request)}",
        about="",
    )
    lifetime = session_seconds((await ctx.store.snapshot()).settings)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(lifetime),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"token": token}


@router.delete("")
async def delete_session(caller: Caller, ctx: Ctx, response: Response) -> dict[str, Any]:
    """Log out: the session token is revoked and the cookie cleared."""
    await ctx.authenticator.logout(caller)
    await ctx.auditor.record(
        caller.username,
        Reason.LOGGED_OUT,
        Subject("v1", "Secret", "argocd-secret", ctx.namespace),
        "logged out",
        about="",
    )
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return {}


@router.get("/userinfo")
async def user_info(caller: Caller) -> dict[str, Any]:
    """Who the token stands for (Argo CD's ``GetUserInfo``)."""
    return {
        "loggedIn": True,
        "username": caller.username,
        "iss": "argocd",
        "groups": [],
    }
