"""The errors a Git source raises.

Every error carries the repository it concerns as a *redacted* URL (never the
credentials) and reads ``failed to <verb> <redacted url>: <cause>``. Causes coming from
libgit2 or the ``git`` program are scrubbed of every secret the package knows about
before they are stored, so ``str(error)``, ``repr(error)`` and tracebacks are safe to
log and to write into an Application's status.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Causes from remote servers and external programs are cut to this many characters.
MAX_CAUSE_CHARS = 500


class SourceError(Exception):
    """Base of every error raised by :mod:`tether.source`."""

    verb = "access"

    def __init__(self, repo: str, cause: str, *, secrets: Iterable[str] = ()) -> None:
        """Build ``failed to <verb> <repo>: <cause>``; ``repo`` must already be redacted."""
        self.repo = repo
        self.cause = scrub(cause, secrets)
        super().__init__(f"failed to {self.verb} {repo}: {self.cause}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.repo!r}, {self.cause!r})"


class InvalidRepositoryURL(SourceError, ValueError):
    """The repository URL cannot be parsed, or uses an unsupported scheme."""

    verb = "parse repository url"


class RepositoryUnreachable(SourceError):
    """The remote could not be contacted, or the transfer failed or timed out."""

    verb = "fetch"


class AuthenticationFailed(SourceError):
    """The remote refused the credentials (or demanded some and none were configured)."""

    verb = "fetch"


class RevisionNotFound(SourceError, LookupError):
    """A ``targetRevision`` matches no branch, tag, semver tag or commit."""

    verb = "resolve revision in"

    def __init__(self, repo: str, revision: str, cause: str) -> None:
        """Record the revision that could not be resolved."""
        self.revision = revision
        super().__init__(repo, cause)


class PathNotFound(SourceError, LookupError):
    """A file or folder does not exist at the requested commit."""

    verb = "read"


class RepositoryTooLarge(SourceError):
    """A checkout would exceed the configured size cap."""

    verb = "check out"


class UnsafeRepositoryContent(SourceError):
    """The tree holds an entry that could escape the checkout (``..``, ``.git``, ``/``)."""

    verb = "check out"


class CheckoutFailed(SourceError):
    """Writing a commit's files to disk failed for a reason other than size or safety."""

    verb = "check out"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Remove every secret from ``text`` and cut it to :data:`MAX_CAUSE_CHARS`.

    URLs inside the text are redacted too, so a message that echoes
    ``https://user:token@host/...`` loses the token even when it is not listed.
    """
    # Imported here: urls imports this module for its error types.
    from tether.source.urls import redact_urls_in

    cleaned = redact_urls_in(text)
    # Longest first, so a secret that contains another is removed whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        cleaned = cleaned.replace(secret, "***")
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_CAUSE_CHARS:
        cleaned = cleaned[: MAX_CAUSE_CHARS - 3] + "..."
    return cleaned
