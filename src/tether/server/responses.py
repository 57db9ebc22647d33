"""JSON responses rendered by orjson.

Handlers on hot paths (listing applications) return :class:`OrjsonResponse` directly:
FastAPI then skips validating and re-encoding the return value, which for a page of a
hundred Applications costs several times more than producing it.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class OrjsonResponse(JSONResponse):
    """A JSON response serialised by orjson."""

    def render(self, content: Any) -> bytes:
        """Serialise ``content``."""
        return orjson.dumps(content)
