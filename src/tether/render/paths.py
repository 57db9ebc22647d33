"""Keeping every path inside the repository.

Two checks guard a render:

- :func:`check_tree` walks a folder of the checkout before anything in it is read and
  refuses symlinks whose target lies outside the repository, symlink loops, and chains
  of symlinks that leave the repository even if they come back into it;
- :func:`resolve_in_repo` turns a path named by the Application (a Helm value file,
  a ``--set-file`` path, a Kustomize component, a Jsonnet library folder) into a real
  path inside the repository, or refuses it.

Paths follow Argo CD's rules: a relative path is relative to the application folder
(or the chart), an absolute path is relative to the repository root, ``file://`` URLs
are refused, and ``..`` may move around inside the repository but never above its
root. Symlinks are followed hop by hop, so every intermediate target is checked, not
only the final one.
"""

from __future__ import annotations

import os
from pathlib import Path

from tether.render.errors import PathEscapeError

#: Symlink hops followed before a chain counts as a loop (Linux's own limit).
MAX_SYMLINK_HOPS = 40


def resolve_in_repo(root: Path, base: Path, name: str, *, subject: str) -> Path:
    """The real path of ``name`` (relative to ``base``, or to ``root`` if absolute).

    ``root`` is the repository's real path, ``base`` a real folder inside it. ``name``
    is resolved the way a tool given it would resolve it (see :func:`follow_symlinks`),
    so what is checked is what a tool reads. Raises :class:`PathEscapeError` if any step
    leaves ``root``. The result need not exist.
    """
    if name.startswith("file:"):
        raise PathEscapeError(subject, name, "is a file:// URL; name a path in the repository")
    if "\0" in name:
        raise PathEscapeError(subject, name, "contains a NUL byte")
    start = () if name.startswith("/") else base.relative_to(root).parts
    return _resolve(root, [*start, *name.split("/")], subject=subject, named=name)


def follow_symlinks(root: Path, path: Path, *, subject: str, named: str) -> Path:
    """``path`` (inside ``root``) with every symlink in it followed.

    Resolution works as the kernel's does, one component at a time: a symlink's target
    is spliced into the components still to resolve, and ``..`` moves to the parent of
    what has been resolved so far (so ``link/..`` is the parent of the link's *target*,
    not of the link). Every step must stay inside ``root``, and more than
    :data:`MAX_SYMLINK_HOPS` hops is a loop. Components that do not exist are kept.
    """
    return _resolve(root, list(path.relative_to(root).parts), subject=subject, named=named)


def _resolve(root: Path, pending: list[str], *, subject: str, named: str) -> Path:
    """Resolve the components ``pending`` from ``root`` (see :func:`follow_symlinks`)."""
    hops = 0
    resolved = root
    via = ""  # the last symlink followed, to explain an escape through it
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if resolved == root:
                reason = (
                    f"is a symlink ({via}) that leaves the repository"
                    if via
                    else "resolves outside the repository"
                )
                raise PathEscapeError(subject, named, reason)
            resolved = resolved.parent
            continue
        candidate = resolved / part
        try:
            target = os.readlink(candidate)
        except OSError:  # not a symlink, or does not exist: keep it literally
            resolved = candidate
            continue
        hops += 1
        if hops > MAX_SYMLINK_HOPS:
            raise PathEscapeError(subject, named, "is a symlink loop")
        via = f"{candidate.relative_to(root)} -> {target}"
        if target.startswith("/"):
            # An absolute target must name the repository's own path; what follows is
            # resolved from the root, ``..`` included.
            parts = Path(target).parts
            if parts[: len(root.parts)] != root.parts:
                raise PathEscapeError(
                    subject, named, f"is a symlink ({via}) that leaves the repository"
                )
            pending[:0] = list(parts[len(root.parts) :])
            resolved = root
        else:
            # A relative target continues from the link's own (resolved) folder.
            pending[:0] = target.split("/")
    return resolved


def check_tree(root: Path, folder: Path, *, subject: str) -> None:
    """Refuse the render if any symlink under ``folder`` leaves ``root`` or loops.

    Folders are walked without following symlinks; every symlink found (to a file or a
    folder) is resolved hop by hop with :func:`follow_symlinks`. Git's own ``.git``
    folder (present in local working trees) is not descended into: Git stores no
    symlinks there, and nothing renders from it.
    """
    for current, dirs, files in os.walk(folder, followlinks=False):
        here = Path(current)
        for name in [*dirs, *files]:
            path = here / name
            if path.is_symlink():
                follow_symlinks(root, path, subject=subject, named=str(path.relative_to(root)))
        dirs[:] = [name for name in dirs if name != ".git"]


def repo_relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (``.`` for the root itself)."""
    relative = path.relative_to(root).as_posix()
    return relative or "."
