"""Every service format on the wire, retries with backoff, and failures reported clearly."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tether.notifications import NotificationController

from .conftest import Cluster, Receiver, SmtpSink, eventually, load

SECRETS = ("tok-9f8e7d6c5b4a", "pw-1a2b3c4d5e6f")
SUBSCRIBE = "notifications.argoproj.io/subscribe."
URL = "https://tether.example.test/applications/checkout"


def synced(revision: str) -> dict[str, Any]:
    finished = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    operation = {"sync": {"revision": revision}}
    return {
        "status": {
            "sync": {"status": "Synced", "revision": revision},
            "health": {"status": "Healthy"},
            "operationState": {
                "operation": operation,
                "phase": "Succeeded",
                "startedAt": finished,
                "finishedAt": finished,
            },
        }
    }


def team_app(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    app = load("application-team.yaml")
    if annotations is not None:
        app["metadata"]["annotations"] = annotations
    return app


@pytest.fixture
async def notifier(configured: Cluster) -> AsyncIterator[NotificationController]:
    controller = NotificationController(
        configured.client, configured.namespace, retries=3, backoff=0.2
    )
    await controller.start()
    try:
        yield controller
    finally:
        await controller.close()


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.DEBUG)
    yield
    leaked = [r.getMessage() for r in caplog.records if any(s in r.getMessage() for s in SECRETS)]
    assert leaked == []


async def warnings(cluster: Cluster, name: str) -> list[str]:
    events = await cluster.events(name)
    return sorted(e["message"] for e in events if e["type"] == "Warning")


async def test_each_service_gets_its_format(
    configured: Cluster,
    receiver: Receiver,
    smtp_sink: SmtpSink,
    notifier: NotificationController,
) -> None:
    await configured.create(team_app())
    await configured.patch_app("checkout", synced("abcdef1234567"))
    await eventually(lambda: len(receiver.requests) >= 4 and smtp_sink.messages)
    message = f"Application checkout synced to abcdef1 ({URL})"

    (hook,) = receiver.to("/hooks/apps/checkout")
    assert hook.method == "POST"
    assert json.loads(hook.body) == {"app": "checkout", "revision": "abcdef1234567",
                                     "health": "Healthy"}  # fmt: skip
    assert hook.headers["X-Token"] == SECRETS[0]
    assert hook.headers["Content-Type"] == "application/json"
    basic = base64.b64encode(f"tether:{SECRETS[1]}".encode()).decode()
    assert hook.headers["Authorization"] == f"Basic {basic}"

    (slack,) = receiver.to("/slack")
    assert json.loads(slack.body) == {
        "text": message,
        "channel": "payments",
        "username": "tether",
        "icon_emoji": ":rocket:",
        "attachments": [{"title": "checkout", "color": "#18be52"}],
    }

    (teams,) = receiver.to("/teams/ops")
    assert json.loads(teams.body) == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "title": "checkout is Synced",
        "text": message,
        "summary": "checkout is Synced",
        "themeColor": "#000080",
        "sections": [{"facts": [{"name": "Revision", "value": "abcdef1234567"}]}],
        "potentialAction": [
            {"@type": "OpenUri", "name": "Open", "targets": [{"os": "default", "uri": URL}]}
        ],
    }

    (chat,) = receiver.to("/chat/space")
    assert json.loads(chat.body) == {
        "cardsV2": [{"cardId": "sync", "card": {"header": {"title": "checkout synced"}}}]
    }

    (mail,) = smtp_sink.messages
    assert mail["Subject"] == "[tether] checkout synced"
    assert mail["To"] == "oncall@example.test"
    assert mail["From"] == "tether@example.test"
    assert mail.get_content().strip() == message

    # oncePer the revision: the same revision again sends nothing, a new one sends again.
    await configured.patch_app("checkout", {"metadata": {"labels": {"touched": "yes"}}})
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 4
    await configured.patch_app("checkout", synced("0123456789abc"))
    await eventually(lambda: len(receiver.requests) == 8 and len(smtp_sink.messages) == 2)


async def test_failing_receiver_is_retried_with_backoff_and_blocks_nothing(
    configured: Cluster, receiver: Receiver, notifier: NotificationController
) -> None:
    receiver.failures["/flaky"] = 2
    await configured.create(
        team_app({f"{SUBSCRIBE}on-synced-team.flaky": "", f"{SUBSCRIBE}on-synced-team.slack": "x"})
    )
    await configured.patch_app("checkout", synced("abcdef1234567"))
    await eventually(lambda: len(receiver.to("/flaky")) == 3, seconds=10)
    first, second, third = (r.at for r in receiver.to("/flaky"))
    assert second - first >= 0.2  # backoff, then doubled
    assert third - second >= 0.4
    (slack,) = receiver.to("/slack")
    assert slack.at < third  # the other destination did not wait for the retries
    await asyncio.sleep(0.2)
    assert len(receiver.to("/flaky")) == 3
    assert await warnings(configured, "checkout") == []


async def test_receiver_that_keeps_failing_gives_a_warning_event(
    configured: Cluster, receiver: Receiver, notifier: NotificationController
) -> None:
    receiver.failures["/flaky"] = 100
    await configured.create(team_app({f"{SUBSCRIBE}on-synced-team.flaky": ""}))
    await configured.patch_app("checkout", synced("abcdef1234567"))
    await eventually(lambda: warnings(configured, "checkout"), seconds=10)
    assert len(receiver.to("/flaky")) == 4  # the first try and three retries
    assert await warnings(configured, "checkout") == [
        "failed to send notification to flaky: 503 Service Unavailable: receiver unavailable"
    ]


async def test_bad_template_and_unknown_service_are_reported(
    configured: Cluster,
    receiver: Receiver,
    notifier: NotificationController,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await configured.create(
        team_app({f"{SUBSCRIBE}on-broken.slack": "x", f"{SUBSCRIBE}on-synced-team.pager": "y"})
    )
    await configured.patch_app("checkout", synced("abcdef1234567"))
    ns = configured.namespace
    expected = [
        f"failed to notify Application/{ns}/checkout: unknown service pager",
        f"failed to render template broken for Application/{ns}/checkout: "
        "template: broken:1: function 'nosuchfunction' not defined",
    ]
    await eventually(lambda: _has_all(warnings(configured, "checkout"), expected))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert all(any(e.startswith(x) for e in errors) for x in expected), errors
    assert receiver.requests == []


async def _has_all(found: Any, expected: list[str]) -> bool:
    messages = await found
    return all(any(m.startswith(x) for m in messages) for x in expected)


async def test_project_annotations_subscribe_the_projects_apps(
    configured: Cluster, receiver: Receiver
) -> None:
    await configured.client.patch(
        "argoproj.io/v1alpha1",
        "AppProject",
        "default",
        configured.namespace,
        {"metadata": {"annotations": {f"{SUBSCRIBE}on-synced-team.slack": "projects"}}},
    )
    controller = NotificationController(configured.client, configured.namespace)
    await controller.start()
    try:
        await configured.create(team_app({}))
        await configured.patch_app("checkout", synced("abcdef1234567"))
        await eventually(lambda: receiver.to("/slack"))
    finally:
        await controller.close()
    (slack,) = receiver.to("/slack")
    assert json.loads(slack.body)["channel"] == "projects"


async def test_an_unknown_trigger_is_reported_once(
    configured: Cluster, receiver: Receiver, notifier: NotificationController
) -> None:
    await configured.create(team_app({f"{SUBSCRIBE}on-nothing.slack": "x"}))
    for revision in ("abcdef1234567", "0123456789abc"):
        await configured.patch_app("checkout", synced(revision))
    message = (
        f"failed to notify Application/{configured.namespace}/checkout: unknown trigger on-nothing"
    )
    await eventually(lambda: warnings(configured, "checkout"))
    await asyncio.sleep(0.3)
    assert await warnings(configured, "checkout") == [message]


async def test_a_full_queue_drops_and_says_so_instead_of_waiting(
    configured: Cluster, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    controller = NotificationController(
        configured.client, configured.namespace, workers=1, queue_size=1
    )
    await controller.start()
    try:
        recipients = ";".join(f"channel-{n}" for n in range(5))
        await configured.create(team_app({f"{SUBSCRIBE}on-synced-team.slack": recipients}))
        await configured.patch_app("checkout", synced("abcdef1234567"))
        await eventually(lambda: receiver.to("/slack"))
        await asyncio.sleep(0.3)
    finally:
        await controller.close()
    # The five are queued at once: the queue takes one, the other four are dropped.
    assert len(receiver.to("/slack")) == 1
    dropped = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    assert len(dropped) == 4
    assert dropped[0].startswith("failed to queue notification on-synced-team of Application/")
