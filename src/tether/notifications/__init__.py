"""Notifications and Kubernetes Events for Applications, in Argo CD Notifications' formats.

:class:`NotificationController` watches the Applications of the control namespace
(and its AppProjects, ``argocd-notifications-cm`` and ``argocd-notifications-secret``).
On every change of an app it

1. writes ``core/v1`` Events on the app for the transitions it sees (see :mod:`.events`:
   ``OperationStarted``, ``OperationCompleted``, ``ResourceUpdated``,
   ``NotificationFailed``);
2. evaluates the triggers the app is subscribed to and queues one notification per
   trigger condition that newly holds, per destination.

**Configuration** (ConfigMap ``argocd-notifications-cm``, see :mod:`.config`):
``service.<type>[.<name>]`` (types ``webhook``, ``slack``, ``teams``, ``googlechat``,
``email``; formats in :mod:`.services`), ``template.<name>``, ``trigger.<name>``,
``defaultTriggers``, ``defaultTriggers.<service>``, ``subscriptions`` and ``context``
(``argocdUrl`` for templates). ``$key`` in a service's values is replaced by that key
of Secret ``argocd-notifications-secret``; secret values never reach a log line or an
Event.

**Subscriptions** are annotations on the Application or its AppProject:
``notifications.argoproj.io/subscribe.<trigger>.<service>: <recipient>[;<recipient>]``,
or ``notifications.argoproj.io/subscribe.<service>`` for the default triggers, plus the
ConfigMap's ``subscriptions`` (``recipients: [service:recipient]``, ``triggers``,
``selector`` of ``label=value`` terms).

**Triggers** are lists of conditions ``{when, send, oncePer}``. ``when`` and ``oncePer``
are expressions over ``app`` evaluated by :mod:`.expr`, a small parser and tree walker
(never Python's ``eval``) that accepts the subset of ``expr`` Argo CD's catalog uses.
The catalog's triggers and templates are built in (:mod:`.catalog`): ``on-created``,
``on-deleted``, ``on-deployed``, ``on-health-degraded``, ``on-sync-failed``,
``on-sync-running``, ``on-sync-status-unknown``, ``on-sync-succeeded``; ConfigMap
entries of the same name replace them.

**Templates** are rendered by tether's Go ``text/template`` engine with Sprig over
``.app``, ``.context``, ``.serviceType`` and ``.recipient``: ``message``, ``title`` and
every string of the service fields (``webhook.<name>.{method,path,body}``,
``slack.{attachments,blocks}``, ``teams.{title,summary,themeColor,facts,sections,
potentialAction}``, ``googlechat.cardsV2``, ``email.subject``).

**Deduplication** follows Argo CD (:mod:`.state`): the annotation
``notified.notifications.argoproj.io`` records what was sent, keyed by
``oncePer`` value, trigger, condition and destination, so a restarted controller sends
nothing twice. A condition without ``oncePer`` notifies again only after it stopped
holding; with ``oncePer`` (``on-deployed``: the synced revision) once per value. The
state is recorded when a notification is queued: a notification lost to a crash
between queueing and delivery is not sent again (at most once, like Argo CD).

**Delivery** runs in worker tasks fed by a bounded queue: evaluation never waits on a
receiver. Transient failures (connection errors, 429, 5xx, SMTP 4xx) are retried with
exponential backoff; the last failure, a bad template, an unknown trigger, template or
service is logged as an error and recorded as a Warning Event ``NotificationFailed``.

Layering: this package uses :mod:`tether.kube`, :mod:`tether.model` and the Go template
engine of :mod:`tether.controller`; it sits beside :mod:`tether.server`, above
``tether.controller`` and below ``tether.cli``.
"""

from __future__ import annotations

from tether.notifications.config import NotificationConfig, parse_config
from tether.notifications.controller import NotificationController
from tether.notifications.errors import (
    ConfigError,
    DeliveryError,
    ExpressionError,
    NotificationError,
    TemplateError,
)
from tether.notifications.expr import evaluate, parse_expression
from tether.notifications.model import Destination, Notification, Rendered, Service, Template
from tether.notifications.services import Sender

__all__ = [
    "ConfigError",
    "DeliveryError",
    "Destination",
    "ExpressionError",
    "Notification",
    "NotificationConfig",
    "NotificationController",
    "NotificationError",
    "Rendered",
    "Sender",
    "Service",
    "Template",
    "TemplateError",
    "evaluate",
    "parse_config",
    "parse_expression",
]
