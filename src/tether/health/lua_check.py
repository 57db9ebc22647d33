"""One custom health check: a Lua script, and how its result becomes a verdict.

The script returns a table ``{status = ..., message = ...}``. A status other than
Healthy, Progressing, Degraded, Suspended, Missing or Unknown gives ``Unknown``, "Lua
returned an invalid health status"; a return value that is not a table gives
``Unknown``, "expect table output from Lua script, not <type>" (both Argo CD's
messages); a script that fails gives ``Unknown``, "failed to run health check
<source>: <error>".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lupa.lua51 as lua

from tether.health.sandbox import LuaSandbox, ScriptError, ScriptResult
from tether.model import Health, HealthStatus

_STATUSES = {status.value: status for status in HealthStatus}


@dataclass(frozen=True, slots=True)
class LuaHealthCheck:
    """One custom health script and where it came from."""

    #: A ConfigMap key or a file path, for messages.
    source: str
    script: str
    open_libs: bool

    def assess(self, obj: Mapping[str, Any], sandbox: LuaSandbox) -> Health:
        """Run the script on ``obj``; any failure is ``Unknown`` with the reason."""
        try:
            result = sandbox.run(self.script, obj, open_libs=self.open_libs)
            return _interpret(result)
        # LuaError and UnicodeError: a result too odd to read back, or not UTF-8.
        except (ScriptError, lua.LuaError, UnicodeError) as error:
            return Health(
                HealthStatus.UNKNOWN, f"failed to run health check {self.source}: {error}"
            )


def _interpret(result: ScriptResult) -> Health:
    if result.lua_type != "table":
        return Health(
            HealthStatus.UNKNOWN, f"expect table output from Lua script, not {result.lua_type}"
        )
    status = _STATUSES.get(result.status) if isinstance(result.status, str) else None
    if status is None:
        return Health(HealthStatus.UNKNOWN, "Lua returned an invalid health status")
    message = "" if result.message is None else result.message
    if not isinstance(message, str):
        return Health(HealthStatus.UNKNOWN, "Lua returned a health message that is not a string")
    return Health(status, message)


@functools.cache
def default_sandbox() -> LuaSandbox:
    """The process-wide sandbox, so that scripts compile once whoever loads them."""
    return LuaSandbox()
