"""The external programs a render runs, and how they are run.

:class:`Toolchain` finds ``helm`` and ``kubectl`` (or a standalone ``kustomize``) with
:func:`tether.tools.find_tool`, runs them through an injected :class:`ToolRunner`
(the sandboxed :func:`~tether.render.process.run_process` by default) and reports
their versions, which are part of every cache key: upgrading helm re-renders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from tether.render.errors import RenderError
from tether.render.process import Limits, ProcessResult, run_process
from tether.tools import ToolNotFoundError, find_tool

#: Tool versions by (tool, executable path, size, mtime): a binary's version is fixed.
_VERSIONS: dict[tuple[str, str, int, int], str] = {}


class ToolRunner(Protocol):
    """Runs one command in a sandbox (the signature of ``run_process``)."""

    async def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        limits: Limits = ...,
        check: bool = True,
        subject: str = "",
    ) -> ProcessResult:
        """Run ``argv`` in ``cwd``; raise a ``ToolError`` on failure when ``check``."""
        ...


class Toolchain:
    """Where ``helm`` and kustomize are, how to run them, and which versions they are."""

    def __init__(self, *, runner: ToolRunner = run_process, limits: Limits | None = None) -> None:
        """Use ``runner`` to run tools, each within ``limits`` (default: ``Limits()``)."""
        self.runner = runner
        self.limits = limits or Limits()
        # A toolchain's binaries are fixed for its lifetime (a restart picks up an
        # upgrade), so each version is looked up once: a warm render runs no stat.
        self._versions: dict[str, str] = {}

    def helm(self, *, subject: str) -> Path:
        """The ``helm`` executable."""
        return _find("helm", subject)

    def kustomize_argv(self, *, subject: str) -> list[str]:
        """The command that builds a kustomization.

        ``kustomize build`` if a standalone kustomize is installed, else ``kubectl kustomize``.
        """
        try:
            return [str(find_tool("kustomize")), "build"]
        except ToolNotFoundError:
            return [str(_find("kubectl", subject)), "kustomize"]

    async def run(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], subject: str
    ) -> ProcessResult:
        """Run ``argv`` with this toolchain's runner and limits."""
        return await self.runner(argv, cwd=cwd, env=env, limits=self.limits, subject=subject)

    async def version(self, tool: str) -> str:
        """The version string of ``helm`` or ``kustomize``.

        Remembered by this toolchain, and process-wide under the binary's path, size and
        modification time, so a new toolchain over a replaced binary asks again.
        """
        known = self._versions.get(tool)
        if known is not None:
            return known
        if tool == "helm":
            argv = [str(self.helm(subject="helm")), "version", "--short"]
        elif tool == "kustomize":
            base = self.kustomize_argv(subject="kustomize")
            argv = (
                [base[0], "version"]
                if base[1] == "build"
                else [base[0], "version", "--client", "-o", "yaml"]
            )
        else:
            raise ValueError(f"unknown tool {tool!r}")
        status = os.stat(argv[0])
        identity = (tool, argv[0], status.st_size, status.st_mtime_ns)
        known = _VERSIONS.get(identity)
        if known is None:
            result = await self.run(argv, cwd=Path("/"), env={}, subject=f"{tool} version")
            text = result.stdout.decode("utf-8", "replace")
            match = re.search(r"kustomizeVersion:\s*(\S+)", text)
            known = _VERSIONS[identity] = match.group(1) if match else text.strip()
        self._versions[tool] = known
        return known


def _find(name: str, subject: str) -> Path:
    try:
        return find_tool(name)
    except ToolNotFoundError as error:
        raise RenderError(subject, str(error)) from error
