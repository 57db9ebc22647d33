"""Sync windows: the times an AppProject lets its applications sync.

Argo CD's rules, which :func:`evaluate_windows` follows:

- a window concerns an app when one of its ``applications`` globs matches the app's
  name, one of its ``clusters`` globs the destination's name or server, or one of its
  ``namespaces`` globs the destination namespace (with ``andOperator``, every list the
  window sets must match);
- a window is *active* while ``duration`` has not elapsed since its cron ``schedule``
  last fired (in ``timeZone``, UTC by default);
- no window concerns the app: every sync is allowed;
- an active deny window blocks syncs (deny wins over an active allow window); a manual
  sync gets through only when every active deny window has ``manualSync``;
- otherwise an active allow window allows syncs; when allow windows concern the app
  and none is active, syncs are blocked (manual ones get through when one of those
  allow windows has ``manualSync``).

Time is always passed in, so callers (and tests) decide what "now" is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from tether.model.application import Application
from tether.model.patterns import glob_match
from tether.model.projectparts import SyncWindow, WindowKind


class WindowError(ValueError):
    """A sync window's schedule or time zone cannot be used."""


@dataclass(frozen=True, slots=True)
class ActiveWindow:
    """A window that is open now, and until when."""

    window: SyncWindow
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class WindowVerdict:
    """Whether a sync may start now; if not, why, and when to look again.

    ``recheck_at`` is the next moment the verdict can change (a blocking window's end,
    an allow window's start); ``None`` when no window concerns the app.
    """

    allowed: bool
    reason: str = ""
    recheck_at: datetime | None = None


def _zone(window: SyncWindow) -> ZoneInfo:
    try:
        return ZoneInfo(window.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise WindowError(
            f"failed to read sync window {window.schedule!r}: unknown time zone "
            f"{window.time_zone!r}"
        ) from error


def _next_fire(window: SyncWindow, after: datetime) -> datetime:
    zone = _zone(window)
    try:
        fire = croniter(window.schedule, after.astimezone(zone)).get_next(datetime)
    except (ValueError, KeyError) as error:
        raise WindowError(
            f"failed to read sync window {window.schedule!r}: invalid cron schedule"
        ) from error
    assert isinstance(fire, datetime)
    return fire.astimezone(UTC)


def active_until(window: SyncWindow, now: datetime) -> datetime | None:
    """When ``window`` closes if it is open at ``now``, else ``None``."""
    duration = timedelta(seconds=window.duration_seconds)
    fire = _next_fire(window, now - duration)
    if fire <= now:
        return fire + duration
    return None


def next_opening(window: SyncWindow, now: datetime) -> datetime:
    """When ``window``'s schedule fires next after ``now``."""
    return _next_fire(window, now)


def window_concerns(window: SyncWindow, app: Application) -> bool:
    """Whether ``window`` applies to ``app`` (by name, destination cluster or namespace)."""
    destination = app.spec.destination
    checks: list[bool] = []
    if window.applications:
        checks.append(any(glob_match(p, app.name) for p in window.applications))
    if window.clusters:
        checks.append(
            any(
                (destination.name and glob_match(p, destination.name))
                or (destination.server and glob_match(p, destination.server))
                for p in window.clusters
            )
        )
    if window.namespaces:
        checks.append(any(glob_match(p, destination.namespace) for p in window.namespaces))
    if not checks:
        return False
    return all(checks) if window.and_operator else any(checks)


def _describe(window: SyncWindow) -> str:
    zone = f" {window.time_zone}" if window.time_zone else ""
    return f"{window.kind.value} window '{window.schedule}'{zone} for {window.duration}"


def evaluate_windows(
    windows: Iterable[SyncWindow], app: Application, now: datetime, *, manual: bool
) -> WindowVerdict:
    """Whether ``app`` may start a (``manual`` or automated) sync at ``now``."""
    concerned: Sequence[SyncWindow] = [w for w in windows if window_concerns(w, app)]
    if not concerned:
        return WindowVerdict(True)
    active = [
        ActiveWindow(w, ends) for w in concerned if (ends := active_until(w, now)) is not None
    ]
    denies = [a for a in active if a.window.kind is WindowKind.DENY]
    allows = [a for a in active if a.window.kind is WindowKind.ALLOW]
    if denies:
        ends = max(a.ends_at for a in denies)
        if manual and all(a.window.manual_sync for a in denies):
            return WindowVerdict(True, recheck_at=ends)
        return WindowVerdict(
            False,
            f"sync blocked by the active {_describe(denies[0].window)} until {ends.isoformat()}",
            ends,
        )
    if allows:
        return WindowVerdict(True, recheck_at=min(a.ends_at for a in allows))
    inactive_allows = [w for w in concerned if w.kind is WindowKind.ALLOW]
    if not inactive_allows:
        return WindowVerdict(True, recheck_at=min(next_opening(w, now) for w in concerned))
    opens, first = min((next_opening(w, now), i) for i, w in enumerate(inactive_allows))
    if manual and any(w.manual_sync for w in inactive_allows):
        return WindowVerdict(True, recheck_at=opens)
    return WindowVerdict(
        False,
        f"sync blocked: no allow window is active (the next, "
        f"{_describe(inactive_allows[first])}, opens at {opens.isoformat()})",
        opens,
    )
