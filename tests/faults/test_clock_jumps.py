"""Fault: the controller's clock jumps while sync windows hold automated syncs.

The controller reads time only through its injected clock (the harness's
:class:`~controllerharness.MovableClock`), so a jump is a real step of the time every
part of it sees: the windows' verdicts, ``startedAt``/``finishedAt``, the self-heal and
retry back-offs. What must hold, whatever the jumps:

- no automated sync starts at a clock reading where
  :func:`~tether.controller.syncwindows.evaluate_windows` denies it (checked on every
  ``status.operationState.startedAt`` the controller wrote, replayed at that reading);
- while a window denies, the app says OutOfSync and a ``SyncWindowWarning`` names the
  window;
- time going backwards neither crashes the controller, nor loops (the app's status
  goes quiet), nor syncs a revision twice;
- a jump far ahead (a year) gives one sync, not a burst of catch-up syncs;
- a ``timeZone`` window opens at its wall-clock time across daylight-saving changes.

Window semantics at fixed times are tested in ``tests/controller/test_syncwindows.py``;
these tests are about the jumps.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from appmanifests import application, conditions_of, configmap, project
from clockstarts import OperationStarts, denied_starts
from faultbudget import SEED, trials

from tether.controller.syncwindows import evaluate_windows
from tether.model.application import Application
from tether.model.project import AppProject

if TYPE_CHECKING:
    from controllerharness import Harness

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
#: A periodic refresh every second: the controller notices a new time by itself.
SETTINGS = {"timeout.reconciliation": "1s", "timeout.reconciliation.jitter": "0s"}
#: How long "nothing happens" is watched for: longer than a periodic refresh.
QUIET_SECONDS = 1.5
#: How long an app may take to go quiet at all.
QUIET_BOUND = 10.0


def deny(schedule: str, duration: str, **more: Any) -> dict[str, Any]:
    """A deny window for every app of the project (``more``: timeZone, ...)."""
    return {
        "kind": "deny",
        "schedule": schedule,
        "duration": duration,
        "applications": ["*"],
    } | more


def revision_of(app: dict[str, Any]) -> str:
    """The revision the app's sync status names."""
    return str(((app.get("status") or {}).get("sync") or {}).get("revision", ""))


def phase_of(app: dict[str, Any]) -> str:
    """The phase of the app's last or current operation."""
    return str(((app.get("status") or {}).get("operationState") or {}).get("phase", ""))


def history_of(app: dict[str, Any]) -> list[dict[str, Any]]:
    """The app's deployment history, oldest first."""
    return list((app.get("status") or {}).get("history") or [])


