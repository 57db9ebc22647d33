"""Delivering a rendered notification through one service.

Formats follow Argo CD Notifications:

- ``webhook``: config ``url``, ``headers`` (``[{name, value}]``), ``basicAuth``
  (``{username, password}``); the template's ``webhook.<service>`` gives ``method``
  (default ``GET``), ``path`` (appended to ``url``) and ``body`` (sent as is).
- ``slack``: an incoming webhook, config ``url`` (or ``webhooks: {<channel>: <url>}``),
  optional ``username`` and ``icon``; the body is ``{"text", "channel", "attachments",
  "blocks"}`` where the template's ``slack.attachments``/``slack.blocks`` are JSON text.
- ``teams``: config ``recipientUrls: {<channel>: <url>}``; the body is a MessageCard from
  the template's ``teams`` fields (``title``, ``summary``, ``themeColor``, ``facts``,
  ``sections``, ``potentialAction`` as JSON text) and the message as ``text``.
- ``googlechat``: config ``webhooks: {<space>: <url>}``; the body is ``{"text"}``, or
  the template's ``googlechat.cardsV2`` (JSON text) as ``cardsV2``.
- ``email``: config ``host``, ``port``, ``from``, ``username``, ``password``,
  ``starttls`` (default true when a username is set); ``email.subject`` is the subject
  (default: the title), the message the body; recipients are addresses.

Failures are :class:`~tether.notifications.errors.DeliveryError`; ``transient`` tells
the delivery queue whether a retry may help (connection failures, 429, 5xx).
"""

from __future__ import annotations

import asyncio
import json
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import httpx

from tether.notifications.errors import DeliveryError
from tether.notifications.model import Notification, Service

REMOTE_BODY_LIMIT = 200


class Sender:
    """Sends notifications over HTTP (one shared client) and SMTP."""

    def __init__(self, http: httpx.AsyncClient, *, smtp_timeout: float = 10.0) -> None:
        self.http = http
        self.smtp_timeout = smtp_timeout

    async def send(self, service: Service, notification: Notification) -> None:
        """Deliver ``notification`` through ``service``; raises DeliveryError."""
        recipient = notification.destination.recipient
        fields = notification.content.fields
        if service.type == "email":
            await asyncio.to_thread(self._send_email, service, notification)
            return
        if service.type == "webhook":
            spec = (fields.get("webhook") or {}).get(service.name) or {}
            if not isinstance(spec, Mapping):
                raise _permanent(service, recipient, "template webhook entry must be a mapping")
            url = str(service.config.get("url", "")).rstrip("/") + str(spec.get("path") or "")
            headers = {
                str(h.get("name")): str(h.get("value"))
                for h in service.config.get("headers") or []
                if isinstance(h, Mapping)
            }
            basic = service.config.get("basicAuth") or {}
            auth = (
                httpx.BasicAuth(str(basic.get("username", "")), str(basic.get("password", "")))
                if basic
                else None
            )
            method = str(spec.get("method") or "GET").upper()
            body = str(spec.get("body") or "")
            await self._post(service, recipient, url, body.encode(), headers, auth, method)
            return
        url, payload = _json_payload(service, notification)
        await self._post(
            service,
            recipient,
            url,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json"},
            None,
            "POST",
        )

    async def _post(
        self,
        service: Service,
        recipient: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        auth: httpx.Auth | None,
        method: str,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise _permanent(service, recipient, "no http(s) url configured")
        try:
            response = await self.http.request(
                method, url, content=body or None, headers=dict(headers), auth=auth
            )
        except httpx.HTTPError as error:
            cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            raise DeliveryError(service.name, recipient, cause, transient=True) from error
        if response.status_code >= 300:
            text = response.text[:REMOTE_BODY_LIMIT]
            raise DeliveryError(
                service.name,
                recipient,
                f"{response.status_code} {response.reason_phrase}: {text}",
                transient=response.status_code == 429 or response.status_code >= 500,
            )

    def _send_email(self, service: Service, notification: Notification) -> None:
        config = service.config
        recipient = notification.destination.recipient
        if not recipient:
            raise _permanent(service, recipient, "email needs a recipient address")
        message = EmailMessage()
        subject = (notification.content.fields.get("email") or {}).get("subject")
        message["Subject"] = str(subject or notification.content.title)
        message["From"] = str(config.get("from", ""))
        message["To"] = recipient
        message.set_content(notification.content.message)
        username = str(config.get("username") or "")
        try:
            port = int(config.get("port", 25))
        except (TypeError, ValueError) as error:
            raise _permanent(service, recipient, "port must be a number") from error
        try:
            with smtplib.SMTP(str(config.get("host", "")), port, timeout=self.smtp_timeout) as smtp:
                if config.get("starttls", bool(username)):
                    smtp.starttls()
                if username:
                    smtp.login(username, str(config.get("password") or ""))
                smtp.send_message(message)
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(
                service.name,
                recipient,
                f"SMTP {error.smtp_code}",
                transient=error.smtp_code >= 400 and error.smtp_code < 500,
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(
                service.name, recipient, type(error).__name__, transient=True
            ) from error


def _permanent(service: Service, recipient: str, cause: str) -> DeliveryError:
    return DeliveryError(service.name, recipient, cause, transient=False)


def _json_field(service: Service, recipient: str, value: Any, name: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value) if value.strip() else None
    except json.JSONDecodeError as error:
        raise _permanent(service, recipient, f"template field {name} is not JSON") from error


def _url_for(service: Service, recipient: str, table: str) -> str:
    urls = service.config.get(table) or {}
    url = urls.get(recipient) if isinstance(urls, Mapping) else None
    url = url or service.config.get("url")
    if not url:
        raise _permanent(service, recipient, f"no url for recipient {recipient!r} in {table}")
    return str(url)


def _json_payload(service: Service, notification: Notification) -> tuple[str, dict[str, Any]]:
    recipient = notification.destination.recipient
    content = notification.content
    if service.type == "slack":
        spec = content.fields.get("slack") or {}
        payload: dict[str, Any] = {"text": content.message}
        if recipient:
            payload["channel"] = recipient
        for key, field in (("username", "username"), ("icon", "icon_emoji")):
            if service.config.get(key):
                payload[field] = service.config[key]
        for name in ("attachments", "blocks"):
            value = _json_field(service, recipient, spec.get(name), f"slack.{name}")
            if value:
                payload[name] = value
        return _url_for(service, recipient, "webhooks"), payload
    if service.type == "teams":
        spec = content.fields.get("teams") or {}
        payload = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "title": spec.get("title") or content.title,
            "text": content.message,
            "summary": spec.get("summary") or content.title or content.message[:80],
        }
        if spec.get("themeColor"):
            payload["themeColor"] = spec["themeColor"]
        facts = _json_field(service, recipient, spec.get("facts"), "teams.facts")
        sections = _json_field(service, recipient, spec.get("sections"), "teams.sections") or []
        if facts:
            sections = [*sections, {"facts": facts}]
        if sections:
            payload["sections"] = sections
        actions = _json_field(
            service, recipient, spec.get("potentialAction"), "teams.potentialAction"
        )
        if actions:
            payload["potentialAction"] = actions
        return _url_for(service, recipient, "recipientUrls"), payload
    if service.type == "googlechat":
        spec = content.fields.get("googlechat") or {}
        cards = _json_field(service, recipient, spec.get("cardsV2"), "googlechat.cardsV2")
        payload = {"cardsV2": cards} if cards else {"text": content.message}
        return _url_for(service, recipient, "webhooks"), payload
    raise _permanent(service, recipient, f"unsupported service type {service.type!r}")
