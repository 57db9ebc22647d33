"""The error tree of the cluster boundary.

Every failure of a call to a Kubernetes API server surfaces as one :class:`KubeError`
subclass chosen by the HTTP status and the ``Status`` reason the server returned, so
callers branch on types (``except NotFound``) rather than on numbers. Each error
carries the verb and the object it concerns and reads
``failed to <verb> <kind/namespace/name>: <cause>``. Server messages are truncated so a
large or hostile body cannot flood logs and conditions; request bodies (which may hold
Secret data) are never part of a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Longest server message kept in an error.
MAX_CAUSE = 512


class KubeError(Exception):
    """A call to a Kubernetes API server failed."""

    #: HTTP status code, or 0 when no response arrived.
    code: int = 0

    def __init__(
        self,
        verb: str,
        target: str,
        cause: str,
        *,
        code: int | None = None,
        reason: str = "",
        status: Mapping[str, Any] | None = None,
    ) -> None:
        cause = cause if len(cause) <= MAX_CAUSE else cause[: MAX_CAUSE - 3] + "..."
        super().__init__(f"failed to {verb} {target}: {cause}")
        self.verb = verb
        self.target = target
        self.cause = cause
        if code is not None:
            self.code = code
        self.reason = reason
        self.status: Mapping[str, Any] = status or {}

    @property
    def causes(self) -> list[Mapping[str, Any]]:
        """The field-level causes of an Invalid error (``details.causes``), if any."""
        details = self.status.get("details") or {}
        return list(details.get("causes") or [])


class BadRequest(KubeError):
    """400: the request was malformed."""

    code = 400


class Unauthorized(KubeError):
    """401: the credentials were missing or rejected."""

    code = 401


class Forbidden(KubeError):
    """403: the credentials are not allowed to do this (or the namespace is terminating)."""

    code = 403


class NotFound(KubeError):
    """404: the object, its namespace, or its kind does not exist."""

    code = 404


class MethodNotAllowed(KubeError):
    """405: the kind does not support this verb."""

    code = 405


class Conflict(KubeError):
    """409: a stale resourceVersion, or a server-side apply field conflict."""

    code = 409


class AlreadyExists(Conflict):
    """409 AlreadyExists: create of an object that exists."""


class Gone(KubeError):
    """410: the requested resourceVersion is too old (watches must relist)."""

    code = 410


class RequestTooLarge(KubeError):
    """413: the body exceeded the server's limit."""

    code = 413


class UnsupportedMediaType(KubeError):
    """415: e.g. a strategic merge patch on a custom resource."""

    code = 415


class Invalid(KubeError):
    """422: the object failed validation; :attr:`causes` names the fields."""

    code = 422


class TooManyRequests(KubeError):
    """429: the server asks the client to slow down."""

    code = 429


class Unavailable(KubeError):
    """5xx, a timeout, or no connection: worth retrying later."""

    code = 503


class UnknownKind(KubeError):
    """The server does not serve the requested apiVersion and kind."""

    code = 404


_BY_CODE: dict[int, type[KubeError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        Gone,
        RequestTooLarge,
        UnsupportedMediaType,
        Invalid,
        TooManyRequests,
    )
}


def error_from_status(
    verb: str, target: str, code: int, status: Mapping[str, Any] | None
) -> KubeError:
    """Build the error for an HTTP error response and its (possibly absent) ``Status`` body."""
    status = status if isinstance(status, Mapping) else {}
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or "") or f"the server answered {code} {reason}".strip()
    if code == 409 and reason == "AlreadyExists":
        cls: type[KubeError] = AlreadyExists
    elif code >= 500:
        cls = Unavailable
    else:
        cls = _BY_CODE.get(code, KubeError)
    return cls(verb, target, message, code=code, reason=reason, status=status)
