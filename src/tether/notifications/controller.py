"""The notification controller: watches Applications, notifies, writes Events.

It runs beside the application controller, never inside it: evaluation happens in
its own watch task and delivery in its own workers fed by a bounded queue, so a slow
or failing receiver never delays reconciliation, and a full queue drops (and logs)
rather than waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx

from tether.kube import Gone, KubeClient, KubeError, NotFound
from tether.notifications.config import (
    CONFIGMAP,
    SECRET,
    NotificationConfig,
    annotation_subscriptions,
    labels_of,
    parse_config,
)
from tether.notifications.errors import DeliveryError
from tether.notifications.events import AppEvent, event_object, transitions
from tether.notifications.model import Destination, Notification
from tether.notifications.services import Sender
from tether.notifications.state import ANNOTATION, encode_state, plan, read_state

log = logging.getLogger(__name__)

API_VERSION: Final = "argoproj.io/v1alpha1"
WATCH_BACKOFF: Final = 1.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Delivery:
    notification: Notification
    app: Mapping[str, Any]
    attempt: int = 0


class NotificationController:
    """Notifies subscribers of Application transitions and records Events on the apps.

    ``retries`` transient failures are retried after ``backoff * 2**attempt`` seconds
    (capped at ``max_backoff``); the queue holds at most ``queue_size`` deliveries.
    """

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        clock: Callable[[], datetime] = _utcnow,
        *,
        sender: Sender | None = None,
        workers: int = 4,
        queue_size: int = 1000,
        retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        http_timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.clock = clock
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._http: httpx.AsyncClient | None = None
        if sender is None:
            self._http = httpx.AsyncClient(timeout=http_timeout, follow_redirects=False)
            sender = Sender(self._http, smtp_timeout=http_timeout)
        self.sender = sender
        self.workers = workers
        self._queue: asyncio.Queue[_Delivery] = asyncio.Queue(queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._retries: set[asyncio.TimerHandle] = set()
        self._config: NotificationConfig | None = None
        self._apps: dict[str, dict[str, Any]] = {}
        self._projects: dict[str, Mapping[str, Any]] = {}
        self._notified: dict[str, dict[str, int]] = {}
        self._reported: dict[str, set[str]] = {}

    # --- running -------------------------------------------------------------------

    async def start(self) -> None:
        """Read the AppProjects, then watch and deliver in the background."""
        if self._tasks:
            return
        # Projects are known before the first app is looked at, so subscriptions made on
        # a project apply from the start.
        projects = await self.client.list(API_VERSION, "AppProject", self.namespace)
        for project in projects.items:
            await self._on_project("ADDED", project)
        self._tasks = [
            asyncio.create_task(self._watch("v1", "ConfigMap", self._on_settings)),
            asyncio.create_task(self._watch("v1", "Secret", self._on_settings)),
            asyncio.create_task(
                self._watch(API_VERSION, "AppProject", self._on_project, projects.resource_version)
            ),
            asyncio.create_task(self._watch(API_VERSION, "Application", self._on_app)),
            *(asyncio.create_task(self._deliver()) for _ in range(self.workers)),
        ]

    async def close(self) -> None:
        """Stop watching and delivering; deliveries still queued are dropped."""
        for handle in self._retries:
            handle.cancel()
        self._retries.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._http is not None:
            await self._http.aclose()

    async def _watch(
        self,
        api_version: str,
        kind: str,
        handle: Callable[[str, dict[str, Any]], Awaitable[None]],
        version: str = "",
    ) -> None:
        while True:
            try:
                if not version:
                    listed = await self.client.list(api_version, kind, self.namespace)
                    for item in listed.items:
                        await handle("ADDED", item)
                    version = listed.resource_version
                async for event in self.client.watch(
                    api_version, kind, self.namespace, resource_version=version
                ):
                    metadata = event.object.get("metadata") or {}
                    version = str(metadata.get("resourceVersion", version))
                    if event.type != "BOOKMARK":
                        await handle(event.type, event.object)
            except Gone:
                version = ""
            except KubeError as error:
                log.warning("watch of %s in %s failed: %s", kind, self.namespace, error)
                version = ""
                await asyncio.sleep(WATCH_BACKOFF)
            except Exception:  # a bug must not end the watch for good: log, relist
                log.exception("watch of %s in %s failed unexpectedly", kind, self.namespace)
                version = ""
                await asyncio.sleep(WATCH_BACKOFF)

    # --- inputs --------------------------------------------------------------------

    async def _on_settings(self, _: str, obj: dict[str, Any]) -> None:
        if (obj.get("metadata") or {}).get("name") in (CONFIGMAP, SECRET):
            self._config = None  # read again, whole, at the next app change
            self._reported.clear()

    async def _on_project(self, kind: str, obj: dict[str, Any]) -> None:
        name = str((obj.get("metadata") or {}).get("name", ""))
        if kind == "DELETED":
            self._projects.pop(name, None)
        else:
            self._projects[name] = obj

    async def config(self) -> NotificationConfig:
        """The current configuration (read from the cluster when it changed)."""
        if self._config is None:
            configmap = await self._get_optional("ConfigMap", CONFIGMAP)
            secret = await self._get_optional("Secret", SECRET)
            config = parse_config(configmap, secret)
            for problem in config.problems:
                log.error("%s", config.redact(str(problem)))
            self._config = config
        return self._config

    async def _get_optional(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.client.get("v1", kind, name, self.namespace)
        except NotFound:
            return None

    def _subscriptions(
        self, app: Mapping[str, Any], config: NotificationConfig
    ) -> list[tuple[str, Destination]]:
        annotations = (app.get("metadata") or {}).get("annotations") or {}
        project = self._projects.get(str((app.get("spec") or {}).get("project") or "default"))
        project_annotations = ((project or {}).get("metadata") or {}).get("annotations") or {}
        pairs = annotation_subscriptions(project_annotations, config)
        pairs += annotation_subscriptions(annotations, config)
        labels = labels_of(app)
        for subscription in config.subscriptions:
            if subscription.matches(labels):
                chosen = subscription.triggers or config.default_triggers
                pairs += [(t, d) for t in chosen for d in subscription.recipients]
        return pairs

    # --- evaluation ----------------------------------------------------------------

    async def _on_app(self, kind: str, app: dict[str, Any]) -> None:
        metadata = app.get("metadata") or {}
        key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        if kind == "DELETED":
            self._apps.pop(key, None)
            self._notified.pop(key, None)
            self._reported.pop(key, None)
            return
        previous = self._apps.get(key)
        self._apps[key] = app
        if previous is not None:
            for event in transitions(previous, app):
                await self._record(app, event)
        config = await self.config()
        subscriptions = self._subscriptions(app, config)
        if not subscriptions:
            return
        context = {"argocdUrl": "", **config.context}
        # What this controller wrote last wins over the annotation of an older event
        # still in the watch stream; after a restart the annotation is all there is.
        notified = self._notified.get(key)
        if notified is None:
            notified = read_state(app)
        outcome = plan(app, notified, subscriptions, config, self.clock(), context)
        self._notified[key] = dict(outcome.state)
        reported = self._reported.setdefault(key, set())
        for problem in outcome.problems:
            # An unknown trigger or a condition that cannot be evaluated stays wrong until
            # the config changes: say so once, not at every change of the app.
            if problem in reported:
                continue
            reported.add(problem)
            message = config.redact(problem)
            log.error("%s", message)
            await self._record(app, AppEvent("NotificationFailed", message, "Warning"))
        state = encode_state(outcome.state)
        if state != (metadata.get("annotations") or {}).get(ANNOTATION, encode_state({})):
            await self._save_state(app, state)
        for notification in outcome.notifications:
            self._enqueue(_Delivery(notification, app))

    async def _save_state(self, app: dict[str, Any], state: str) -> None:
        metadata = app.get("metadata") or {}
        try:
            await self.client.patch(
                API_VERSION,
                "Application",
                str(metadata.get("name")),
                metadata.get("namespace"),
                {"metadata": {"annotations": {ANNOTATION: state}}},
            )
        except KubeError as error:
            log.warning("failed to record notifications of Application: %s", error)

    async def _record(self, app: Mapping[str, Any], event: AppEvent) -> None:
        try:
            await self.client.create(event_object(app, event, self.clock()))
        except KubeError as error:
            log.warning("failed to write event %s: %s", event.reason, error)

    # --- delivery ------------------------------------------------------------------

    def _enqueue(self, delivery: _Delivery) -> None:
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            n = delivery.notification
            log.error(
                "failed to queue notification %s of Application/%s for %s: queue full",
                n.trigger,
                n.app,
                n.destination.service,
            )

    async def _deliver(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._attempt(delivery)
            except Exception:  # one bad notification must not stop delivery
                log.exception("failed to deliver a notification")
            finally:
                self._queue.task_done()

    async def _attempt(self, delivery: _Delivery) -> None:
        notification = delivery.notification
        config = await self.config()
        service = config.services.get(notification.destination.service)
        if service is None:
            return  # removed from the config since it was queued
        try:
            await self.sender.send(service, notification)
        except DeliveryError as error:
            message = config.redact(str(error))
            if error.transient and delivery.attempt < self.retries:
                delay = min(self.backoff * 2**delivery.attempt, self.max_backoff)
                log.warning(
                    "%s (attempt %d, retrying in %.1fs)", message, delivery.attempt + 1, delay
                )
                self._retry_later(
                    _Delivery(notification, delivery.app, delivery.attempt + 1), delay
                )
                return
            log.error("%s (attempt %d, giving up)", message, delivery.attempt + 1)
            await self._record(delivery.app, AppEvent("NotificationFailed", message, "Warning"))
            return
        log.info(
            "sent notification %s of Application/%s to %s",
            notification.trigger,
            notification.app,
            notification.destination.service,
        )

    def _retry_later(self, delivery: _Delivery, delay: float) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._retries.discard(handle)
            self._enqueue(delivery)

        handle = loop.call_later(delay, fire)
        self._retries.add(handle)
