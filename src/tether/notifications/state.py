"""Which notifications an Application was already sent, and which to send now.

As Argo CD does, the state lives in the app's annotation
``notified.notifications.argoproj.io``: a JSON object whose keys are
``<oncePer value>:<trigger>:<condition index>:<service>:<recipient>`` and whose values
are the Unix time of sending. A key present means "already sent": a restarted
controller sends nothing twice. When a condition without ``oncePer`` stops holding,
its keys are removed so the next time it holds notifies again; ``oncePer`` keys stay,
so ``on-deployed`` notifies once per revision.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from tether.notifications.config import NotificationConfig
from tether.notifications.errors import NotificationError
from tether.notifications.expr import evaluate
from tether.notifications.model import Destination, Notification
from tether.notifications.render import render

ANNOTATION: Final = "notified.notifications.argoproj.io"
#: Argo CD keeps the newest entries only, so the annotation stays small.
MAX_ENTRIES: Final = 100


@dataclass(frozen=True, slots=True)
class Plan:
    """The outcome of evaluating an app: what to send, the new state, what went wrong."""

    notifications: tuple[Notification, ...]
    state: Mapping[str, int]
    problems: tuple[str, ...] = field(default=())


def read_state(app: Mapping[str, Any]) -> dict[str, int]:
    """The notified-state annotation of ``app`` (empty when missing or unreadable)."""
    annotations = (app.get("metadata") or {}).get("annotations") or {}
    try:
        loaded = json.loads(annotations.get(ANNOTATION) or "{}")
    except json.JSONDecodeError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): int(v) for k, v in loaded.items() if isinstance(v, (int, float))}


def encode_state(state: Mapping[str, int]) -> str:
    """The annotation value for ``state``, keeping the newest :data:`MAX_ENTRIES`."""
    newest = sorted(state.items(), key=lambda item: (item[1], item[0]))[-MAX_ENTRIES:]
    return json.dumps(dict(sorted(newest)), separators=(",", ":"))


def plan(
    app: Mapping[str, Any],
    notified: Mapping[str, int],
    subscriptions: Iterable[tuple[str, Destination]],
    config: NotificationConfig,
    now: datetime,
    context: Mapping[str, Any],
) -> Plan:
    """Evaluate every subscribed trigger over ``app`` against what was ``notified`` already."""
    metadata = app.get("metadata") or {}
    where = f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"
    state = dict(notified)
    sends: list[Notification] = []
    problems: list[str] = []
    stamp = int(now.timestamp())
    for trigger_name, destination in dict.fromkeys(subscriptions):
        trigger = config.triggers.get(trigger_name)
        if trigger is None:
            problems.append(f"failed to notify Application/{where}: unknown trigger {trigger_name}")
            continue
        destination_key = (destination.service, destination.recipient)
        for index, condition in enumerate(trigger.conditions):
            try:
                fired = evaluate(condition.when, app, lambda: now) is True
                once = evaluate(condition.once_per, app, lambda: now) if condition.once_per else ""
            except NotificationError as error:
                problems.append(
                    f"failed to evaluate trigger {trigger_name} of Application/{where}: {error}"
                )
                continue
            key = ":".join(
                ("" if once is None else str(once), trigger_name, str(index), *destination_key)
            )
            if not fired:
                if not condition.once_per:
                    state.pop(key, None)
                continue
            if key in state:
                continue
            state[key] = stamp
            service = config.services.get(destination.service)
            if service is None:
                problems.append(
                    f"failed to notify Application/{where}: unknown service {destination.service}"
                )
                continue
            data = {
                "app": app,
                "context": context,
                "serviceType": service.type,
                "recipient": destination.recipient,
            }
            for template_name in condition.send:
                template = config.templates.get(template_name)
                if template is None:
                    problems.append(
                        f"failed to notify Application/{where}: unknown template {template_name}"
                    )
                    continue
                try:
                    content = render(template, data, where)
                except NotificationError as error:
                    problems.append(str(error))
                    continue
                sends.append(Notification(where, trigger_name, destination, content))
    return Plan(tuple(sends), state, tuple(problems))
