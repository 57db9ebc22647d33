"""``/api/v1/account``: local accounts, their passwords and API tokens."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, Field

from tether.server.accounts import (
    Account,
    Capability,
    TokenRecord,
    accounts_of,
    check_new_password,
    is_valid_name,
    secret_keys,
    set_password,
    verify_password,
)
from tether.server.audit import Reason, Subject
from tether.server.context import Caller, Ctx, ServerContext
from tether.server.errors import BadInput, NotFoundError, PermissionDenied
from tether.server.rbac import Action, Resource
from tether.server.tokens import TokenKind

router = APIRouter(prefix="/api/v1/account", tags=["account"])


class PasswordUpdate(BaseModel):
    """A password change: the caller's current password and the new one for ``name``."""

    currentPassword: str = Field(max_length=1024)  # noqa: N815 - Argo CD's field names
    newPassword: str = Field(max_length=1024)  # noqa: N815
    name: str = Field(default="", max_length=253)


class TokenCreate(BaseModel):
    """An API token request: lifetime in seconds (0: never expires) and an optional id."""

    expiresIn: int = Field(default=0, ge=0, le=10 * 365 * 24 * 3600)  # noqa: N815
    id: str = Field(default="", max_length=128, pattern=r"^[A-Za-z0-9._-]*$")


async def _account(ctx: ServerContext, name: str) -> Account:
    account = accounts_of(await ctx.store.snapshot()).get(name) if is_valid_name(name) else None
    if account is None:
        raise NotFoundError(f"account {name} does not exist")
    return account


@router.get("")
async def list_accounts(caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Every local account (names, capabilities, token records; never password hashes)."""
    await ctx.enforce(caller, Resource.ACCOUNTS, Action.GET, "*")
    accounts = accounts_of(await ctx.store.snapshot())
    return {"items": [a.to_dict() for a in accounts.values()]}


@router.get("/can-i/{resource}/{action}/{subresource:path}")
async def can_i(
    resource: str, action: str, subresource: str, caller: Caller, ctx: Ctx
) -> dict[str, str]:
    """Whether the caller may do ``action`` on ``resource`` ``subresource`` (``yes``/``no``)."""
    allowed = await ctx.allows(caller, resource, action, subresource)
    return {"value": "yes" if allowed else "no"}


@router.put("/password")
async def update_password(body: PasswordUpdate, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Change a password; the caller proves who they are with their own current password."""
    if caller.kind is not TokenKind.SESSION:
        raise PermissionDenied("passwords can be changed with a session token only")
    target = body.name or caller.username
    if target != caller.username:
        await ctx.enforce(caller, Resource.ACCOUNTS, Action.UPDATE, target)
    me = await _account(ctx, caller.username)
    account = await _account(ctx, target)
    if not await verify_password(body.currentPassword, me.password_hash):
        raise BadInput("current password does not match")
    problem = check_new_password(body.newPassword)
    if problem:
        raise BadInput(problem)
    if not account.can(Capability.LOGIN):
        raise BadInput(f"account {target} cannot log in, so it has no password")
    await set_password(ctx.store, account.name, body.newPassword, ctx.clock)
    await ctx.auditor.record(
        caller.username,
        Reason.UPDATED,
        Subject("v1", "Secret", "argocd-secret", ctx.namespace),
        "changed the password of",
        about=f"account {target}",
    )
    return {}


@router.get("/{name}")
async def get_account(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """One account."""
    await ctx.enforce(caller, Resource.ACCOUNTS, Action.GET, name)
    return (await _account(ctx, name)).to_dict()


@router.post("/{name}/token")
async def create_token(name: str, body: TokenCreate, caller: Caller, ctx: Ctx) -> dict[str, str]:
    """Issue an API token for ``name`` (an account with the ``apiKey`` capability)."""
    if name != caller.username or caller.kind is TokenKind.PROJECT:
        await ctx.enforce(caller, Resource.ACCOUNTS, Action.UPDATE, name)
    account = await _account(ctx, name)
    if not account.can(Capability.API_KEY):
        raise BadInput(f"account {name} does not have the apiKey capability")
    token_id = body.id or str(uuid.uuid4())
    if any(t.id == token_id for t in account.tokens):
        raise BadInput(f"account {name} already has a token with id {token_id}")
    signer = await ctx.authenticator.signer()
    token, claims = signer.issue(f"{name}:apiKey", lifetime=body.expiresIn, token_id=token_id)
    record = TokenRecord(token_id, claims.issued_at, claims.expires_at)
    _, _, tokens_key = secret_keys(name)

    def add(secret: Any) -> dict[str, str | None]:
        current = orjson.loads(secret.get(tokens_key) or "[]")
        current = [t for t in current if isinstance(t, dict) and t.get("id") != token_id]
        return {tokens_key: orjson.dumps([*current, record.to_dict()]).decode()}

    await ctx.store.update_secret(add)
    await ctx.auditor.record(
        caller.username,
        Reason.UPDATED,
        Subject("v1", "Secret", "argocd-secret", ctx.namespace),
        f"created token {token_id} of",
        about=f"account {name}",
    )
    return {"token": token}


@router.delete("/{name}/token/{token_id}")
async def delete_token(name: str, token_id: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Revoke an API token by deleting its record."""
    if name != caller.username or caller.kind is TokenKind.PROJECT:
        await ctx.enforce(caller, Resource.ACCOUNTS, Action.UPDATE, name)
    account = await _account(ctx, name)
    if all(t.id != token_id for t in account.tokens):
        raise NotFoundError(f"account {name} has no token with id {token_id}")
    _, _, tokens_key = secret_keys(name)

    def remove(secret: Any) -> dict[str, str | None]:
        current = orjson.loads(secret.get(tokens_key) or "[]")
        kept = [t for t in current if isinstance(t, dict) and t.get("id") != token_id]
        return {tokens_key: orjson.dumps(kept).decode()}

    await ctx.store.update_secret(remove)
    await ctx.auditor.record(
        caller.username,
        Reason.DELETED,
        Subject("v1", "Secret", "argocd-secret", ctx.namespace),
        f"deleted token {token_id} of",
        about=f"account {name}",
    )
    return {}
