"""Reading ``argocd-notifications-cm`` and ``argocd-notifications-secret``.

Keys follow Argo CD: ``service.<type>`` or ``service.<type>.<name>`` (the service is
then called ``<name>``), ``template.<name>``, ``trigger.<name>``, ``defaultTriggers``
(and ``defaultTriggers.<service>``), ``subscriptions`` and ``context``. Values are YAML.
A ``$key`` inside a service's strings is replaced with that key of the Secret. One bad
entry is reported and skipped: the others keep working.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from tether.notifications.catalog import BUILTIN_TEMPLATES, BUILTIN_TRIGGERS
from tether.notifications.errors import ConfigError
from tether.notifications.model import Condition, Destination, Service, Template, Trigger

CONFIGMAP: Final = "argocd-notifications-cm"
SECRET: Final = "argocd-notifications-secret"
SUBSCRIBE_PREFIX: Final = "notifications.argoproj.io/subscribe."
SERVICE_TYPES: Final = frozenset({"webhook", "slack", "teams", "googlechat", "email"})
_REFERENCE = re.compile(r"\$([A-Za-z0-9_.-]+)")


@dataclass(frozen=True, slots=True)
class GlobalSubscription:
    """An entry of ``subscriptions``: recipients (``service:recipient``) for matching apps."""

    recipients: tuple[Destination, ...]
    triggers: tuple[str, ...]
    selector: Mapping[str, str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an app with ``labels`` matches the equality selector."""
        return all(labels.get(k) == v for k, v in self.selector.items())


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    """Everything read from the ConfigMap and Secret, with the built-in catalog merged in."""

    services: Mapping[str, Service] = field(default_factory=dict)
    templates: Mapping[str, Template] = field(default_factory=lambda: dict(BUILTIN_TEMPLATES))
    triggers: Mapping[str, Trigger] = field(default_factory=lambda: dict(BUILTIN_TRIGGERS))
    default_triggers: tuple[str, ...] = ()
    service_default_triggers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subscriptions: tuple[GlobalSubscription, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)
    secret_values: frozenset[str] = field(default=frozenset(), repr=False)
    problems: tuple[ConfigError, ...] = ()

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced, for logs and Events."""
        for value in sorted(self.secret_values, key=len, reverse=True):
            text = text.replace(value, "******")
        return text

    def defaults_for(self, service: str) -> tuple[str, ...]:
        """The triggers a subscription without a trigger name means for ``service``."""
        return self.service_default_triggers.get(service, self.default_triggers)


def secret_data(secret: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's values, decoded (``stringData`` wins, as the API server would merge it)."""
    if not secret:
        return {}
    values: dict[str, str] = {}
    for key, encoded in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(encoded)).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    values.update({str(k): str(v) for k, v in (secret.get("stringData") or {}).items()})
    return values


def _substitute(value: Any, secrets: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: secrets.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, secrets) for v in value]
    return value


def _load(key: str, text: str) -> Any:
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as error:
        raise ConfigError(key, f"invalid YAML: {str(error).splitlines()[0]}") from error


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(key, "expected a list of strings")


def _service(key: str, text: str, secrets: Mapping[str, str]) -> Service:
    _, kind, *rest = key.split(".", 2)
    if kind not in SERVICE_TYPES:
        known = ", ".join(sorted(SERVICE_TYPES))
        raise ConfigError(key, f"unknown service type {kind!r} (known: {known})")
    loaded = _load(key, text) if text.strip() else {}
    if not isinstance(loaded, Mapping):
        raise ConfigError(key, "expected a mapping")
    return Service(rest[0] if rest else kind, kind, _substitute(loaded, secrets))


def _template(key: str, text: str) -> Template:
    loaded = _load(key, text)
    if not isinstance(loaded, Mapping):
        raise ConfigError(key, "expected a mapping")
    fields = {k: v for k, v in loaded.items() if k not in ("message", "title")}
    return Template(
        key.removeprefix("template."),
        str(loaded.get("message") or ""),
        str(loaded.get("title") or ""),
        fields,
    )


def _trigger(key: str, text: str) -> Trigger:
    loaded = _load(key, text)
    if not isinstance(loaded, list) or not loaded:
        raise ConfigError(key, "expected a list of conditions")
    conditions = []
    for item in loaded:
        if not isinstance(item, Mapping) or not isinstance(item.get("when"), str):
            raise ConfigError(key, "every condition needs a 'when' string")
        conditions.append(
            Condition(
                item["when"],
                _strings(key, item.get("send")),
                str(item.get("oncePer") or ""),
                str(item.get("description") or ""),
            )
        )
    return Trigger(key.removeprefix("trigger."), tuple(conditions))


