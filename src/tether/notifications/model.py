"""Values of the notification subsystem: triggers, templates, services, subscriptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a trigger: when ``when`` holds, send ``send`` (template names)."""

    when: str
    send: tuple[str, ...]
    once_per: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Trigger:
    """A named list of conditions (``trigger.<name>``)."""

    name: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Template:
    """A notification template (``template.<name>``): Go templates for each field.

    ``fields`` holds the service-specific parts as written (``webhook``, ``slack``,
    ``teams``, ``googlechat``, ``email``); every string inside is a template.
    """

    name: str
    message: str = ""
    title: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Service:
    """A configured service (``service.<type>[.<name>]``) with secrets substituted."""

    name: str
    type: str
    config: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True, order=True)
class Destination:
    """Where one notification goes: a service name and a recipient (may be empty)."""

    service: str
    recipient: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """Triggers an app is subscribed to, with where to send each (annotations or config)."""

    trigger: str
    destination: Destination


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template rendered for one app: message, title and the service-specific fields."""

    template: str
    message: str
    title: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to deliver to one destination."""

    app: str
    trigger: str
    destination: Destination
    content: Rendered
