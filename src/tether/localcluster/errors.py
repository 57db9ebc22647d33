"""API errors as the Kubernetes ``Status`` objects a real kube-apiserver returns.

Every failure the store or the HTTP layer reports is an :class:`APIError`: it carries
the HTTP code, the ``reason`` (``NotFound``, ``AlreadyExists``, ``Conflict``,
``Invalid``, ...), the message in the exact shape kube-apiserver writes it, and the
``details`` (name, group, kind, causes). :meth:`APIError.status` renders the wire
object. The constructors below are the only places those messages are spelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One cause of an ``Invalid`` error: the field path, the reason and a message."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def to_wire(self) -> dict[str, str]:
        """The ``StatusCause`` object."""
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass(frozen=True)
class Target:
    """What a failed request concerned: ``details`` of the ``Status``."""

    name: str = ""
    group: str = ""
    kind: str = ""


class APIError(Exception):
    """A request failed; :meth:`status` is the ``Status`` object to send back."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        target: Target | None = None,
        causes: Sequence[Cause] = (),
    ) -> None:
        """Record the HTTP code, ``reason``, message, target and causes."""
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.target = target
        self.causes = tuple(causes)

    def status(self) -> dict[str, Any]:
        """The ``Status`` object a real API server sends for this failure."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details: dict[str, Any] = {}
        if self.target is not None:
            if self.target.name:
                details["name"] = self.target.name
            if self.target.group:
                details["group"] = self.target.group
            if self.target.kind:
                details["kind"] = self.target.kind
        if self.causes:
            details["causes"] = [cause.to_wire() for cause in self.causes]
        if details or self.target is not None:
            body["details"] = details
        return body


@dataclass(frozen=True)
class Resource:
    """How a message names a resource: ``configmaps`` or ``deployments.apps``."""

    group: str
    plural: str
    kind: str = field(default="")

    def qualified(self) -> str:
        """``plural`` for the core group, ``plural.group`` otherwise."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def not_found(resource: Resource, name: str) -> APIError:
    """404: ``configmaps "x" not found``."""
    return APIError(
        404,
        "NotFound",
        f'{resource.qualified()} "{name}" not found',
        Target(name, resource.group, resource.plural),
    )


def already_exists(resource: Resource, name: str) -> APIError:
    """409: ``configmaps "x" already exists``."""
    return APIError(
        409,
        "AlreadyExists",
        f'{resource.qualified()} "{name}" already exists',
        Target(name, resource.group, resource.plural),
    )


def conflict(resource: Resource, name: str, detail: str) -> APIError:
    """409: ``Operation cannot be fulfilled on configmaps "x": <detail>``."""
    return APIError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {resource.qualified()} "{name}": {detail}',
        Target(name, resource.group, resource.plural),
    )


def stale(resource: Resource, name: str) -> APIError:
    """409 for an update whose resourceVersion is not the stored one."""
    return conflict(
        resource,
        name,
        "the object has been modified; please apply your changes to the latest version "
        "and try again",
    )


def invalid(kind: str, group: str, name: str, causes: Sequence[Cause]) -> APIError:
    """422: ``ConfigMap "x" is invalid: <field>: <message>`` with every cause listed."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    qualified = f"{kind}.{group}" if group else kind
    return APIError(
        422,
        "Invalid",
        f'{qualified} "{name}" is invalid: {text}',
        Target(name, group, kind),
        causes,
    )


def bad_request(message: str, target: Target | None = None) -> APIError:
    """400 BadRequest."""
    return APIError(400, "BadRequest", message, target)


def forbidden(resource: Resource, name: str, detail: str) -> APIError:
    """403: ``configmaps "x" is forbidden: <detail>``."""
    return APIError(
        403,
        "Forbidden",
        f'{resource.qualified()} "{name}" is forbidden: {detail}',
        Target(name, resource.group, resource.plural),
    )


def method_not_allowed(verb: str, resource: Resource | None = None) -> APIError:
    """405: the resource does not support the verb."""
    message = "the server does not allow this method on the requested resource"
    if resource is not None:
        return APIError(
            405, "MethodNotAllowed", message, Target("", resource.group, resource.plural)
        )
    return APIError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> APIError:
    """415: a body in a content type the endpoint does not accept."""
    return APIError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - "
        f"accepted media types include: {content_type}",
    )


def too_large() -> APIError:
    """413: the body is over the request size limit."""
    return APIError(413, "RequestEntityTooLarge", "the request is too large")


def gone(message: str) -> APIError:
    """410: the requested resourceVersion is older than what is retained."""
    return APIError(410, "Expired", message)


def unauthorized() -> APIError:
    """401: no valid bearer token."""
    return APIError(401, "Unauthorized", "Unauthorized")


def route_not_found() -> APIError:
    """404 for a path that names no resource."""
    return APIError(404, "NotFound", "the server could not find the requested resource")


def internal(message: str) -> APIError:
    """500: an unexpected failure inside the server."""
    return APIError(500, "InternalError", f"Internal error occurred: {message}")
