"""``/api/v1/settings``: the public settings the UI and CLI read before logging in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tether.server.accounts import Capability
from tether.server.context import Ctx

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


@router.get("")
async def get_settings(ctx: Ctx) -> dict[str, Any]:
    """Argo CD's public ``Settings``: URL, login options, UI hints; never a secret."""
    cm = (await ctx.store.snapshot()).settings
    accounts = await ctx.authenticator.accounts()
    return {
        "url": cm.get("url", ""),
        "appLabelKey": cm.get("application.instanceLabelKey", "app.kubernetes.io/instance"),
        "trackingMethod": cm.get("application.resourceTrackingMethod", "annotation"),
        "statusBadgeEnabled": cm.get("statusbadge.enabled", "false") == "true",
        "userLoginsDisabled": not any(a.can(Capability.LOGIN) for a in accounts.values()),
        "kustomizeVersions": [],
        "uiBannerContent": cm.get("ui.bannercontent", ""),
        "uiBannerURL": cm.get("ui.bannerurl", ""),
        "execEnabled": False,
        "controllerNamespace": ctx.namespace,
    }
