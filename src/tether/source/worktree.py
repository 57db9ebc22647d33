"""Writing a commit's tree into an empty folder, safely.

Repository content is hostile, so the writer trusts nothing in the tree:

- every name is checked: no ``.``, ``..``, ``/``, NUL or ``.git`` (in any case), so no
  entry can land outside the folder or plant Git metadata;
- every entry is created relative to a descriptor of its folder, opened with
  ``O_NOFOLLOW`` in folders the writer made itself, and files with
  ``O_CREAT | O_EXCL | O_NOFOLLOW``, so nothing is ever written through a symlink;
- symlinks are created as symlinks, with their target as recorded; whether a target
  is acceptable is the renderer's decision, which sees the link, not what it points to;
- submodules (gitlinks) become empty folders and are reported to the caller, which
  fills them only when asked to;
- the total size of file contents and link targets is capped; crossing the cap stops
  the walk with :class:`RepositoryTooLarge` (the caller removes the partial folder).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import FileMode

from tether.source.errors import CheckoutFailed, RepositoryTooLarge, UnsafeRepositoryContent

#: Default cap on the bytes a checkout may write: 1 GiB.
DEFAULT_MAX_CHECKOUT_BYTES = 1 << 30


@dataclass(frozen=True, slots=True)
class Gitlink:
    """A submodule entry: the folder it occupies and the commit it pins."""

    path: str
    sha: str


class SizeBudget:
    """Counts bytes written across one checkout (submodules included)."""

    def __init__(self, limit: int, repo: str) -> None:
        """Allow ``limit`` bytes; ``repo`` (redacted) names the repository in errors."""
        self.limit = limit
        self.used = 0
        self._repo = repo

    def take(self, size: int) -> None:
        """Account for ``size`` more bytes, or raise :class:`RepositoryTooLarge`."""
        self.used += size
        if self.used > self.limit:
            raise RepositoryTooLarge(
                self._repo,
                f"the tree exceeds the checkout size limit of {self.limit} bytes",
            )


def check_entry_name(name: str, where: str, repo: str) -> None:
    """Raise :class:`UnsafeRepositoryContent` for a name that could escape or plant metadata."""
    if (
        name in ("", ".", "..")
        or "/" in name
        or "\\" in name
        or "\0" in name
        or name.lower().rstrip(". ") == ".git"
    ):
        shown = f"{where}/{name}" if where else name
        raise UnsafeRepositoryContent(repo, f"refusing unsafe path {shown!r}")


def write_tree(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    dest: Path,
    budget: SizeBudget,
    repo_name: str,
    stop: threading.Event | None = None,
) -> list[Gitlink]:
    """Write ``tree`` into the existing empty folder ``dest``; return its submodule entries.

    Setting ``stop`` (from another thread) ends the walk early with :class:`CheckoutFailed`.
    """
    gitlinks: list[Gitlink] = []
    pending: list[tuple[pygit2.Tree, str]] = [(tree, "")]
    root_fd = os.open(dest, _DIRECTORY_FLAGS)
    try:
        while pending:
            current, relative = pending.pop()
            if stop is not None and stop.is_set():
                raise CheckoutFailed(repo_name, "the checkout was cancelled")
            # Entries are created relative to their folder's descriptor: no path is
            # resolved twice, and no symlink can sit on the way to where we write.
            folder_fd = os.open(relative, _DIRECTORY_FLAGS, dir_fd=root_fd) if relative else root_fd
            try:
                for entry in current:
                    _write_entry(
                        repo, entry, relative, folder_fd, budget, repo_name, pending, gitlinks
                    )
            finally:
                if folder_fd != root_fd:
                    os.close(folder_fd)
    finally:
        os.close(root_fd)
    return gitlinks


def _write_entry(
    repo: pygit2.Repository,
    entry: pygit2.Object,
    relative: str,
    folder_fd: int,
    budget: SizeBudget,
    repo_name: str,
    pending: list[tuple[pygit2.Tree, str]],
    gitlinks: list[Gitlink],
) -> None:
    name = entry.name or ""
    check_entry_name(name, relative, repo_name)
    path = f"{relative}/{name}" if relative else name
    mode = entry.filemode
    if mode == FileMode.TREE:
        os.mkdir(name, 0o755, dir_fd=folder_fd)
        subtree = repo.get(entry.id)
        assert isinstance(subtree, pygit2.Tree)
        pending.append((subtree, path))
    elif mode in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
        # The header tells the size without inflating the blob: a huge file is refused
        # before it is read into memory.
        _, size = repo.odb.read_header(entry.id)
        budget.take(size)
        blob = repo.get(entry.id)
        assert isinstance(blob, pygit2.Blob)
        executable = mode == FileMode.BLOB_EXECUTABLE
        _write_file(name, folder_fd, blob.data, 0o755 if executable else 0o644)
    elif mode == FileMode.LINK:
        blob = repo.get(entry.id)
        assert isinstance(blob, pygit2.Blob)
        budget.take(len(blob.data))
        os.symlink(os.fsdecode(blob.data), name, dir_fd=folder_fd)
    elif mode == FileMode.COMMIT:
        os.mkdir(name, 0o755, dir_fd=folder_fd)
        gitlinks.append(Gitlink(path, str(entry.id)))
    else:
        raise UnsafeRepositoryContent(repo_name, f"unknown file mode {mode:o} at {path!r}")


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


def _write_file(name: str, folder_fd: int, data: bytes, mode: int) -> None:
    fd = os.open(name, _NEW_FILE_FLAGS, mode, dir_fd=folder_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        # The umask may have narrowed the mode; the executable bit must survive.
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
