"""The Git cache: the asynchronous face of the package.

:class:`GitCache` keeps one bare mirror per normalised repository URL under its cache
folder and offers everything above it needs:

- :meth:`GitCache.refresh` brings a mirror up to date (``ls-remote`` first, a fetch
  only when refs changed); concurrent refreshes of one repository share one fetch;
- :meth:`GitCache.resolve` turns a ``targetRevision`` into a commit;
- :meth:`GitCache.checkout` writes a commit into a fresh, randomly named temporary
  folder and removes it when the ``async with`` block ends, however it ends;
- :meth:`GitCache.commit_info`, :meth:`GitCache.changed_paths`,
  :meth:`GitCache.list_paths` and :meth:`GitCache.read_file` read commits without a
  checkout;
- :meth:`GitCache.state` reports the last fetch and the last error of a repository.

A cache folder belongs to one process. Lock files a killed fetch left behind are
removed before the next fetch, and a mirror libgit2 can no longer read is set aside and
fetched afresh: a mirror is only a cache of its remote.

All Git work runs in worker threads, bounded by the fetch timeout. A failed refresh
leaves the mirror as it was, records the error in :meth:`GitCache.state` and raises it;
``resolve(..., refresh=False)`` keeps answering from the last fetched state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

import pygit2

from tether.source.credentials import Credentials, CredentialStore
from tether.source.errors import (
    CheckoutFailed,
    RepositoryUnreachable,
    RevisionNotFound,
    SourceError,
    UnsafeRepositoryContent,
)
from tether.source.gitcli import CliRemote, GitCLI
from tether.source.history import CommitInfo, diff_paths, read_commit_info
from tether.source.mirror import Mirror, RefSnapshot, RemoteAccess
from tether.source.revision import Revision, RevisionKind, is_full_sha, resolve_revision
from tether.source.submodules import parse_gitmodules, resolve_submodule_url
from tether.source.transport import (
    TRANSFER_ERRORS,
    FetchCallbacks,
    LibgitRemote,
    translate_error,
)
from tether.source.tree import EntryKind, commit_tree, list_paths, read_blob
from tether.source.urls import RepoURL, Scheme, parse_repo_url
from tether.source.worktree import (
    DEFAULT_MAX_CHECKOUT_BYTES,
    Gitlink,
    SizeBudget,
    write_tree,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How deep nested submodules are followed when a checkout asks for them.
MAX_SUBMODULE_DEPTH = 3


class Clock(Protocol):
    """Tells the wall-clock time for status timestamps."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RepositoryState:
    """What the cache knows about one repository, safe to show anywhere."""

    #: The URL as first given, redacted.
    url: str
    normalized: str
    #: When refs were last confirmed current (a fetch, or an ls-remote with no change).
    last_refreshed: datetime | None = None
    #: When a fetch last transferred objects.
    last_fetched: datetime | None = None
    #: Message of the last refresh's error; ``""`` once a refresh succeeds.
    last_error: str = ""
    #: The default branch's commit in the mirror (the last fetched state).
    head_sha: str = ""


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """The outcome of one refresh."""

    url: str
    #: Whether objects were fetched (``False``: refs were already current).
    fetched: bool
    refs: RefSnapshot


@dataclass(frozen=True, slots=True)
class RefreshRecord:
    """How one refresh went, for whoever measures them (no credentials in it)."""

    #: The normalised repository URL (``host[:port]/path``).
    repo: str
    #: Wall time of the whole refresh: the ref listing, and the fetch when refs changed.
    seconds: float
    fetched: bool
    failed: bool


@dataclass(frozen=True, slots=True)
class Checkout:
    """A commit written to a temporary folder; valid inside its ``async with`` block."""

    path: Path
    revision: Revision
    #: Submodule folders that were filled (empty unless submodules were requested).
    submodules: tuple[str, ...] = ()
    bytes_written: int = 0

    @property
    def sha(self) -> str:
        """The commit that was checked out."""
        return self.revision.sha


@dataclass
class _Repository:
    mirror: Mirror
    state: RepositoryState
    inflight: asyncio.Future[RefreshResult] | None = None


