"""Finding the external programs tether runs: ``kubectl`` (with kustomize) and ``helm``.

Lookup order for a tool ``name``:

1. the environment variable ``TETHER_<NAME>`` (``TETHER_KUBECTL``, ``TETHER_HELM``),
   when set: explicit configuration beats discovery, and a set variable that names
   no executable file is an error rather than silently ignored;
2. ``.tools/bin/<name>`` of the source checkout, where ``scripts/setup`` installs them;
3. ``PATH``.

This module imports nothing of tether, so every layer may use it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: Where ``scripts/setup`` installs tools, relative to the source checkout.
_CHECKOUT_TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "bin"


class ToolNotFoundError(LookupError):
    """A required external program could not be found."""

    def __init__(self, name: str, detail: str) -> None:
        """Record which tool is missing and why."""
        super().__init__(f"failed to find tool {name}: {detail}")
        self.name = name


def env_var(name: str) -> str:
    """The environment variable that overrides the location of tool ``name``."""
    return "TETHER_" + name.upper().replace("-", "_")


def find_tool(name: str, *, tools_dir: Path | None = None) -> Path:
    """Return the path of the executable ``name``, or raise :class:`ToolNotFoundError`.

    ``tools_dir`` replaces the checkout's ``.tools/bin`` (tests use it).
    """
    override = os.environ.get(env_var(name))
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ToolNotFoundError(name, f"{env_var(name)}={override} is not an executable file")
    candidate = (tools_dir or _CHECKOUT_TOOLS) / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise ToolNotFoundError(
        name,
        f"not in {tools_dir or _CHECKOUT_TOOLS}, not on PATH and {env_var(name)} is unset; "
        "run scripts/setup or install it",
    )
