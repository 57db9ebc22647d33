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

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pygit2
from pygit2.enums import FetchPrune

from tether.source.urls import RepoURL

_MIRROR_REFSPEC = "+refs/*:refs/*"


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

    def open(self) -> pygit2.Repository:
        """A fresh handle on the mirror, creating the bare repository if needed."""
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

    def remote_snapshot(self, callbacks: pygit2.RemoteCallbacks) -> RefSnapshot:
        """The remote's refs, as advertised (peeled ``^{}`` entries left out)."""
        remote = self.open().remotes.create_anonymous(self.url.transport_url)
        refs: dict[str, str] = {}
        head = ""
        for advertised in remote.list_heads(callbacks=callbacks):
            name = advertised.name or ""
            if name == "HEAD":
                head = advertised.symref_target or ""
            elif name.startswith("refs/") and not name.endswith("^{}"):
                refs[name] = str(advertised.oid)
        return RefSnapshot(MappingProxyType(refs), head)

    def update(self, callbacks: Callable[[], pygit2.RemoteCallbacks]) -> UpdateOutcome:
        """Bring the mirror up to date with the remote; fetch only if refs changed.

        ``callbacks`` makes the callbacks for one connection: libgit2 asks a connection
        for credentials again only when the previous ones were rejected.
        """
        with self.write_lock:
            remote_state = self.remote_snapshot(callbacks())
            local_state = self.local_snapshot()
            if dict(remote_state.refs) == dict(local_state.refs) and (
                remote_state.head == local_state.head
            ):
                return UpdateOutcome(False, local_state)
            repo = self.open()
            remote = repo.remotes.create_anonymous(self.url.transport_url)
            remote.fetch([_MIRROR_REFSPEC], callbacks=callbacks(), prune=FetchPrune.PRUNE)
            if remote_state.head:
                repo.set_head(remote_state.head)
            return UpdateOutcome(True, self.local_snapshot())

    def has_commit(self, sha: str) -> bool:
        """Whether the mirror holds commit ``sha`` (a full object id)."""
        try:
            obj = self.open().get(sha)
        except ValueError:
            return False
        return obj is not None and obj.type == pygit2.enums.ObjectType.COMMIT