class GitCache:
    """Bare mirrors, revision resolution and checkouts for many repositories."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        credentials: CredentialStore | None = None,
        fetch_timeout: float = 60.0,
        max_checkout_bytes: int = DEFAULT_MAX_CHECKOUT_BYTES,
        checkout_dir: Path | None = None,
        clock: Clock | None = None,
        git_cli: GitCLI | None = None,
        ssh_known_hosts: str | None = None,
    ) -> None:
        """Keep mirrors under ``cache_dir``; check out into ``checkout_dir`` (default: temp).

        ``ssh_known_hosts`` (the ``ssh_known_hosts`` text of Argo CD's
        ``argocd-ssh-known-hosts-cm``) replaces the user's ``~/.ssh/known_hosts`` as the
        list of trusted SSH host keys. Like the timeouts it is process-wide for libgit2,
        which looks for ``.ssh/known_hosts`` under its home folder.
        """
        self.cache_dir = cache_dir
        self.fetch_timeout = fetch_timeout
        self.max_checkout_bytes = max_checkout_bytes
        self._credentials = credentials
        self._checkout_dir = checkout_dir
        self._clock = clock or SystemClock()
        known_hosts = None
        if ssh_known_hosts is not None:
            known_hosts = self._install_known_hosts(ssh_known_hosts)
        self._git_cli = git_cli or GitCLI(cache_dir / "helpers", known_hosts=known_hosts)
        self._repositories: dict[str, _Repository] = {}
        #: Called after every refresh (not for a caller that joined a running one);
        #: each must be cheap and must not raise.
        self.refresh_listeners: list[Callable[[RefreshRecord], None]] = []
        # libgit2's socket timeouts are process-wide; they stop a thread stuck on a
        # silent server, which the asyncio timeout alone cannot.
        timeout_ms = max(1, int(fetch_timeout * 1000))
        pygit2.settings.server_connect_timeout = timeout_ms
        pygit2.settings.server_timeout = timeout_ms

    def _install_known_hosts(self, text: str) -> Path:
        home = self.cache_dir / "ssh-home"
        (home / ".ssh").mkdir(parents=True, exist_ok=True)
        path = home / ".ssh" / "known_hosts"
        path.write_text(text if not text or text.endswith("\n") else text + "\n")
        pygit2.settings.homedir = str(home)
        return path

    # --- refresh -----------------------------------------------------------------

    async def refresh(self, url: str, *, project: str | None = None) -> RefreshResult:
        """Bring the mirror of ``url`` up to date; raise the remote's error if it fails.

        Callers that arrive while a refresh of the same repository is running wait for
        that refresh (and share its outcome) instead of starting their own.
        """
        repo_url = parse_repo_url(url)
        entry = self._entry(repo_url)
        if entry.inflight is None:
            future = asyncio.ensure_future(self._refresh(entry, repo_url, project))
            entry.inflight = future

            def finished(done: asyncio.Future[RefreshResult]) -> None:
                if entry.inflight is done:
                    entry.inflight = None
                if not done.cancelled():
                    done.exception()  # retrieved: waiters may all have gone

            future.add_done_callback(finished)
        # Shielded: one waiter giving up must not cancel the fetch the others share.
        return await asyncio.shield(entry.inflight)

    async def _refresh(
        self, entry: _Repository, url: RepoURL, project: str | None
    ) -> RefreshResult:
        credentials = self._credentials_for(url, project)
        started = self._clock.now()
        deadline = time.monotonic() + self.fetch_timeout

        def callbacks() -> FetchCallbacks:
            return FetchCallbacks(credentials, deadline)

        remote: RemoteAccess = LibgitRemote(url, callbacks)
        if credentials.tls_client_cert_data or credentials.tls_client_cert_key:
            # libgit2 cannot present a client certificate; the git program can.
            remote = CliRemote(self._git_cli, url, credentials, self.fetch_timeout)
        began = time.monotonic()
        try:
            outcome = await asyncio.wait_for(
                asyncio.to_thread(entry.mirror.update, remote), self.fetch_timeout
            )
        except TimeoutError as exc:
            error: SourceError = RepositoryUnreachable(
                url.redacted, f"timed out after {self.fetch_timeout:g}s"
            )
            self._record_failure(entry, error)
            self._notify(url, began, failed=True)
            raise error from exc
        except TRANSFER_ERRORS as exc:
            error = translate_error(exc, url, credentials, self.fetch_timeout)
            self._record_failure(entry, error)
            self._notify(url, began, failed=True)
            raise error from exc
        self._notify(url, began, fetched=outcome.fetched)
        entry.state = replace(
            entry.state,
            last_refreshed=started,
            last_fetched=started if outcome.fetched else entry.state.last_fetched,
            last_error="",
            head_sha=outcome.snapshot.head_sha,
        )
        log.debug(
            "refreshed %s (%s)",
            url.redacted,
            "fetched" if outcome.fetched else "unchanged",
        )
        return RefreshResult(url.redacted, outcome.fetched, outcome.snapshot)

    def _notify(
        self, url: RepoURL, began: float, *, fetched: bool = False, failed: bool = False
    ) -> None:
        record = RefreshRecord(url.normalized, time.monotonic() - began, fetched, failed)
        for listener in self.refresh_listeners:
            listener(record)

    def _record_failure(self, entry: _Repository, error: SourceError) -> None:
        entry.state = replace(entry.state, last_error=str(error))
        log.warning("%s (keeping the last fetched state)", error)

    # --- revisions ---------------------------------------------------------------

    async def resolve(
        self, url: str, revision: str, *, project: str | None = None, refresh: bool = True
    ) -> Revision:
        """Resolve ``revision`` to a commit of ``url`` (see :mod:`tether.source.revision`).

        With ``refresh`` (the default) the mirror is refreshed first, except for a full
        SHA the mirror already holds. A full SHA that no ref reaches is fetched by name.
        """
        repo_url = parse_repo_url(url)
        entry = self._entry(repo_url)
        requested = revision.strip()
        if is_full_sha(requested.lower()) and await self._thread(
            entry.mirror.has_commit, requested.lower()
        ):
            return Revision(requested, requested.lower(), RevisionKind.COMMIT)
        if refresh:
            await self.refresh(url, project=project)
        found = await self._thread(self._resolve_local, entry.mirror, requested)
        if found is None and is_full_sha(requested.lower()) and refresh:
            await self._fetch_commit(entry, repo_url, requested.lower(), project)
            found = await self._thread(self._resolve_local, entry.mirror, requested)
        if found is None:
            raise RevisionNotFound(
                repo_url.redacted, requested, f"unable to resolve {requested!r} to a commit SHA"
            )
        return found

    @staticmethod
    def _resolve_local(mirror: Mirror, revision: str) -> Revision | None:
        if not mirror.exists:
            return None
        return resolve_revision(mirror.open(), mirror.local_snapshot(), revision)

    async def _fetch_commit(
        self, entry: _Repository, url: RepoURL, sha: str, project: str | None
    ) -> None:
        credentials = self._credentials_for(url, project)
        await self._thread(entry.mirror.open)
        try:
            await self._thread(
                self._git_cli.fetch_commit,
                entry.mirror.path,
                url,
                credentials,
                sha,
                self.fetch_timeout,
            )
        except RepositoryUnreachable as exc:
            # The remote answered a moment ago: it does not have (or will not give) it.
            raise RevisionNotFound(url.redacted, sha, exc.cause) from exc

    async def _commit(
        self, url: str, revision: str, project: str | None
    ) -> tuple[_Repository, str]:
        """The mirror and commit for ``revision``, fetching only if the mirror lacks it."""
        try:
            found = await self.resolve(url, revision, project=project, refresh=False)
        except RevisionNotFound:
            found = await self.resolve(url, revision, project=project, refresh=True)
        return self._entry(parse_repo_url(url)), found.sha

    # --- checkouts ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def checkout(
        self,
        url: str,
        revision: str,
        *,
        project: str | None = None,
        submodules: bool = False,
        refresh: bool = True,
    ) -> AsyncIterator[Checkout]:
        """Write ``revision`` of ``url`` into a new temporary folder for the ``async with`` block.

        The folder is removed when the block exits, also on error or cancellation.
        Submodules are left as empty folders unless ``submodules`` is true.
        """
        resolved = await self.resolve(url, revision, project=project, refresh=refresh)
        repo_url = parse_repo_url(url)
        folder = Path(tempfile.mkdtemp(prefix="tether-checkout-", dir=self._checkout_dir))
        budget = SizeBudget(self.max_checkout_bytes, repo_url.redacted)
        stop = threading.Event()
        try:
            gitlinks = await self._write(self._entry(repo_url), resolved.sha, folder, budget, stop)
            filled: list[str] = []
            if submodules:
                await self._fill_submodules(
                    repo_url, folder, "", gitlinks, budget, stop, project, 1
                )
                filled = [link.path for link in gitlinks]
            yield Checkout(folder, resolved, tuple(filled), budget.used)
        finally:
            stop.set()
            # Synchronous on purpose: an awaited removal could itself be cancelled.
            shutil.rmtree(folder, ignore_errors=True)

    async def _write(
        self, entry: _Repository, sha: str, folder: Path, budget: SizeBudget, stop: threading.Event
    ) -> list[Gitlink]:
        name = entry.state.url

        def write() -> list[Gitlink]:
            repo = entry.mirror.open()
            return write_tree(repo, commit_tree(repo, sha), folder, budget, name, stop)

        task = asyncio.ensure_future(asyncio.to_thread(write))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            stop.set()
            # The thread may still be writing; remove what it leaves once it stops.
            task.add_done_callback(lambda _: shutil.rmtree(folder, ignore_errors=True))
            raise
        except SourceError:
            raise
        except OSError as exc:  # a full or read-only disk: say what, not the errno
            raise CheckoutFailed(name, exc.strerror or str(exc)) from exc
        except pygit2.GitError as exc:
            raise CheckoutFailed(name, str(exc)) from exc

    async def _fill_submodules(
        self,
        parent: RepoURL,
        root: Path,
        prefix: str,
        gitlinks: list[Gitlink],
        budget: SizeBudget,
        stop: threading.Event,
        project: str | None,
        depth: int,
    ) -> None:
        if not gitlinks:
            return
        if depth > MAX_SUBMODULE_DEPTH:
            raise CheckoutFailed(parent.redacted, "submodules are nested too deeply")
        # Read from the checkout just written; a symlinked .gitmodules is not followed.
        gitmodules = root / prefix / ".gitmodules"
        text = (
            gitmodules.read_text() if gitmodules.is_file() and not gitmodules.is_symlink() else ""
        )
        declared = {s.path: s for s in parse_gitmodules(text)}
        for link in gitlinks:
            module = declared.get(link.path)
            if module is None:
                raise CheckoutFailed(parent.redacted, f"submodule {link.path!r} has no URL")
            child_url = resolve_submodule_url(parent, module.url)
            child = parse_repo_url(child_url)
            if child.scheme is Scheme.FILE and parent.scheme is not Scheme.FILE:
                # .gitmodules is repository content: it may not reach into local files.
                raise UnsafeRepositoryContent(
                    parent.redacted, f"submodule {link.path!r} points at a local path"
                )
            entry, sha = await self._commit(child_url, link.sha, project)
            target = root / prefix / link.path
            nested = await self._write(entry, sha, target, budget, stop)
            await self._fill_submodules(
                child, root, f"{prefix}{link.path}/", nested, budget, stop, project, depth + 1
            )

    # --- reading without a checkout ----------------------------------------------

    async def commit_info(
        self, url: str, revision: str, *, project: str | None = None
    ) -> CommitInfo:
        """Author, date, message and tags of a commit."""
        entry, sha = await self._commit(url, revision, project)

        def read() -> CommitInfo:
            return read_commit_info(
                entry.mirror.open(), sha, dict(entry.mirror.local_snapshot().refs)
            )

        return await self._thread(read)

    async def changed_paths(
        self, url: str, old_revision: str, new_revision: str, *, project: str | None = None
    ) -> tuple[str, ...]:
        """Paths added, removed or modified between two commits (``git diff --name-only``)."""
        entry, old = await self._commit(url, old_revision, project)
        _, new = await self._commit(url, new_revision, project)
        return await self._thread(lambda: diff_paths(entry.mirror.open(), old, new))

    async def list_paths(
        self,
        url: str,
        revision: str,
        pattern: str,
        *,
        kind: EntryKind = EntryKind.FILE,
        project: str | None = None,
    ) -> tuple[str, ...]:
        """Paths of ``kind`` matching the glob ``pattern`` at a commit (see :mod:`.tree`)."""
        entry, sha = await self._commit(url, revision, project)
        return await self._thread(lambda: list_paths(entry.mirror.open(), sha, pattern, kind))

    async def read_file(
        self, url: str, revision: str, path: str, *, project: str | None = None
    ) -> bytes:
        """The content of the file at ``path`` at a commit; :class:`PathNotFound` if absent."""
        entry, sha = await self._commit(url, revision, project)
        name = entry.state.url
        return await self._thread(lambda: read_blob(entry.mirror.open(), sha, path, name))

    # --- status ------------------------------------------------------------------

    def state(self, url: str) -> RepositoryState:
        """What is known about ``url``: last refresh, last fetch, last error."""
        return self._entry(parse_repo_url(url)).state

    # --- helpers -----------------------------------------------------------------

    def _entry(self, url: RepoURL) -> _Repository:
        key = url.normalized
        entry = self._repositories.get(key)
        if entry is None:
            mirror = Mirror(self.cache_dir / "mirrors" / mirror_folder_name(key), url)
            entry = _Repository(mirror, RepositoryState(url.redacted, key))
            self._repositories[key] = entry
        return entry

    def _credentials_for(self, url: RepoURL, project: str | None) -> Credentials:
        if url.has_credentials:
            return Credentials.from_url(url)
        if self._credentials is None:
            return Credentials()
        return self._credentials.lookup(url, project)

    async def _thread(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.to_thread(function, *args)


def mirror_folder_name(normalized: str) -> str:
    """A readable, collision-free folder name for a normalised URL."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", normalized).strip("_.")[:60]
    digest = hashlib.sha256(normalized.encode()).hexdigest()[:12]
    return f"{slug}-{digest}"
