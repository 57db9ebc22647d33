"""One bare mirror of one remote repository, driven synchronously (from a worker thread).

The mirror holds every ref of the remote under the same name (``+refs/*:refs/*``,
pruned, so force-pushes move refs and deleted branches disappear) and a ``HEAD`` that
points where the remote's ``HEAD`` points (its default branch). Objects are never
deleted, so a commit that was fetched once stays resolvable by SHA after its branch is
gone.

:meth:`Mirror.update` first lists the remote's refs (one round trip, no pack) and
fetches only when they differ from the mirror's, so an unchanged repository costs a
``ls-remote``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

import pygit2

from tether.source.urls import RepoURL

#: Every ref of the remote, under the same name, force-updated.
MIRROR_REFSPEC = "+refs/*:refs/*"


@dataclass(frozen=True, slots=True)
class RefSnapshot:
    """The refs of a repository: full ref name to object id, and the target of ``HEAD``."""

    refs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: The ref ``HEAD`` points at (``refs/heads/main``), or ``""`` if unknown.
    head: str = ""

    @property
    def head_sha(self) -> str:
        """The object id of the default branch, or ``""``."""
        return self.refs.get(self.head, "")


class RemoteAccess(Protocol):
    """How a mirror talks to its remote: libgit2, or the ``git`` program."""

    def list_refs(self, repo: pygit2.Repository) -> RefSnapshot:
        """The remote's refs and ``HEAD`` target, as advertised (one round trip)."""
        ...

    def fetch_all(self, repo: pygit2.Repository, path: Path) -> None:
        """Fetch ``+refs/*:refs/*`` with pruning into the bare repository at ``path``."""
        ...


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """What :meth:`Mirror.update` did."""

    fetched: bool
    snapshot: RefSnapshot


class Mirror:
    """A bare repository at ``path`` mirroring ``url``."""

    def __init__(self, path: Path, url: RepoURL) -> None:
        """Mirror ``url`` into ``path`` (created on first use)."""
        self.path = path
        self.url = url
        # Serialises writers (fetches); readers open their own Repository handle.
        self.write_lock = threading.Lock()
        self._create_lock = threading.Lock()

    def open(self) -> pygit2.Repository:
        """A fresh handle on the mirror, creating the bare repository if needed."""
        if not (self.path / "HEAD").exists():
            with self._create_lock:
                if not (self.path / "HEAD").exists():
                    self.path.mkdir(parents=True, exist_ok=True)
                    return pygit2.init_repository(str(self.path), bare=True)
        return pygit2.Repository(str(self.path))

    @property
    def exists(self) -> bool:
        """Whether the mirror has been created (it may still hold no refs)."""
        return (self.path / "HEAD").exists()

    def local_snapshot(self) -> RefSnapshot:
        """The mirror's refs."""
        repo = self.open()
        refs = {}
        for name in repo.references:
            ref = repo.references[name]
            if ref.type == pygit2.enums.ReferenceType.DIRECT:
                refs[name] = str(ref.target)
        head = repo.references.get("HEAD")
        target = head.target if head is not None else ""
        head_name = target if isinstance(target, str) else ""
        return RefSnapshot(MappingProxyType(refs), head_name if head_name in refs else "")

    def update(self, remote: RemoteAccess) -> UpdateOutcome:
        """Bring the mirror up to date with the remote; fetch only if refs changed."""
        with self.write_lock:
            repo = self._open_or_recreate()
            self._remove_stale_locks()
            remote_state = remote.list_refs(repo)
            local_state = self.local_snapshot()
            if dict(remote_state.refs) == dict(local_state.refs) and (
                remote_state.head == local_state.head
            ):
                return UpdateOutcome(False, local_state)
            remote.fetch_all(repo, self.path)
            if remote_state.head:
                repo.set_head(remote_state.head)
            return UpdateOutcome(True, self.local_snapshot())

    def _open_or_recreate(self) -> pygit2.Repository:
        """Open the mirror; one that libgit2 cannot open is set aside and started afresh.

        A mirror is only a cache of the remote: refetching everything is always correct.
        The broken folder is kept next to it (``<name>.broken``) for inspection.
        """
        try:
            self.local_snapshot()  # opens the repository and reads every ref
            return self.open()
        except pygit2.GitError:
            broken = self.path.with_name(self.path.name + ".broken")
            shutil.rmtree(broken, ignore_errors=True)
            self.path.rename(broken)
            return self.open()

    def _remove_stale_locks(self) -> None:
        """Delete lock files a killed fetch left behind.

        Holding :attr:`write_lock` means no fetch of this process is running, and a
        cache folder belongs to one process, so any lock file now is stale; left alone
        it would make every later fetch fail to update that ref.
        """
        for lock in (*self.path.glob("*.lock"), *(self.path / "refs").rglob("*.lock")):
            lock.unlink(missing_ok=True)

    def has_commit(self, sha: str) -> bool:
        """Whether the mirror holds commit ``sha`` (a full object id)."""
        try:
            obj = self.open().get(sha)
        except ValueError:
            return False
        return obj is not None and obj.type == pygit2.enums.ObjectType.COMMIT
