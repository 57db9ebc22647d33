"""Pod health.

- With ``restartPolicy: Always`` (the API default), a container waiting with a reason
  that starts with ``Err`` or ends with ``Error`` or ``BackOff`` (``CrashLoopBackOff``,
  ``ImagePullBackOff``, ``ErrImagePull``, ``CreateContainerConfigError``) makes the pod
  Degraded, with the waiting messages joined by ``", "``. Pods with ``OnFailure`` or
  ``Never`` are typically hooks: marking them Degraded on a transient pull error would
  fail the hook early, so they are judged by phase only.
- ``Pending`` → Progressing; ``Succeeded`` → Healthy; ``Failed`` → Degraded with the
  pod's message, else the first terminated container's message, ``OOMKilled``, or
  ``container "x" failed with exit code N``.
- ``Running``: with ``Always``, Healthy once the ``Ready`` condition is ``True``,
  Degraded if a container has terminated before (it is restarting), else Progressing;
  with ``OnFailure``/``Never`` the pod is still working towards completion → Progressing.
- Any other phase → Unknown.

Messages are the pod's ``status.message`` unless stated otherwise.
"""

from __future__ import annotations

from tether.health import fields
from tether.health.fields import Object
from tether.model import Health, HealthStatus


def _is_error_reason(reason: str) -> bool:
    return reason.startswith("Err") or reason.endswith(("Error", "BackOff"))


def _failure_message(container: Object) -> str:
    terminated = fields.mapping(container, "state", "terminated")
    if not terminated:
        return ""
    message = fields.text(terminated, "message")
    if message:
        return message
    if fields.text(terminated, "reason") == "OOMKilled":
        return "OOMKilled"
    exit_code = fields.integer(terminated, "exitCode")
    if exit_code != 0:
        name = fields.text(container, "name")
        return f'container "{name}" failed with exit code {exit_code}'
    return ""


def _is_ready(obj: Object) -> bool:
    ready = fields.condition(obj, "Ready")
    return ready is not None and fields.text(ready, "status") == "True"


def check_pod(obj: Object) -> Health:
    """Judge a ``v1`` Pod."""
    restart_policy = fields.text(obj, "spec", "restartPolicy") or "Always"
    containers = fields.mappings(obj, "status", "containerStatuses")
    if restart_policy == "Always":
        messages = [
            fields.text(container, "state", "waiting", "message")
            for container in containers
            if _is_error_reason(fields.text(container, "state", "waiting", "reason"))
        ]
        if messages:
            return Health(HealthStatus.DEGRADED, ", ".join(messages))

    phase = fields.text(obj, "status", "phase")
    message = fields.text(obj, "status", "message")
    if phase == "Pending":
        return Health(HealthStatus.PROGRESSING, message)
    if phase == "Succeeded":
        return Health(HealthStatus.HEALTHY, message)
    if phase == "Failed":
        if message:
            return Health(HealthStatus.DEGRADED, message)
        init_containers = fields.mappings(obj, "status", "initContainerStatuses")
        for container in [*init_containers, *containers]:
            failure = _failure_message(container)
            if failure:
                return Health(HealthStatus.DEGRADED, failure)
        return Health(HealthStatus.DEGRADED, "")
    if phase == "Running":
        if restart_policy == "Always":
            if _is_ready(obj):
                return Health(HealthStatus.HEALTHY, message)
            if any(fields.mapping(c, "lastState", "terminated") for c in containers):
                return Health(HealthStatus.DEGRADED, message)
            return Health(HealthStatus.PROGRESSING, message)
        if restart_policy in ("OnFailure", "Never"):
            return Health(HealthStatus.PROGRESSING, message)
    return Health(HealthStatus.UNKNOWN, message)
