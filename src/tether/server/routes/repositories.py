"""``/api/v1/repositories``: repository credentials, write-only secrets.

A repository is identified by its URL (normalised: ``https://host/org/repo.git`` and
``https://host/org/repo`` are the same). Passwords, SSH keys, TLS client keys, GitHub
App keys and bearer tokens can be written but are never returned.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tether.model import keys
from tether.server.audit import Reason, Subject
from tether.server.context import Caller, Ctx
from tether.server.credentials import CredentialKind, CredentialSecrets, public_fields
from tether.server.errors import BadInput, NotFoundError
from tether.server.rbac import Action, Resource
from tether.server.routes.credentialwrites import write_credentials
from tether.source import normalize_url, redact_url
from tether.source.errors import InvalidRepositoryURL

router = APIRouter(prefix="/api/v1/repositories", tags=["repositories"])


def _normalize(url: str) -> str:
    try:
        return normalize_url(url)
    except InvalidRepositoryURL:
        return url


REPOSITORY = CredentialKind(
    secret_type=keys.SECRET_TYPE_REPOSITORY,
    name_prefix="repo",
    key_field="url",
    normalize=_normalize,
    sensitive=frozenset(
        {
            "password",
            "sshPrivateKey",
            "tlsClientCertKey",
            "githubAppPrivateKey",
            "bearerToken",
            "gcpServiceAccountKey",
        }
    ),
)

#: Request fields and the Secret keys they are stored under (Argo CD's names).
_FIELDS = {
    "repo": "url",
    "type": "type",
    "name": "name",
    "project": "project",
    "username": "username",
    "password": "password",
    "sshPrivateKey": "sshPrivateKey",
    "tlsClientCertData": "tlsClientCertData",
    "tlsClientCertKey": "tlsClientCertKey",
    "insecure": "insecure",
    "enableLfs": "enableLfs",
    "proxy": "proxy",
    "githubAppPrivateKey": "githubAppPrivateKey",
    "githubAppID": "githubAppID",
    "githubAppInstallationID": "githubAppInstallationID",
    "bearerToken": "bearerToken",
    "forceHttpBasicAuth": "forceHttpBasicAuth",
    "enableOCI": "enableOCI",
}


class RepositoryBody(BaseModel):
    """Argo CD's ``Repository`` as written by clients."""

    model_config = ConfigDict(extra="forbid")

    repo: str = Field(max_length=2048)
    type: str = Field(default="git", pattern="^(git|helm|oci)$")
    name: str = Field(default="", max_length=253)
    project: str = Field(default="", max_length=253)
    username: str = Field(default="", max_length=1024)
    password: str = Field(default="", max_length=65536)
    sshPrivateKey: str = Field(default="", max_length=65536)  # noqa: N815
    tlsClientCertData: str = Field(default="", max_length=65536)  # noqa: N815
    tlsClientCertKey: str = Field(default="", max_length=65536)  # noqa: N815
    insecure: bool = False
    enableLfs: bool = False  # noqa: N815
    proxy: str = Field(default="", max_length=2048)
    githubAppPrivateKey: str = Field(default="", max_length=65536)  # noqa: N815
    githubAppID: str = Field(default="", max_length=64)  # noqa: N815
    githubAppInstallationID: str = Field(default="", max_length=64)  # noqa: N815
    bearerToken: str = Field(default="", max_length=65536)  # noqa: N815
    forceHttpBasicAuth: bool = False  # noqa: N815
    enableOCI: bool = False  # noqa: N815

    def fields(self) -> dict[str, str]:
        """The Secret data this body writes (false flags and empty values left out)."""
        out: dict[str, str] = {}
        for attr, key in _FIELDS.items():
            value = getattr(self, attr)
            if isinstance(value, bool):
                if value:
                    out[key] = "true"
            elif value:
                out[key] = value
        return out


def repository_view(fields: dict[str, str]) -> dict[str, Any]:
    """What a client sees of a repository: no secret, URL redacted, flags as booleans."""
    shown = public_fields(fields, REPOSITORY)
    view: dict[str, Any] = {"repo": redact_url(shown.pop("url", "")), "type": "git"}
    for attr, key in _FIELDS.items():
        if key in shown and attr != "repo":
            value = shown[key]
            view[attr] = value == "true" if value in ("true", "false") else value
    view["hasCredentials"] = any(fields.get(k) for k in REPOSITORY.sensitive) or bool(
        fields.get("username")
    )
    return view


def _object(fields: dict[str, str]) -> str:
    project, url = fields.get("project", ""), fields.get("url", "")
    return f"{project}/{url}" if project else url


def _check_url(url: str) -> None:
    if url.startswith(("oci://", "https://", "http://")):
        return
    try:
        normalize_url(url)
    except InvalidRepositoryURL as error:
        raise BadInput(f"invalid repository URL: {error}") from error


@router.get("")
async def list_repositories(caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """The repositories the caller may see."""
    store = CredentialSecrets(ctx.client, ctx.namespace, REPOSITORY)
    policy = await ctx.policy(caller)
    items = [
        repository_view(f)
        for f in await store.all()
        if policy.allows([caller.subject], Resource.REPOSITORIES, Action.GET, _object(f))
    ]
    return {"items": items}


@router.get("/{repo:path}")
async def get_repository(repo: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """One repository by URL (URL-encoded in the path)."""
    store = CredentialSecrets(ctx.client, ctx.namespace, REPOSITORY)
    found = await store.find(repo)
    fields = found[1] if found else {"url": repo}
    await ctx.enforce(caller, Resource.REPOSITORIES, Action.GET, _object(fields))
    if found is None:
        raise NotFoundError(f"repository {redact_url(repo)} not found")
    return repository_view(fields)


@router.post("")
async def create_repository(
    body: RepositoryBody, caller: Caller, ctx: Ctx, upsert: bool = False
) -> dict[str, Any]:
    """Add a repository (``upsert`` replaces an existing one)."""
    fields = body.fields()
    _check_url(body.repo)
    await ctx.enforce(caller, Resource.REPOSITORIES, Action.CREATE, _object(fields))
    written = await write_credentials(
        ctx,
        caller,
        REPOSITORY,
        body.repo,
        fields,
        create=True,
        upsert=upsert,
        about=f"repository {redact_url(body.repo)}",
    )
    return repository_view(written)


@router.put("/{repo:path}")
async def update_repository(
    repo: str, body: RepositoryBody, caller: Caller, ctx: Ctx
) -> dict[str, Any]:
    """Update a repository; omitted secrets keep their stored values."""
    if _normalize(repo) != _normalize(body.repo):
        raise BadInput("the body names another repository than the path")
    fields = body.fields()
    await ctx.enforce(caller, Resource.REPOSITORIES, Action.UPDATE, _object(fields))
    written = await write_credentials(
        ctx,
        caller,
        REPOSITORY,
        body.repo,
        fields,
        create=False,
        upsert=True,
        about=f"repository {redact_url(body.repo)}",
    )
    return repository_view(written)


@router.delete("/{repo:path}")
async def delete_repository(repo: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Remove a repository's Secret."""
    store = CredentialSecrets(ctx.client, ctx.namespace, REPOSITORY)
    found = await store.find(repo)
    fields = found[1] if found else {"url": repo}
    await ctx.enforce(caller, Resource.REPOSITORIES, Action.DELETE, _object(fields))
    deleted = await store.delete(repo)
    await ctx.auditor.record(
        caller.username,
        Reason.DELETED,
        Subject("v1", "Secret", store.secret_name(deleted.get("url", repo)), ctx.namespace),
        "removed",
        about=f"repository {redact_url(repo)}",
    )
    return {}