class WindowedApp:
    """One automated app in a project of its own with ``windows``, and its repository path."""

    def __init__(self, harness: Harness, windows: list[dict[str, Any]], **spec: Any) -> None:
        self.harness = harness
        self.name = harness.new_app_name()
        self.project = project(f"{self.name}-proj", syncWindows=windows)
        self.manifest = application(
            self.name,
            harness.repo.url_file,
            f"{self.name}-ns",
            path=self.name,
            project=f"{self.name}-proj",
            automated={"prune": True, "selfHeal": True},
        )
        self.manifest["spec"]["syncPolicy"] |= spec
        self.pushes = 0

    async def create(self) -> None:
        await self.harness.client.apply(self.project)
        self.push()
        await self.harness.client.apply(self.manifest)

    def next_revision(self) -> dict[str, str | None]:
        """The files of the app's next revision: its ConfigMap's color changes."""
        self.pushes += 1
        return {f"{self.name}/cm.yaml": configmap("settings", f"shade-{self.pushes}")}

    def push(self) -> str:
        """Push the app's next revision; returns the commit."""
        return self.harness.repo.push(self.next_revision(), f"{self.name}: next revision")

    def allowed_at(self, moment: datetime) -> bool:
        windows = AppProject.from_dict(self.project).spec.sync_windows
        app = Application.from_dict(self.manifest)
        return evaluate_windows(windows, app, moment, manual=False).allowed

    async def synced_to(self, sha: str, seconds: float = 20) -> dict[str, Any]:
        return await self.harness.wait_app(
            self.name, lambda a: self.harness.settled(a) and revision_of(a) == sha, seconds
        )

    async def blocked(self, seconds: float = 20) -> dict[str, Any]:
        """Wait until the app reports OutOfSync because a window holds it; return it."""
        return await self.harness.wait_app(
            self.name,
            lambda a: (
                self.harness.sync_status(a) == "OutOfSync"
                and "SyncWindowWarning" in conditions_of(a)
            ),
            seconds,
        )

    async def quiet(self) -> dict[str, Any]:
        """Wait (bounded) until the app's status stays put for longer than a periodic refresh.

        A status that keeps being rewritten (a refresh or sync loop) never gets there.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + QUIET_BOUND
        last = await self.harness.app(self.name)
        since = loop.time()
        while loop.time() - since < QUIET_SECONDS:
            await asyncio.sleep(0.1)
            current = await self.harness.app(self.name)
            if current.get("status") != last.get("status"):
                last, since = current, loop.time()
            assert loop.time() < deadline, f"the status of {self.name} keeps changing"
        return last


@pytest.fixture
async def clocked(harness: Harness, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    """The harness with a one-second periodic refresh; no refresh or operation may crash.

    A reconcile or operation that raises is logged at ERROR by the work queue (and
    retried): any such record fails the test.
    """
    await harness.client.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": harness.namespace},
            "data": SETTINGS,
        }
    )
    with caplog.at_level(logging.ERROR, logger="tether"):
        yield harness
    crashes = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert crashes == [], "the controller failed while the clock jumped"


async def test_a_jump_into_a_deny_window_holds_the_sync_and_a_jump_back_releases_it_once(
    clocked: Harness,
) -> None:
    harness = clocked
    app = WindowedApp(harness, [deny("0 12 * * *", "2h")])
    harness.clock.set(MONDAY)
    async with OperationStarts(harness.client, harness.namespace) as starts:
        await app.create()
        await app.synced_to(harness.repo.head())

        # Forward into the window with a new revision waiting: no sync, and the app says why.
        second = app.push()
        harness.clock.set(MONDAY.replace(hour=12, minute=30))
        await harness.refresh(app.name)
        held = await app.blocked()
        assert "deny window '0 12 * * *'" in conditions_of(held)["SyncWindowWarning"]
        assert "until 2026-03-02T14:00:00+00:00" in conditions_of(held)["SyncWindowWarning"]
        assert len(history_of(await app.quiet())) == 1, "synced inside the window"

        # Backward out of it: the waiting revision syncs, once, and everything goes quiet.
        harness.clock.set(MONDAY.replace(hour=11))
        synced = await app.synced_to(second)
        assert "SyncWindowWarning" not in conditions_of(synced)
        after = await app.quiet()
        assert [h["revision"] for h in history_of(after)][-1] == second
        assert len(history_of(after)) == 2

        # Further back, to before the first sync started, with drift to heal: one heal.
        harness.clock.set(MONDAY - timedelta(days=1))
        await harness.client.patch(
            "v1", "ConfigMap", "settings", f"{app.name}-ns", {"data": {"color": "drifted"}}
        )
        await harness.wait_object(
            "v1",
            "ConfigMap",
            "settings",
            f"{app.name}-ns",
            lambda cm: cm is not None and cm["data"]["color"] == f"shade-{app.pushes}",
        )
        healed = await app.synced_to(second)
        await app.quiet()
        assert len(starts.of(app.name)) == 3, starts.of(app.name)
        assert len(history_of(healed)) == 3
    assert denied_starts(starts.starts, app.project, app.manifest) == []


#: Last Sundays of March and October 2026: Berlin leaves and re-enters UTC+1 at 01:00 UTC.
#: A deny window at 03:30 Berlin time for an hour is [01:30, 02:30) UTC on the spring day
#: (UTC+2) and [02:30, 03:30) UTC on the autumn day (UTC+1). Each case jumps from the
#: evening before across the change to readings that a fixed UTC offset would judge the
#: other way round: (reading, whether a sync may start, when the window ends).
SPRING = [
    (datetime(2026, 3, 29, 1, 45, tzinfo=UTC), False, "2026-03-29T02:30:00+00:00"),
    (datetime(2026, 3, 29, 2, 40, tzinfo=UTC), True, ""),
]
AUTUMN = [
    (datetime(2026, 10, 25, 1, 45, tzinfo=UTC), True, ""),
    (datetime(2026, 10, 25, 2, 45, tzinfo=UTC), False, "2026-10-25T03:30:00+00:00"),
]


@pytest.mark.parametrize("steps", [SPRING, AUTUMN], ids=["spring", "autumn"])
async def test_a_jump_across_a_daylight_saving_change_meets_the_window_at_wall_clock_time(
    clocked: Harness, steps: list[tuple[datetime, bool, str]]
) -> None:
    harness = clocked
    app = WindowedApp(harness, [deny("30 3 * * *", "1h", timeZone="Europe/Berlin")])
    harness.clock.set(steps[0][0].replace(hour=0, minute=0) - timedelta(hours=3))
    async with OperationStarts(harness.client, harness.namespace) as starts:
        await app.create()
        await app.synced_to(harness.repo.head())
        for moment, allowed, until in steps:
            pending = app.push()
            harness.clock.set(moment)
            await harness.refresh(app.name)
            if allowed:
                await app.synced_to(pending)
                continue
            held = await app.blocked()
            message = conditions_of(held)["SyncWindowWarning"]
            assert f"Europe/Berlin for 1h until {until}" in message, message
            synced = len(history_of(held))
            assert len(history_of(await app.quiet())) == synced, "synced inside the window"
    assert denied_starts(starts.starts, app.project, app.manifest) == []


async def test_a_jump_a_year_ahead_syncs_once(clocked: Harness) -> None:
    harness = clocked
    app = WindowedApp(harness, [deny("0 12 * * *", "2h")])
    harness.clock.set(MONDAY.replace(hour=12, minute=30))
    async with OperationStarts(harness.client, harness.namespace) as starts:
        await app.create()
        await app.blocked()
        # Revisions pile up while the window holds them, and a year passes in one step.
        for _ in range(3):
            app.push()
        await harness.refresh(app.name)
        await app.blocked()
        harness.clock.set(MONDAY + timedelta(days=365))
        done = await app.synced_to(harness.repo.head())
        await app.quiet()
    assert len(starts.of(app.name)) == 1, starts.of(app.name)
    assert [h["revision"] for h in history_of(done)] == [harness.repo.head()]
    assert denied_starts(starts.starts, app.project, app.manifest) == []


async def test_a_window_that_opens_during_a_retry_back_off_holds_the_retry(
    clocked: Harness,
) -> None:
    harness = clocked
    app = WindowedApp(
        harness,
        [deny("0 12 * * *", "2h")],
        retry={"limit": 5, "backoff": {"duration": "1s", "factor": 1, "maxDuration": "1s"}},
    )
    # Without CreateNamespace, the sync fails until someone creates the namespace.
    app.manifest["spec"]["syncPolicy"]["syncOptions"] = []
    harness.clock.set(MONDAY.replace(hour=11, minute=59, second=30))
    async with OperationStarts(harness.client, harness.namespace) as starts:
        await app.create()
        failed = await harness.wait_app(app.name, lambda a: phase_of(a) == "Failed")
        assert "not found" in failed["status"]["operationState"]["message"]
        # The window opens while the retry waits; the namespace appears meanwhile.
        harness.clock.set(MONDAY.replace(hour=12, minute=30))
        await harness.client.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{app.name}-ns"}}
        )
        held = await app.blocked()
        assert "deny window" in conditions_of(held)["SyncWindowWarning"]
        await asyncio.sleep(QUIET_SECONDS)
        attempts = len(starts.of(app.name))
        # The window ends: the retry runs and succeeds.
        harness.clock.set(MONDAY.replace(hour=14, minute=0, second=5))
        await app.synced_to(harness.repo.head())
    assert denied_starts(starts.starts, app.project, app.manifest) == [], starts.of(app.name)
    assert len(starts.of(app.name)) == attempts + 1


#: Where a random jump lands, relative to the current reading.
JUMPS = (
    timedelta(minutes=7),
    timedelta(minutes=50),
    timedelta(hours=5),
    timedelta(days=3),
    timedelta(days=400),
    -timedelta(minutes=40),
    -timedelta(hours=9),
    -timedelta(days=30),
)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")


def random_windows(rng: random.Random) -> list[dict[str, Any]]:
    """One to three windows (mostly deny) at random times, some in a time zone."""
    windows = []
    for _ in range(rng.randint(1, 3)):
        window = deny(f"{rng.randrange(60)} {rng.randrange(24)} * * *", f"{rng.randint(1, 8)}h")
        if rng.random() < 0.3:
            window["kind"] = "allow"
        if rng.random() < 0.4:
            window["timeZone"] = rng.choice(ZONES)
        windows.append(window)
    return windows


def landing(rng: random.Random, now: datetime, apps: list[WindowedApp]) -> datetime:
    """A random jump from ``now``, moved off any window edge (a verdict stays put a while)."""
    target = now + rng.choice(JUMPS) * rng.uniform(0.5, 1.5)
    while any(
        app.allowed_at(target) != app.allowed_at(target + timedelta(seconds=30)) for app in apps
    ):
        target += timedelta(minutes=1)
    return target


async def test_random_jumps_never_start_a_sync_in_a_deny_window(clocked: Harness) -> None:
    harness = clocked
    rng = random.Random(SEED)
    apps = [WindowedApp(harness, random_windows(rng)) for _ in range(3)]
    now = landing(rng, MONDAY, apps)
    harness.clock.set(now)
    #: Whether the app has a revision it has not synced yet, and how many syncs it needed.
    waiting = {app.name: True for app in apps}
    syncs = {app.name: 0 for app in apps}

    async def settle(replay: str) -> None:
        """Every app reaches the state its windows allow at ``now``, each in its own way."""
        head = harness.repo.head()
        for app in apps:
            await harness.refresh(app.name)
        for app in apps:
            if not waiting[app.name]:
                await app.synced_to(head)
            elif app.allowed_at(now):
                await app.synced_to(head)
                waiting[app.name] = False
                syncs[app.name] += 1
            else:
                held = await app.blocked()
                assert "window" in conditions_of(held)["SyncWindowWarning"], replay

    async with OperationStarts(harness.client, harness.namespace) as starts:
        for app in apps:
            await app.create()
        await settle(f"seed {SEED}, before the first jump")
        for trial in range(trials(10, 100)):
            now = landing(rng, now, apps)
            harness.clock.set(now)
            replay = f"seed {SEED}, trial {trial}, clock {now.isoformat()}"
            changed = [app for app in apps if rng.random() < 0.6]
            if changed:
                files = {k: v for app in changed for k, v in app.next_revision().items()}
                harness.repo.push(files, f"trial {trial}")
            for app in changed:
                waiting[app.name] = True
            await settle(replay)
            for app in apps:
                denied = denied_starts(starts.of(app.name), app.project, app.manifest)
                assert denied == [], f"{replay}: {denied}"
                assert len(starts.of(app.name)) == syncs[app.name], (
                    f"{replay}: {app.name} started {starts.of(app.name)}, expected "
                    f"{syncs[app.name]} syncs"
                )
