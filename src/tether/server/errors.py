"""The error tree of the API boundary.

Every failure a handler reports is an :class:`ApiError` carrying the HTTP status it
maps to and a message safe to show the caller (never a secret, never a request body).
Errors from the cluster (:class:`~tether.kube.KubeError`) and from parsing specs
(:class:`~tether.model.SpecError`) are translated by :func:`from_kube_error` and the
handlers installed in :mod:`tether.server.app`. Bodies take Argo CD's gRPC-gateway shape,
``{"error": ..., "message": ..., "code": ...}``, so its clients read them unchanged.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tether.kube import KubeError

#: gRPC codes Argo CD's gateway puts in ``code``, by HTTP status.
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 413: 8, 429: 8, 501: 12, 503: 14}


class ApiError(Exception):
    """A request failed; ``status`` is the HTTP status, the message is shown to the caller."""

    status: ClassVar[int] = 500

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        return {
            "error": self.message,
            "message": self.message,
            "code": _GRPC_CODES.get(self.status, 2),
        }


class BadInput(ApiError):
    """400: the request is malformed or asks for something impossible."""

    status = 400


class Unauthenticated(ApiError):
    """401: no valid credentials came with the request."""

    status = 401


class PermissionDenied(ApiError):
    """403: the caller is known but not allowed to do this."""

    status = 403


class NotFoundError(ApiError):
    """404: the object does not exist (or the caller may not know that it does)."""

    status = 404


class ConflictError(ApiError):
    """409: the object exists, or changed under the request."""

    status = 409


class FailedPrecondition(ApiError):
    """412: the object is not in a state that allows the request."""

    status = 412


class PayloadTooLarge(ApiError):
    """413: the body is larger than the endpoint accepts."""

    status = 413


class RateLimited(ApiError):
    """429: too many attempts; retry after ``Retry-After`` seconds."""

    status = 429


class NotImplementedByServer(ApiError):
    """501: this server was started without the component that answers this request."""

    status = 501


class Unavailable(ApiError):
    """503: the cluster could not be reached; worth retrying."""

    status = 503


def from_kube_error(error: KubeError) -> ApiError:
    """The API error for a failed cluster call (its message names the object, not the body)."""
    message = str(error)
    if error.code == 404:
        return NotFoundError(message)
    if error.code == 409:
        return ConflictError(message)
    if error.code in (400, 422):
        return BadInput(message)
    if error.code == 413:
        return PayloadTooLarge(message)
    if error.code == 403:
        # The server's own credentials were refused by the cluster: the caller did
        # nothing wrong, so this is not the caller's 403.
        return Unavailable(message)
    return Unavailable(message)
