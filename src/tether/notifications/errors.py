"""The notification subsystem's errors: one small tree, each carrying what it concerns."""

from __future__ import annotations


class NotificationError(Exception):
    """Base of every error raised by :mod:`tether.notifications`."""


class ExpressionError(NotificationError):
    """A trigger condition could not be parsed or evaluated."""

    def __init__(self, expression: str, cause: str) -> None:
        super().__init__(f"failed to evaluate condition {expression!r}: {cause}")
        self.expression = expression
        self.cause = cause


class ConfigError(NotificationError):
    """``argocd-notifications-cm`` holds something unusable; ``key`` names the entry."""

    def __init__(self, key: str, cause: str) -> None:
        super().__init__(f"failed to read ConfigMap argocd-notifications-cm key {key}: {cause}")
        self.key = key
        self.cause = cause


class TemplateError(NotificationError):
    """A notification template could not be rendered for an Application."""

    def __init__(self, template: str, app: str, cause: str) -> None:
        super().__init__(f"failed to render template {template} for Application/{app}: {cause}")
        self.template = template
        self.app = app


class DeliveryError(NotificationError):
    """A service refused or could not take a notification (worth retrying if ``transient``)."""

    def __init__(self, service: str, recipient: str, cause: str, *, transient: bool) -> None:
        where = f"{service}:{recipient}" if recipient else service
        super().__init__(f"failed to send notification to {where}: {cause}")
        self.service = service
        self.recipient = recipient
        self.transient = transient
