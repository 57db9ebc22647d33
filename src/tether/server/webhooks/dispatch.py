"""``POST /api/webhook``: pick the provider, check the secret, refresh matching apps.

Bodies are capped at :data:`MAX_WEBHOOK_BODY` (50 MB, Argo CD's default) by the app's
body limit. The push's applications get the ``argocd.argoproj.io/refresh: normal``
annotation (the controller compares them again at once) and the injected ``on_push``
hook is called so a controller in the same process can react without waiting for the
annotation to travel through its watch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import orjson
from fastapi import APIRouter, Request

from tether.kube import KubeError, NotFound
from tether.model import API_VERSION, keys
from tether.server.context import ServerContext, context
from tether.server.errors import BadInput, Unauthenticated
from tether.server.webhooks import (
    azuredevops,
    bitbucket,
    bitbucketserver,
    gitea,
    github,
    gitlab,
)
from tether.server.webhooks.push import Push, WebhookUnauthorized, concerns

log = logging.getLogger(__name__)

MAX_WEBHOOK_BODY = 50 * 1024 * 1024
#: Checked in order: Bitbucket Cloud before Server (Server is "X-Event-Key without a UUID").
PROVIDERS: tuple[ModuleType, ...] = (github, gitlab, gitea, azuredevops, bitbucket, bitbucketserver)

router = APIRouter(tags=["webhooks"])


def provider_of(headers: Mapping[str, str]) -> ModuleType:
    """The provider module that recognises the request's headers."""
    for provider in PROVIDERS:
        if provider.detect(headers):
            return provider
    raise BadInput("unknown webhook event")


async def refresh_for(ctx: ServerContext, push: Push) -> list[str]:
    """Ask for a normal refresh of every application the push concerns; their names."""
    refreshed = []
    for app in ctx.apps.items():
        if not concerns(app, push):
            continue
        name = str(app["metadata"]["name"])
        try:
            updated = await ctx.client.patch(
                API_VERSION,
                "Application",
                name,
                ctx.namespace,
                {"metadata": {"annotations": {keys.REFRESH: "normal"}}},
            )
        except NotFound:
            continue
        except KubeError as error:
            log.warning("webhook: failed to refresh application %s: %s", name, error)
            continue
        ctx.apps.observe(updated)
        refreshed.append(name)
    return refreshed


@router.post("/api/webhook")
async def receive_webhook(request: Request) -> dict[str, Any]:
    """Handle one webhook delivery."""
    ctx = await context(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    provider = provider_of(headers)
    body = await request.body()
    secrets = (await ctx.store.snapshot()).secret
    try:
        provider.verify(headers, body, {k: secrets.get(k, "") for k in provider.SECRET_KEYS})
    except WebhookUnauthorized as error:
        log.warning("webhook: %s", error)
        raise Unauthenticated(str(error)) from error
    try:
        payload = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as error:
        raise BadInput(f"invalid {provider.NAME} webhook payload: not JSON") from error
    if not isinstance(payload, dict):
        raise BadInput(f"invalid {provider.NAME} webhook payload: not a JSON object")
    refreshed: list[str] = []
    for push in provider.parse(headers, payload):
        refreshed += await refresh_for(ctx, push)
        if ctx.on_push is not None and push.repo_urls:
            await ctx.on_push(
                push.repo_urls[0], push.revision or push.ref, tuple(push.changed_paths or ())
            )
    log.info("webhook: %s push refreshed %d applications", provider.NAME, len(refreshed))
    return {"refreshed": sorted(set(refreshed))}
