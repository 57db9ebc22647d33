"""Each built-in trigger fires once per transition and revision, across restarts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tether.notifications import NotificationController
from tether.notifications.state import ANNOTATION

from .conftest import Cluster, Receiver, eventually, load

SECRETS = ("tok-9f8e7d6c5b4a", "pw-1a2b3c4d5e6f")


def operation(phase: str, started: str, revision: str = "", message: str = "") -> dict[str, Any]:
    # Every key is written (None where unset): the status is applied as a merge patch.
    done = phase != "Running"
    return {
        "phase": phase,
        "startedAt": started,
        "finishedAt": started if done else None,
        "message": message,
        "syncResult": {"revision": revision} if done else None,
        "operation": {
            "sync": {"revision": revision, "source": None, "autoHealAttemptsCount": None},
            "initiatedBy": {"username": "alice", "automated": None},
        },
    }


def status(sync: str, health: str, op: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "status": {
            "sync": {
                "status": sync,
                "revision": ((op or {}).get("syncResult") or {}).get("revision"),
            },
            "health": {"status": health},
            "operationState": op,
        }
    }


@pytest.fixture
async def notifier(configured: Cluster) -> AsyncIterator[NotificationController]:
    controller = NotificationController(configured.client, configured.namespace)
    await controller.start()
    try:
        yield controller
    finally:
        await controller.close()


def texts(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["text"] for r in receiver.to("/slack")]


async def wait_for(receiver: Receiver, count: int) -> None:
    await eventually(lambda: len(receiver.to("/slack")) >= count)


# The app's life, step by step: the status the test writes and the messages it adds.
STEPS: list[tuple[dict[str, Any], list[str]]] = [
    (status("OutOfSync", "Missing", operation("Running", "2026-03-01T11:00:00Z", "aaa111")),
     ["The sync operation of application guestbook has started at 2026-03-01T11:00:00Z."]),
    (status("Synced", "Healthy", operation("Succeeded", "2026-03-01T11:00:00Z", "aaa111")),
     ["Application guestbook is now running new version of deployments manifests "
      "(revision aaa111).",
      "Application guestbook has been successfully synced at 2026-03-01T11:00:00Z."]),
    (status("Synced", "Degraded", operation("Succeeded", "2026-03-01T11:00:00Z", "aaa111")),
     ["Application guestbook has degraded."]),
    (status("Unknown", "Degraded", operation("Succeeded", "2026-03-01T11:00:00Z", "aaa111")),
     ["Application guestbook sync is 'Unknown'."]),
    (status("OutOfSync", "Healthy", operation("Running", "2026-03-01T11:10:00Z", "bbb222")),
     ["The sync operation of application guestbook has started at 2026-03-01T11:10:00Z."]),
    (status("OutOfSync", "Healthy",
            operation("Failed", "2026-03-01T11:10:00Z", "bbb222", "one or more objects failed")),
     ["The sync operation of application guestbook has failed at 2026-03-01T11:10:00Z with "
      "the following error: one or more objects failed"]),
    (status("OutOfSync", "Healthy", operation("Running", "2026-03-01T11:20:00Z", "aaa111")),
     ["The sync operation of application guestbook has started at 2026-03-01T11:20:00Z."]),
    # The same revision deployed again: on-sync-succeeded fires, on-deployed does not.
    (status("Synced", "Healthy", operation("Succeeded", "2026-03-01T11:20:00Z", "aaa111")),
     ["Application guestbook has been successfully synced at 2026-03-01T11:20:00Z."]),
]  # fmt: skip


async def test_each_builtin_trigger_fires_once_per_transition_and_revision(
    configured: Cluster,
    receiver: Receiver,
    notifier: NotificationController,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = load("application-subscribed.yaml")
    app["metadata"]["finalizers"] = ["tether.dev/test-hold"]
    await configured.create(app)
    expected = ["Application guestbook has been created."]
    await wait_for(receiver, len(expected))
    for patch, messages in STEPS:
        await configured.patch_app("guestbook", patch)
        expected += messages
        await wait_for(receiver, len(expected))
        # Touching the app without a transition sends nothing more.
        await configured.patch_app("guestbook", {"metadata": {"labels": {"touched": "yes"}}})
    await asyncio.sleep(0.3)
    assert sorted(texts(receiver)) == sorted(expected)
    assert {r.headers["Content-Type"] for r in receiver.to("/slack")} == {"application/json"}
    assert {json.loads(r.body)["channel"] for r in receiver.to("/slack")} == {"deploys"}

    # A restarted controller reads the notified state and resends nothing.
    await notifier.close()
    restarted = NotificationController(configured.client, configured.namespace)
    await restarted.start()
    try:
        await configured.patch_app("guestbook", {"metadata": {"labels": {"touched": "again"}}})
        await asyncio.sleep(0.5)
        assert sorted(texts(receiver)) == sorted(expected)
        await configured.client.delete("argoproj.io/v1alpha1", "Application", "guestbook",
                                       configured.namespace)  # fmt: skip
        expected.append("Application guestbook has been deleted.")
        await wait_for(receiver, len(expected))
        await configured.patch_app("guestbook", {"metadata": {"finalizers": None}})
    finally:
        await restarted.close()
    assert sorted(texts(receiver)) == sorted(expected)
    assert not [r for r in caplog.records for s in SECRETS if s in r.getMessage()]


async def test_transitions_are_recorded_as_events_on_the_app(
    configured: Cluster, receiver: Receiver, notifier: NotificationController
) -> None:
    await configured.create(load("application-subscribed.yaml"))
    await wait_for(receiver, 1)
    for patch, _ in STEPS[:2] + STEPS[4:6]:
        await configured.patch_app("guestbook", patch)
        await asyncio.sleep(0.1)
    healed = operation("Succeeded", "2026-03-01T11:30:00Z", "ccc333")
    healed["operation"]["sync"]["autoHealAttemptsCount"] = 1
    healed["operation"]["initiatedBy"] = {"automated": True, "username": None}
    await configured.patch_app("guestbook", status("Synced", "Healthy", healed))
    rollback = operation("Running", "2026-03-01T11:40:00Z", "aaa111")
    rollback["operation"]["sync"]["source"] = {"repoURL": "https://git.example.test/g.git"}
    await configured.patch_app("guestbook", status("OutOfSync", "Healthy", rollback))

    def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return sorted((e["type"], e["reason"], e["message"]) for e in events)

    wanted = [
        ("Normal", "OperationCompleted", "Self-heal reverted drift: "
                                         "Sync operation to ccc333 succeeded"),
        ("Normal", "OperationCompleted", "Sync operation to aaa111 succeeded"),
        ("Normal", "OperationStarted", "alice initiated rollback to aaa111"),
        ("Normal", "OperationStarted", "alice initiated sync to aaa111"),
        ("Normal", "OperationStarted", "alice initiated sync to bbb222"),
        ("Normal", "ResourceUpdated", "Updated health status: Missing -> Healthy"),
        ("Normal", "ResourceUpdated", "Updated sync status: OutOfSync -> Synced"),
        ("Normal", "ResourceUpdated", "Updated sync status: Synced -> OutOfSync"),
        ("Warning", "OperationCompleted",
         "Sync operation to bbb222 failed: one or more objects failed"),
    ]  # fmt: skip

    for _ in range(200):  # bounded: 10 s
        missing = set(wanted) - set(summary(await configured.events("guestbook")))
        if not missing:
            break
        await asyncio.sleep(0.05)
    assert sorted(missing) == []
    events = await configured.events("guestbook")
    assert {e["involvedObject"]["kind"] for e in events} == {"Application"}
    assert {e["metadata"]["namespace"] for e in events} == {configured.namespace}
    annotation = json.loads(
        (await configured.app("guestbook") or {})["metadata"]["annotations"][ANNOTATION]
    )
    assert "guestbook:on-created:0:slack:deploys" in annotation
