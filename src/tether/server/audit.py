"""The audit trail: who changed what, and when.

Every mutating API call that was authorised is recorded twice: as a log line on the
``tether.audit`` logger, and as a Kubernetes Event in the control namespace about the
object concerned (``kubectl get events -n argocd`` shows the trail, as for Argo CD's
``ResourceUpdated``/``OperationStarted`` events). Messages name the user, the verb and
the object, never a request body. Failing to write the Event is logged and does not
fail the call it records: the change has already happened.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from tether.kube import KubeClient, KubeError
from tether.server.clock import Clock, to_rfc3339

log = logging.getLogger("tether.audit")

#: The ``source.component`` of audit Events.
COMPONENT = "tether-server"


class Reason(StrEnum):
    """Event reasons, Argo CD's where it has one."""

    CREATED = "ResourceCreated"
    UPDATED = "ResourceUpdated"
    DELETED = "ResourceDeleted"
    OPERATION_STARTED = "OperationStarted"
    OPERATION_TERMINATING = "OperationTerminating"
    REFRESH_REQUESTED = "RefreshRequested"
    LOGGED_IN = "LoggedIn"
    LOGGED_OUT = "LoggedOut"


@dataclass(frozen=True, slots=True)
class Subject:
    """The object an audit record concerns."""

    api_version: str
    kind: str
    name: str
    namespace: str = ""
    uid: str = ""


def _name_part(name: str) -> str:
    """A prefix for the Event's name: the subject's name made a valid DNS subdomain."""
    cleaned = re.sub(r"[^a-z0-9.-]+", "-", name.lower())[:200].strip("-.")
    return cleaned or "object"


class Auditor:
    """Writes audit records as Events in ``namespace`` and log lines."""

    def __init__(self, client: KubeClient, namespace: str, clock: Clock) -> None:
        self.client = client
        self.namespace = namespace
        self.clock = clock

    async def record(
        self,
        user: str,
        reason: Reason,
        subject: Subject,
        action: str,
        *,
        about: str | None = None,
    ) -> None:
        """Record that ``user`` did ``action`` (a short phrase) to ``subject``.

        The message reads ``<user> <action> <kind> <name>``, or ``<user> <action>
        <about>`` when the subject's name says nothing useful (account changes are
        stored in ``argocd-secret``, but concern an account).
        """
        what = f"{subject.kind.lower()} {subject.name}" if about is None else about
        message = " ".join(part for part in (user, action, what) if part)
        log.info(
            "audit: %s",
            message,
            extra={"user": user, "reason": reason.value, "kind": subject.kind},
        )
        now = to_rfc3339(self.clock())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{_name_part(subject.name)}.{uuid.uuid4().hex[:16]}",
                "namespace": self.namespace,
            },
            "involvedObject": {
                "apiVersion": subject.api_version,
                "kind": subject.kind,
                "name": subject.name,
                "namespace": subject.namespace or self.namespace,
                "uid": subject.uid,
            },
            "reason": reason.value,
            "message": message,
            "type": "Normal",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.client.create(event)
        except KubeError as error:
            log.warning("failed to write the audit event %r: %s", message, error)
