"""One container's life, computed from when it may start and what its fate is.

:func:`simulate` is a pure function: given the container, its fate, the Pod's restart
policy, the time it may start and the time now, it gives the container's state,
last state, restart count and readiness, and when that next changes. The kubelet
stores the result; calling it again later continues the same story, so a restarted
simulation picks up where the stored timestamps say it is.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tether.localcluster.simulation.clock import format_time
from tether.localcluster.simulation.failures import Fate
from tether.localcluster.simulation.settings import Settings

Obj = dict[str, Any]

#: A crash loop restarts at most this often, whatever the settings, so that a
#: zero-delay simulation still loops at a bounded rate.
MIN_CRASH_PERIOD = 1.0


@dataclass(frozen=True)
class Run:
    """A container at one moment."""

    state: Obj
    last_state: Obj
    restarts: int
    started: bool
    #: When the container became ready, if it is ready.
    ready_since: datetime | None
    #: The exit code once it has exited for good.
    exit_code: int | None
    #: When it exited for good.
    finished: datetime | None
    #: When this container's status next changes, if it does.
    next_change: datetime | None


def normalise_image(image: str) -> str:
    """The fully qualified reference a container runtime reports (``docker.io/library/...``)."""
    name, tag = image, ""
    if "@" not in image:
        last = image.rsplit("/", 1)[-1]
        if ":" in last:
            name, _, tag = image.rpartition(":")
        tag = tag or "latest"
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"
    return f"{name}:{tag}" if tag else name


def image_id(image: str) -> str:
    """A deterministic ``repository@sha256:...`` digest for ``image``."""
    full = normalise_image(image)
    repository = full.split("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rpartition(":")[0]
    digest = hashlib.sha256(full.encode()).hexdigest()
    return f"{repository}@sha256:{digest}"


def container_id(pod_uid: str, name: str, restarts: int) -> str:
    """A deterministic containerd container ID."""
    return "containerd://" + hashlib.sha256(f"{pod_uid}/{name}/{restarts}".encode()).hexdigest()


def go_duration(seconds: float) -> str:
    """A duration as Go prints it (``10s``, ``1m20s``, ``5m0s``)."""
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest}s"


def pull_error(image: str) -> str:
    """Containerd's message for an image that does not exist."""
    ref = normalise_image(image)
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
        f'failed to resolve reference "{ref}": {ref}: not found'
    )


def _at(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)


def _terminated(code: int, started: datetime, finished: datetime, cid: str) -> Obj:
    return {
        "terminated": {
            "containerID": cid,
            "exitCode": code,
            "finishedAt": format_time(finished),
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": format_time(started),
        }
    }


@dataclass(frozen=True)
class Start:
    """What :func:`simulate` needs to know about the container and its Pod."""

    container: Obj
    fate: Fate
    restart_policy: str
    #: Init containers and containers of run-to-completion Pods exit when done.
    runs_to_completion: bool
    pod_uid: str
    pod_ref: str
    begins: datetime


def simulate(start: Start, now: datetime, settings: Settings) -> Run:
    """The container described by ``start`` as it is at ``now``."""
    name = str(start.container.get("name", ""))
    begins = start.begins
    if now < begins:
        waiting = {"waiting": {"reason": "PodInitializing"}}
        return Run(waiting, {}, 0, False, None, None, None, begins)
    if start.fate is Fate.PULL_ERROR:
        return _pull_failure(start, now, settings)
    if start.fate in (Fate.FAIL, Fate.CRASHLOOP):
        return _crash(start, now, settings)
    cid = container_id(start.pod_uid, name, 0)
    running = {"running": {"startedAt": format_time(begins)}}
    if start.runs_to_completion:
        ends = _at(begins, settings.run_seconds)
        if now >= ends:
            return Run(_terminated(0, begins, ends, cid), {}, 0, False, None, 0, ends, None)
        ready = None if start.fate is Fate.UNREADY else begins
        return Run(
            running, {}, 0, True, ready if ready and ready <= now else None, None, None, ends
        )
    if start.fate is Fate.UNREADY:
        return Run(running, {}, 0, True, None, None, None, None)
    delay = settings.pod_ready_seconds
    probe = start.container.get("readinessProbe")
    if isinstance(probe, dict):
        delay = max(delay, float(probe.get("initialDelaySeconds") or 0))
    ready_at = _at(begins, delay)
    if now >= ready_at:
        return Run(running, {}, 0, True, ready_at, None, None, None)
    return Run(running, {}, 0, True, None, None, None, ready_at)


def _pull_failure(start: Start, now: datetime, settings: Settings) -> Run:
    image = str(start.container.get("image", ""))
    error = pull_error(image)
    backs_off = _at(start.begins, settings.backoff_seconds)
    if now < backs_off:
        state = {"waiting": {"message": error, "reason": "ErrImagePull"}}
        return Run(state, {}, 0, False, None, None, None, backs_off)
    message = f'Back-off pulling image "{image}": ErrImagePull: {error}'
    state = {"waiting": {"message": message, "reason": "ImagePullBackOff"}}
    return Run(state, {}, 0, False, None, None, None, None)


def _backoff(settings: Settings, attempt: int) -> float:
    seconds = min(settings.backoff_seconds * 2.0**attempt, settings.max_backoff_seconds)
    return float(max(seconds, MIN_CRASH_PERIOD - settings.crash_seconds, 0.0))


def _crash(start: Start, now: datetime, settings: Settings) -> Run:
    """Run, exit 1, back off, restart: the crash loop (or one failure under ``Never``)."""
    name = str(start.container.get("name", ""))
    restarts_allowed = start.restart_policy != "Never"
    run_start = start.begins
    last: Obj = {}
    attempt = 0
    while True:
        cid = container_id(start.pod_uid, name, attempt)
        ends = _at(run_start, settings.crash_seconds)
        if now < ends:
            running = {"running": {"startedAt": format_time(run_start)}}
            return Run(running, last, attempt, True, None, None, None, ends)
        exited = _terminated(1, run_start, ends, cid)
        if not restarts_allowed:
            return Run(exited, last, attempt, False, None, 1, ends, None)
        backoff = _backoff(settings, attempt)
        restarts = _at(ends, backoff)
        if now < restarts:
            message = (
                f"back-off {go_duration(backoff)} restarting failed container={name} "
                f"pod={start.pod_ref}"
            )
            waiting = {"waiting": {"message": message, "reason": "CrashLoopBackOff"}}
            return Run(waiting, exited, attempt + 1, False, None, None, None, restarts)
        last = exited
        attempt += 1
        run_start = restarts
        period = settings.crash_seconds + backoff
        if backoff >= settings.max_backoff_seconds and period > 0:
            # Capped: every further cycle is the same length, so skip whole cycles.
            skipped = max(math.floor((now - run_start).total_seconds() / period) - 1, 0)
            if skipped:
                attempt += skipped
                run_start = _at(run_start, skipped * period)
                previous = _at(run_start, -period)
                last = _terminated(
                    1,
                    previous,
                    _at(previous, settings.crash_seconds),
                    container_id(start.pod_uid, name, attempt - 1),
                )
