"""Sync windows: which windows concern an app, when they are active, what they allow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tether.controller.syncwindows import (
    WindowError,
    active_until,
    evaluate_windows,
    window_concerns,
)
from tether.model.application import Application
from tether.model.projectparts import SyncWindow, WindowKind

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday


def app(name: str = "web-prod", namespace: str = "prod", server: str = "https://k") -> Application:
    return Application.from_dict(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git/x.git", "path": "."},
                "destination": {"server": server, "namespace": namespace},
            },
        }
    )


def window(
    kind: str = "deny", schedule: str = "0 11 * * *", duration: str = "2h", **kw: Any
) -> SyncWindow:
    return SyncWindow(
        kind=WindowKind(kind),
        schedule=schedule,
        duration=duration,
        applications=tuple(kw.pop("applications", ("*",))),
        **kw,
    )


@pytest.mark.parametrize(
    ("schedule", "duration", "now", "ends"),
    [
        ("0 11 * * *", "2h", NOON, datetime(2026, 3, 2, 13, 0, tzinfo=UTC)),
        ("0 11 * * *", "1h", NOON, None),  # closed exactly at noon
        ("0 13 * * *", "1h", NOON, None),  # not yet open
        ("0 23 * * *", "14h", NOON, datetime(2026, 3, 2, 13, 0, tzinfo=UTC)),  # from yesterday
        ("0 12 * * 1", "30m", NOON, datetime(2026, 3, 2, 12, 30, tzinfo=UTC)),  # Mondays
        ("0 12 * * 2", "30m", NOON, None),  # Tuesdays
    ],
)
def test_a_window_is_active_until_its_duration_after_the_last_firing(
    schedule: str, duration: str, now: datetime, ends: datetime | None
) -> None:
    assert active_until(window(schedule=schedule, duration=duration), now) == ends


def test_time_zone_shifts_the_schedule() -> None:
    # 13:00 in Berlin (winter, UTC+1) is noon UTC.
    berlin = window(schedule="0 13 * * *", duration="1h", time_zone="Europe/Berlin")
    assert active_until(berlin, NOON) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert active_until(window(schedule="0 13 * * *", duration="1h"), NOON) is None


@pytest.mark.parametrize(
    ("fields", "concerned"),
    [
        ({"applications": ("web-*",)}, True),
        ({"applications": ("db-*",)}, False),
        ({"applications": (), "namespaces": ("prod",)}, True),
        ({"applications": (), "clusters": ("https://k",)}, True),
        ({"applications": (), "clusters": ("other",)}, False),
        ({"applications": ("db-*",), "namespaces": ("prod",)}, True),  # OR by default
        ({"applications": ("db-*",), "namespaces": ("prod",), "and_operator": True}, False),
        ({"applications": ("web-*",), "namespaces": ("prod",), "and_operator": True}, True),
        ({"applications": ()}, False),  # a window naming nothing concerns nobody
    ],
)
def test_which_apps_a_window_concerns(fields: dict[str, Any], concerned: bool) -> None:
    assert window_concerns(window(**fields), app()) is concerned


OPEN_DENY = window("deny", "0 11 * * *", "2h")
OPEN_DENY_MANUAL = window("deny", "0 11 * * *", "2h", manual_sync=True)
OPEN_ALLOW = window("allow", "0 11 * * *", "2h")
CLOSED_ALLOW = window("allow", "0 22 * * *", "1h")
CLOSED_ALLOW_MANUAL = window("allow", "0 22 * * *", "1h", manual_sync=True)
CLOSED_DENY = window("deny", "0 22 * * *", "1h")
OTHER_APP_DENY = window("deny", "0 11 * * *", "2h", applications=("db-*",))


@pytest.mark.parametrize(
    ("windows", "automated", "manual"),
    [
        ((), True, True),
        ((OTHER_APP_DENY,), True, True),
        ((OPEN_DENY,), False, False),
        ((OPEN_DENY_MANUAL,), False, True),
        ((OPEN_DENY_MANUAL, OPEN_DENY), False, False),  # every active deny must allow manual
        ((OPEN_ALLOW,), True, True),
        ((OPEN_ALLOW, OPEN_DENY), False, False),  # deny wins
        ((CLOSED_ALLOW,), False, False),  # allow windows exist, none active
        ((CLOSED_ALLOW_MANUAL,), False, True),
        ((CLOSED_DENY,), True, True),
        ((CLOSED_ALLOW, OPEN_ALLOW), True, True),
    ],
)
def test_what_windows_allow(windows: tuple[SyncWindow, ...], automated: bool, manual: bool) -> None:
    assert evaluate_windows(windows, app(), NOON, manual=False).allowed is automated
    assert evaluate_windows(windows, app(), NOON, manual=True).allowed is manual


def test_a_blocked_verdict_says_why_and_when_to_look_again() -> None:
    verdict = evaluate_windows((OPEN_DENY,), app(), NOON, manual=False)
    assert verdict.recheck_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert "deny window '0 11 * * *'" in verdict.reason
    closed = evaluate_windows((CLOSED_ALLOW,), app(), NOON, manual=False)
    assert closed.recheck_at == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    assert "no allow window is active" in closed.reason


@pytest.mark.parametrize(
    "bad",
    [window(schedule="not a cron"), window(time_zone="Mars/Olympus")],
)
def test_unusable_windows_are_errors(bad: SyncWindow) -> None:
    with pytest.raises(WindowError, match="failed to read sync window"):
        evaluate_windows((bad,), app(), NOON, manual=False)
