"""``/api/v1/projects``: AppProjects, and tokens for their roles."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from tether.kube import AlreadyExists, Conflict, KubeError, NotFound
from tether.model import API_VERSION, AppProject, SpecError
from tether.server.audit import Reason, Subject
from tether.server.context import Caller, Ctx, ServerContext
from tether.server.errors import BadInput, ConflictError, NotFoundError, from_kube_error
from tether.server.rbac import Action, Resource
from tether.server.views import check_name

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])
KIND = "AppProject"
_ATTEMPTS = 5


class ProjectTokenCreate(BaseModel):
    """A project role token request: lifetime in seconds (0: never) and an optional id."""

    expiresIn: int = Field(default=0, ge=0, le=10 * 365 * 24 * 3600)  # noqa: N815
    id: str = Field(default="", max_length=128, pattern=r"^[A-Za-z0-9._-]*$")
    description: str = Field(default="", max_length=1024)


def _project_body(body: Any) -> dict[str, Any]:
    """The project object of a request (``{"project": {...}}`` as Argo CD sends, or bare)."""
    data = body.get("project", body) if isinstance(body, dict) else body
    if not isinstance(data, dict):
        raise BadInput("the body must be a JSON object")
    try:
        project = AppProject.from_dict(data)
    except SpecError as error:
        raise BadInput(f"invalid project: {error}") from error
    check_name(project.name, "project name")
    obj = project.to_dict()
    obj["metadata"] = {
        k: v for k, v in obj["metadata"].items() if k in ("name", "labels", "annotations")
    }
    return obj


def _subject(obj: dict[str, Any]) -> Subject:
    metadata = obj.get("metadata") or {}
    return Subject(API_VERSION, KIND, metadata.get("name", ""), metadata.get("namespace", ""))


async def _get(ctx: ServerContext, name: str) -> dict[str, Any]:
    check_name(name, "project name")
    try:
        return await ctx.client.get(API_VERSION, KIND, name, ctx.namespace)
    except NotFound as error:
        raise NotFoundError(f"project {name} not found") from error
    except KubeError as error:
        raise from_kube_error(error) from error


def keep_role_tokens(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """``new`` with each role's token records carried over from ``old`` when it names none.

    Tokens are issued and revoked through the token endpoints; an update that does not
    mention them (a client that edits policies) must not revoke them all.
    """
    old_roles = {r.get("name"): r for r in old.get("roles") or [] if isinstance(r, dict)}
    for role in new.get("roles") or []:
        previous = old_roles.get(role.get("name"))
        if previous and "jwtTokens" not in role and previous.get("jwtTokens"):
            role["jwtTokens"] = previous["jwtTokens"]
    return new


@router.get("")
async def list_projects(caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """The projects the caller may see."""
    listed = await ctx.client.list(API_VERSION, KIND, ctx.namespace)
    policy = await ctx.policy(caller)
    items = [
        p
        for p in listed.items
        if policy.allows([caller.subject], Resource.PROJECTS, Action.GET, p["metadata"]["name"])
    ]
    return {"items": items, "metadata": {"resourceVersion": listed.resource_version}}


@router.post("")
async def create_project(
    caller: Caller, ctx: Ctx, body: Annotated[dict[str, Any], Body()], upsert: bool = False
) -> dict[str, Any]:
    """Create a project (``upsert`` replaces an existing one's spec)."""
    obj = _project_body(body)
    name = obj["metadata"]["name"]
    await ctx.enforce(caller, Resource.PROJECTS, Action.CREATE, name)
    obj["metadata"]["namespace"] = ctx.namespace
    try:
        result = await ctx.client.create(obj)
        reason, action = Reason.CREATED, "created"
    except AlreadyExists as error:
        existing = await _get(ctx, name)
        if existing.get("spec") == obj.get("spec"):
            return existing
        if not upsert:
            raise BadInput(
                "existing project spec is different, use upsert flag to force update"
            ) from error
        await ctx.enforce(caller, Resource.PROJECTS, Action.UPDATE, name)
        existing["spec"] = keep_role_tokens(obj["spec"], existing.get("spec") or {})
        result = await ctx.client.replace(existing)
        reason, action = Reason.UPDATED, "updated"
    await ctx.auditor.record(caller.username, reason, _subject(result), action)
    return result


@router.get("/{name}")
async def get_project(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """One project."""
    await ctx.enforce(caller, Resource.PROJECTS, Action.GET, name)
    return await _get(ctx, name)


@router.put("/{name}")
async def update_project(
    name: str, caller: Caller, ctx: Ctx, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Replace a project's spec, labels and annotations."""
    await ctx.enforce(caller, Resource.PROJECTS, Action.UPDATE, name)
    obj = _project_body(body)
    if obj["metadata"]["name"] != name:
        raise BadInput(f"the body names project {obj['metadata']['name']}, the path {name}")
    current = await _get(ctx, name)
    current["spec"] = keep_role_tokens(obj["spec"], current.get("spec") or {})
    for key in ("labels", "annotations"):
        current["metadata"][key] = obj["metadata"].get(key) or {}
    try:
        result = await ctx.client.replace(current)
    except KubeError as error:
        raise from_kube_error(error) from error
    await ctx.auditor.record(caller.username, Reason.UPDATED, _subject(result), "updated")
    return result


@router.delete("/{name}")
async def delete_project(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Delete a project that no application uses (as Argo CD refuses otherwise)."""
    await ctx.enforce(caller, Resource.PROJECTS, Action.DELETE, name)
    current = await _get(ctx, name)
    users = [
        a["metadata"]["name"]
        for a in ctx.apps.items()
        if ((a.get("spec") or {}).get("project") or "default") == name
    ]
    if users:
        raise BadInput(
            f"project is referenced by {len(users)} applications: {', '.join(users[:5])}"
        )
    try:
        await ctx.client.delete(API_VERSION, KIND, name, ctx.namespace)
    except KubeError as error:
        raise from_kube_error(error) from error
    await ctx.auditor.record(caller.username, Reason.DELETED, _subject(current), "deleted")
    return {}


async def _edit_role_tokens(
    ctx: ServerContext, project: str, role: str, edit: Any
) -> dict[str, Any]:
    """Read-modify-write the role's ``jwtTokens`` with optimistic concurrency."""
    for _ in range(_ATTEMPTS):
        current = await _get(ctx, project)
        roles = (current.get("spec") or {}).get("roles") or []
        entry = next((r for r in roles if r.get("name") == role), None)
        if entry is None:
            raise NotFoundError(f"project {project} has no role {role}")
        entry["jwtTokens"] = edit(list(entry.get("jwtTokens") or []))
        try:
            return await ctx.client.replace(current)
        except Conflict:
            continue
        except KubeError as error:
            raise from_kube_error(error) from error
    raise ConflictError(f"failed to update project {project}: too many concurrent writers")


@router.post("/{name}/roles/{role}/token")
async def create_project_token(
    name: str, role: str, body: ProjectTokenCreate, caller: Caller, ctx: Ctx
) -> dict[str, str]:
    """Issue a token for a project role (``proj:<project>:<role>``)."""
    await ctx.enforce(caller, Resource.PROJECTS, Action.UPDATE, name)
    signer = await ctx.authenticator.signer()
    token_id = body.id or str(uuid.uuid4())
    token, claims = signer.issue(f"proj:{name}:{role}", lifetime=body.expiresIn, token_id=token_id)

    def add(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if any(t.get("id") == token_id for t in tokens):
            raise BadInput(f"role {role} already has a token with id {token_id}")
        record: dict[str, Any] = {"iat": claims.issued_at, "id": token_id}
        if claims.expires_at:
            record["exp"] = claims.expires_at
        return [*tokens, record]

    result = await _edit_role_tokens(ctx, name, role, add)
    await ctx.auditor.record(
        caller.username, Reason.UPDATED, _subject(result), f"created a token of role {role} in"
    )
    return {"token": token}


@router.delete("/{name}/roles/{role}/token/{token_id}")
async def delete_project_token(
    name: str, role: str, token_id: str, caller: Caller, ctx: Ctx
) -> dict[str, Any]:
    """Revoke a project role token by deleting its record."""
    await ctx.enforce(caller, Resource.PROJECTS, Action.UPDATE, name)

    def remove(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [t for t in tokens if t.get("id") != token_id]
        if len(kept) == len(tokens):
            raise NotFoundError(f"role {role} of project {name} has no token with id {token_id}")
        return kept

    result = await _edit_role_tokens(ctx, name, role, remove)
    await ctx.auditor.record(
        caller.username, Reason.UPDATED, _subject(result), f"deleted a token of role {role} in"
    )
    return {}