def parse_destination(text: str) -> Destination:
    """``service:recipient`` (or a bare ``service``) as a :class:`Destination`."""
    service, _, recipient = text.partition(":")
    return Destination(service.strip(), recipient.strip())


def _subscriptions(key: str, text: str) -> tuple[GlobalSubscription, ...]:
    loaded = _load(key, text) or []
    if not isinstance(loaded, list):
        raise ConfigError(key, "expected a list")
    result = []
    for item in loaded:
        if not isinstance(item, Mapping):
            raise ConfigError(key, "every subscription must be a mapping")
        selector: dict[str, str] = {}
        for term in str(item.get("selector") or "").split(","):
            if term.strip():
                name, sep, value = term.partition("=")
                if not sep:
                    raise ConfigError(key, f"selector term {term!r} is not name=value")
                selector[name.strip()] = value.strip().lstrip("=")
        result.append(
            GlobalSubscription(
                tuple(parse_destination(r) for r in _strings(key, item.get("recipients"))),
                _strings(key, item.get("triggers")),
                selector,
            )
        )
    return tuple(result)


def parse_config(
    configmap: Mapping[str, Any] | None, secret: Mapping[str, Any] | None
) -> NotificationConfig:
    """Read both objects (either may be absent) into a :class:`NotificationConfig`."""
    data: Mapping[str, Any] = (configmap or {}).get("data") or {}
    secrets = secret_data(secret)
    services: dict[str, Service] = {}
    templates = dict(BUILTIN_TEMPLATES)
    triggers = dict(BUILTIN_TRIGGERS)
    defaults: tuple[str, ...] = ()
    service_defaults: dict[str, tuple[str, ...]] = {}
    subscriptions: tuple[GlobalSubscription, ...] = ()
    context: dict[str, str] = {}
    problems: list[ConfigError] = []
    for key, raw in sorted(data.items()):
        text = str(raw)
        try:
            if key.startswith("service."):
                service = _service(key, text, secrets)
                services[service.name] = service
            elif key.startswith("template."):
                template = _template(key, text)
                templates[template.name] = template
            elif key.startswith("trigger."):
                trigger = _trigger(key, text)
                triggers[trigger.name] = trigger
            elif key == "defaultTriggers":
                defaults = _strings(key, _load(key, text))
            elif key.startswith("defaultTriggers."):
                service_defaults[key.removeprefix("defaultTriggers.")] = _strings(
                    key, _load(key, text)
                )
            elif key == "subscriptions":
                subscriptions = _subscriptions(key, text)
            elif key == "context":
                loaded = _load(key, text) or {}
                if not isinstance(loaded, Mapping):
                    raise ConfigError(key, "expected a mapping")
                context = {str(k): str(v) for k, v in loaded.items()}
        except ConfigError as error:
            problems.append(error)
    return NotificationConfig(
        services,
        templates,
        triggers,
        defaults,
        service_defaults,
        subscriptions,
        context,
        frozenset(v for v in secrets.values() if len(v) >= 4),
        tuple(problems),
    )


def annotation_subscriptions(
    annotations: Mapping[str, str], config: NotificationConfig
) -> list[tuple[str, Destination]]:
    """``(trigger, destination)`` pairs from ``subscribe.<trigger>.<service>`` annotations.

    ``subscribe.<service>`` (no trigger) subscribes to the default triggers. Recipients
    are separated by ``;``; an empty value subscribes the service with no recipient
    (webhooks need none).
    """
    pairs: list[tuple[str, Destination]] = []
    for key, value in annotations.items():
        if not key.startswith(SUBSCRIBE_PREFIX):
            continue
        trigger, _, service = key.removeprefix(SUBSCRIBE_PREFIX).rpartition(".")
        recipients = [r.strip() for r in str(value).split(";") if r.strip()] or [""]
        chosen = (trigger,) if trigger else config.defaults_for(service)
        pairs.extend((t, Destination(service, r)) for t in chosen for r in recipients)
    return pairs


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """The labels of an object, as strings."""
    return {str(k): str(v) for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()}
