"""Writing a repository's or cluster's credentials Secret, audited: shared by both routes."""

from __future__ import annotations

from tether.server.audit import Reason, Subject
from tether.server.context import Caller, Ctx
from tether.server.credentials import CredentialKind, CredentialSecrets


async def write_credentials(
    ctx: Ctx,
    caller: Caller,
    kind: CredentialKind,
    key: str,
    fields: dict[str, str],
    *,
    create: bool,
    upsert: bool,
    about: str,
) -> dict[str, str]:
    """Add (``create``) or update the Secret of ``key``, and record who did it."""
    store = CredentialSecrets(ctx.client, ctx.namespace, kind)
    written = await store.write(fields, upsert=upsert, create=create)
    await ctx.auditor.record(
        caller.username,
        Reason.CREATED if create else Reason.UPDATED,
        Subject("v1", "Secret", store.secret_name(key), ctx.namespace),
        "added" if create else "updated",
        about=about,
    )
    return written
