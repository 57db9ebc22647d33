"""The render error tree: every way turning a source into objects can fail.

Every failure raises a :class:`RenderError`; a render never returns an empty list to
stand for a failure, because an empty list of desired objects is what pruning acts on.
Messages read ``failed to render <subject>: <cause>``, where the subject is the
application path (``apps/guestbook``) once the renderer knows it, or the file or tool
that failed when raised deeper down. :meth:`RenderError.about` re-addresses an error to
the application path without changing its type, so callers can still tell a path
escape from a tool failure.

Tree::

    RenderError
    ├── PathEscapeError        a path or symlink that resolves outside the repository
    ├── RefusedSourceError     remote bases, http(s) value files, ... while not allowed
    ├── MissingPathError       a path an option names does not exist
    ├── ManifestError          a file or tool output that is not a stream of objects
    │   └── ManifestLimitError    too big, too deep, too many aliases
    └── ToolError              a tool ran and failed (exit code, truncated stderr)
        └── ToolTimeoutError      a tool ran out of time and was killed

Modules add their own leaves where a caller may want to tell them apart: the process
runner (a tool that cannot start, output over its cap), plugins (no plugin matches),
SOPS (a document that does not decrypt), chart repositories (a missing version, an
unsafe archive).
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

_E = TypeVar("_E", bound="RenderError")

#: Longest stretch of a tool's stderr kept in an error message.
STDERR_LIMIT = 2048


def truncate(text: str, limit: int = STDERR_LIMIT) -> str:
    """``text`` stripped and cut to ``limit`` characters, marking the cut."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit] + f"... ({len(text) - limit} more characters)"


class RenderError(Exception):
    """Rendering a source failed; nothing was rendered.

    ``subject`` is what failed to render (an application path, a file, a chart) and
    ``cause`` why, in lower case and without secrets.
    """

    def __init__(self, subject: str, cause: str) -> None:
        super().__init__(subject, cause)
        self.subject = subject
        self.cause = cause

    def __str__(self) -> str:
        return f"failed to render {self.subject}: {self.cause}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take different constructor arguments; rebuild from the fields so
        # that copies and pickles (errors cross process boundaries) keep type and data.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))

    def about(self, subject: str) -> Self:
        """A copy of this error addressed to ``subject``; the old subject joins the cause.

        Used by the renderer to report an error raised for one file as an error of the
        application path that contains it, keeping the error's type and fields.
        """
        clone: Self = _rebuild(type(self), self.args, dict(self.__dict__))
        if self.subject and self.subject != subject:
            clone.cause = f"{self.subject}: {self.cause}"
        clone.subject = subject
        clone.args = (subject, clone.cause)
        return clone


class PathEscapeError(RenderError):
    """A path (an option, a symlink, a chain of symlinks) resolves outside the repository.

    ``path`` is the path as the repository or the Application spelled it.
    """

    def __init__(self, subject: str, path: str, reason: str) -> None:
        super().__init__(subject, f"path {path!r} {reason}")
        self.path = path
        self.reason = reason


class RefusedSourceError(RenderError):
    """Content from outside the repository that the configuration does not allow.

    Kustomize remote bases, http(s) value files and the like: refused before any tool
    runs, and named in ``location``.
    """

    def __init__(self, subject: str, location: str, reason: str) -> None:
        super().__init__(subject, f"{location!r} {reason}")
        self.location = location
        self.reason = reason


class MissingPathError(RenderError):
    """A path the source or one of its options names does not exist in the repository."""

    def __init__(self, subject: str, path: str, what: str = "path") -> None:
        super().__init__(subject, f"{what} {path!r} does not exist")
        self.path = path


class ManifestError(RenderError):
    """A file or a tool's output is not a valid stream of Kubernetes objects.

    ``document`` (1-based) and ``line`` (1-based) locate the problem when known.
    """

    def __init__(
        self, subject: str, cause: str, *, document: int | None = None, line: int | None = None
    ) -> None:
        where = []
        if document is not None:
            where.append(f"document {document}")
        if line is not None:
            where.append(f"line {line}")
        super().__init__(subject, f"{', '.join(where)}: {cause}" if where else cause)
        self.document = document
        self.line = line


class ManifestLimitError(ManifestError):
    """A manifest exceeds a safety limit (size, nesting depth, alias expansion)."""


class ToolError(RenderError):
    """An external tool (``helm``, ``kustomize``, a plugin) failed.

    ``stderr`` is already truncated to :data:`STDERR_LIMIT` characters.
    """

    def __init__(self, subject: str, tool: str, exit_code: int | None, stderr: str) -> None:
        self.tool = tool
        self.exit_code = exit_code
        self.stderr = truncate(stderr)
        status = "was killed" if exit_code is None else f"exited with code {exit_code}"
        # Tools print multi-line errors; a message is one line (``.stderr`` keeps them).
        detail = f": {' '.join(self.stderr.split())}" if self.stderr else ""
        super().__init__(subject, f"{tool} {status}{detail}")


class ToolTimeoutError(ToolError):
    """An external tool ran longer than its timeout and its process group was killed."""

    def __init__(self, subject: str, tool: str, timeout: float, stderr: str = "") -> None:
        super().__init__(subject, tool, None, stderr)
        self.timeout = timeout
        self.cause = f"{tool} timed out after {timeout:g}s" + (
            f": {self.stderr}" if self.stderr else ""
        )
        self.args = (subject, self.cause)


def _rebuild(kind: type[_E], args: tuple[Any, ...], fields: dict[str, Any]) -> _E:
    """An instance of ``kind`` with ``args`` and ``fields``, without calling ``__init__``."""
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(fields)
    return error
