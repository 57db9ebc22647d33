"""Scratch copies of a checkout, for tools that must edit or write into it.

Argo CD edits ``kustomization.yaml`` and lets ``helm dependency build`` write
``charts/`` inside its working copy. tether never writes into a checkout (it may be
shared by other renders of the same commit), so such renders run in a private copy of
the repository, made here and removed afterwards. ``.git`` is not copied; symlinks are
copied as symlinks (they have passed :func:`~tether.render.paths.check_tree`, and
relative in-repo targets stay valid in the copy).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


@asynccontextmanager
async def scratch_copy(root: Path) -> AsyncIterator[Path]:
    """Yield a fresh copy of the repository at ``root``; it is deleted on exit."""
    parent = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tether-scratch-"))
    copy = parent / "repo"
    try:
        await asyncio.to_thread(
            shutil.copytree, root, copy, symlinks=True, ignore=shutil.ignore_patterns(".git")
        )
        yield copy
    finally:
        await asyncio.to_thread(shutil.rmtree, parent, True)


@asynccontextmanager
async def scratch_text(text: str, *, suffix: str = ".yaml") -> AsyncIterator[Path | None]:
    """Yield a private file holding ``text`` (``None`` when ``text`` is empty)."""
    if not text:
        yield None
        return
    parent = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tether-values-"))
    path = parent / f"values{suffix}"
    try:
        await asyncio.to_thread(path.write_text, text)
        yield path
    finally:
        await asyncio.to_thread(shutil.rmtree, parent, True)
