"""Talking to a remote through libgit2: credentials, certificates, deadlines, errors.

Credentials are handed to libgit2 from memory through the ``credentials`` callback
(:class:`pygit2.UserPass`, :class:`pygit2.KeypairFromMemory`); they never appear in a URL,
a file or a command line. libgit2 asks again when the server rejects what it was given;
the second request is answered with an error instead, because repeating the same
secret would loop forever.

A transfer cannot be cancelled from outside its thread, so every progress callback
checks a deadline and aborts the transfer once it has passed; libgit2's own connect
and read timeouts bound the time spent waiting for a silent server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

import pygit2
from pygit2.enums import CredentialType, FetchPrune

from tether.source.credentials import Credentials
from tether.source.errors import AuthenticationFailed, RepositoryUnreachable, SourceError
from tether.source.mirror import MIRROR_REFSPEC, RefSnapshot
from tether.source.urls import RepoURL

#: User name sent with a password-only credential, as Argo CD does for tokens.
DEFAULT_TOKEN_USER = "x-access-token"

_AUTH_MARKERS = ("401", "403", "authentication", "credentials", "permission denied")


class TransferAborted(Exception):
    """A callback stopped a transfer; :func:`translate_error` says why."""


class CredentialsRejected(TransferAborted):
    """The remote asked for credentials again after refusing the first ones."""


class CredentialsMissing(TransferAborted):
    """The remote asked for credentials and none of a usable kind are configured."""

    def __init__(self, allowed: CredentialType) -> None:
        """Remember which kinds the remote would have accepted."""
        super().__init__(f"the server requires credentials ({allowed!r})")
        self.allowed = allowed


class DeadlineExceeded(TransferAborted):
    """The transfer ran past its deadline and was aborted."""


class CertificateRejected(TransferAborted):
    """The server's TLS certificate (or SSH host key) is not trusted."""

    def __init__(self, host: str) -> None:
        """Name the host whose certificate was refused."""
        super().__init__(host)
        self.host = host


#: What a transfer may raise: libgit2 errors, OS errors, and the callbacks' aborts.
TRANSFER_ERRORS: tuple[type[Exception], ...] = (
    pygit2.GitError,
    OSError,
    ValueError,
    TransferAborted,
    SourceError,
)


class FetchCallbacks(pygit2.RemoteCallbacks):
    """Supplies credentials from memory, checks certificates, enforces a deadline."""

    def __init__(
        self,
        credentials: Credentials,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Serve ``credentials`` until ``deadline`` (in ``clock`` seconds)."""
        super().__init__()
        self._credentials = credentials
        self._deadline = deadline
        self._clock = clock
        self.attempts = 0

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> pygit2.UserPass | pygit2.KeypairFromMemory:
        """Answer libgit2's request for credentials, once."""
        self.attempts += 1
        if self.attempts > 1:
            raise CredentialsRejected
        creds = self._credentials
        if allowed_types & CredentialType.SSH_KEY and creds.ssh_private_key:
            user = username_from_url or creds.username or "git"
            return pygit2.KeypairFromMemory(user, None, creds.ssh_private_key, "")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT and (creds.username or creds.password):
            return pygit2.UserPass(creds.username or DEFAULT_TOKEN_USER, creds.password)
        raise CredentialsMissing(allowed_types)

    def certificate_check(self, certificate: object, valid: bool, host: bytes | str) -> bool:
        """Accept a certificate libgit2 found invalid only for ``insecure`` repositories."""
        if valid or self._credentials.insecure:
            return True
        raise CertificateRejected(host.decode() if isinstance(host, bytes) else host)

    def transfer_progress(self, stats: pygit2.remotes.TransferProgress) -> None:
        """Abort the transfer once the deadline has passed."""
        self.check_deadline()

    def sideband_progress(self, string: str) -> None:
        """Abort the transfer once the deadline has passed."""
        self.check_deadline()

    def check_deadline(self) -> None:
        """Raise :class:`DeadlineExceeded` when the deadline has passed."""
        if self._clock() > self._deadline:
            raise DeadlineExceeded


def translate_error(
    exc: BaseException, url: RepoURL, credentials: Credentials, timeout: float
) -> SourceError:
    """Turn what a transfer raised into the package's error tree, scrubbed of secrets."""
    repo = url.redacted
    secrets = (*credentials.secrets, url.password)
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, CredentialsRejected):
        return AuthenticationFailed(repo, "authentication failed: credentials were rejected")
    if isinstance(exc, CredentialsMissing):
        return AuthenticationFailed(
            repo, "authentication required, but no credentials are configured for it"
        )
    if isinstance(exc, CertificateRejected):
        return RepositoryUnreachable(
            repo,
            f"the certificate (or SSH host key) of {exc.host} is not trusted "
            '(set insecure: "true" on the repository Secret to skip verification)',
        )
    if isinstance(exc, DeadlineExceeded):
        return RepositoryUnreachable(repo, f"timed out after {timeout:g}s")
    message = str(exc) or type(exc).__name__
    if any(marker in message.lower() for marker in _AUTH_MARKERS):
        return AuthenticationFailed(repo, message, secrets=secrets)
    return RepositoryUnreachable(repo, message, secrets=secrets)


class LibgitRemote:
    """:class:`~tether.source.mirror.RemoteAccess` through libgit2, credentials in memory."""

    def __init__(self, url: RepoURL, callbacks: Callable[[], pygit2.RemoteCallbacks]) -> None:
        """Reach ``url``; ``callbacks`` makes fresh callbacks for each connection.

        A connection asks for credentials again only when the previous ones were
        rejected, so callbacks must not be shared between connections.
        """
        self._url = url
        self._callbacks = callbacks

    def list_refs(self, repo: pygit2.Repository) -> RefSnapshot:
        """The advertised refs (peeled ``^{}`` entries left out) and ``HEAD``'s target."""
        remote = repo.remotes.create_anonymous(self._url.transport_url)
        refs: dict[str, str] = {}
        head = ""
        for advertised in remote.list_heads(callbacks=self._callbacks()):
            name = advertised.name or ""
            if name == "HEAD":
                head = advertised.symref_target or ""
            elif name.startswith("refs/") and not name.endswith("^{}"):
                refs[name] = str(advertised.oid)
        return RefSnapshot(MappingProxyType(refs), head)

    def fetch_all(self, repo: pygit2.Repository, path: Path) -> None:
        """Fetch every ref, pruning the ones the remote no longer has."""
        remote = repo.remotes.create_anonymous(self._url.transport_url)
        remote.fetch([MIRROR_REFSPEC], callbacks=self._callbacks(), prune=FetchPrune.PRUNE)
