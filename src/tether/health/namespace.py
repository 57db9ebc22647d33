"""Namespace health.

Argo CD judges no health for a Namespace: an ``Active`` one has no verdict, and the
Application's health is not affected by it. A ``Terminating`` Namespace is an object
being deleted, which Argo CD reports as Progressing, "Pending deletion", for as long as
its finalizers keep it (a Namespace stuck terminating stays Progressing). The deletion
timestamp normally says so before this check runs; this check covers a Namespace whose
``status.phase`` says ``Terminating`` without one (an object read from a file).
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus

#: The verdict on any object the API server is deleting.
PENDING_DELETION = Health(HealthStatus.PROGRESSING, "Pending deletion")


def check_namespace(obj: Object) -> Health | None:
    """Judge a ``v1`` Namespace: only a terminating one has a verdict."""
    if fields.text(obj, "status", "phase") == "Terminating":
        return PENDING_DELETION
    return None
