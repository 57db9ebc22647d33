"""``/api/version``: the server's version, readable without logging in (as Argo CD's)."""

from __future__ import annotations

import platform
import sys

from fastapi import APIRouter

from tether import __version__

router = APIRouter(tags=["version"])


@router.get("/api/version")
async def get_version() -> dict[str, str]:
    """Version, Python and platform of this server."""
    return {
        "Version": __version__,
        "Platform": f"{sys.platform}/{platform.machine()}",
        "Compiler": f"python {platform.python_version()}",
    }
