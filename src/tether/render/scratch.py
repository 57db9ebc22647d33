"""Scratch copies of a checkout, for tools that must edit or write into it.

Argo CD edits ``kustomization.yaml`` and lets ``helm dependency build`` write
``charts/`` inside its working copy. tether never writes into a checkout (it may be
shared by other renders of the same commit), so such renders run in private scratch
space, made here and removed afterwards:

- :func:`scratch_copy` copies the whole repository (for plugins, which may read and
  write anywhere in it);
- :func:`scratch_overlay` copies only the folder a tool writes into, and mirrors the
  rest of the repository around it with symlinks to the checkout: along the path from
  the root to that folder, every other entry is a link. Relative references such as
  ``../../base`` or ``file://../common`` resolve as in the checkout, at the cost of
  copying one folder instead of the repository (a monorepo of 200 apps copies one app).

``.git`` is never copied; symlinks inside copied folders are copied as symlinks (they
have passed :func:`~tether.render.paths.check_tree`, so in-repo targets stay valid).
"""

from __future__ import annotations

import asyncio
import os
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
        await asyncio.to_thread(copy_tree, root, copy)
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


@asynccontextmanager
async def scratch_overlay(root: Path, folder: Path) -> AsyncIterator[Path]:
    """Yield a scratch root holding a real copy of ``folder`` (inside ``root``).

    Everything else of the repository is reachable through symlinks at the same
    relative paths. The scratch root is deleted on exit; the checkout is never written.
    """
    parent = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tether-scratch-"))
    scratch = parent / "repo"
    try:
        await asyncio.to_thread(_build_overlay, root, folder, scratch)
        yield scratch
    finally:
        await asyncio.to_thread(shutil.rmtree, parent, True)


def _build_overlay(root: Path, folder: Path, scratch: Path) -> None:
    source, target = root, scratch
    for part in folder.relative_to(root).parts:
        target.mkdir()
        with os.scandir(source) as entries:
            for entry in entries:
                if entry.name not in (part, ".git"):
                    os.symlink(entry.path, target / entry.name)
        source, target = source / part, target / part
    copy_tree(source, target)


class _CopyFailed(Exception):
    """Carries a file's copy error out of :func:`shutil.copytree` (which would collect it)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def _copy_file(source: str, target: str) -> object:
    try:
        return shutil.copy2(source, target)
    except OSError as error:
        raise _CopyFailed(error) from error


def copy_tree(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (symlinks as symlinks, no ``.git``).

    Stops at the first file that cannot be copied and raises its own error:
    ``shutil.copytree`` would go on through every other file (on a full disk, each
    failing the same way) and raise them all as one unreadable list.
    """
    try:
        shutil.copytree(
            source,
            target,
            symlinks=True,
            ignore=shutil.ignore_patterns(".git"),
            copy_function=_copy_file,
        )
    except _CopyFailed as failed:
        raise failed.error from None
