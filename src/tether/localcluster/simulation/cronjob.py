"""The CronJob controller: Jobs on schedule, history trimmed, status kept.

Schedules are read with ``croniter`` in ``spec.timeZone`` (UTC by default). At each
scheduled time the controller creates the Job ``<cronjob>-<minutes since the epoch>``
from ``jobTemplate`` (a deterministic name, so a restarted simulation never runs a
schedule twice), annotated with ``batch.kubernetes.io/cronjob-scheduled-timestamp``.
Only the most recent missed time runs; one older than ``startingDeadlineSeconds`` is
skipped. ``concurrencyPolicy`` ``Forbid`` skips a run while a Job is active,
``Replace`` deletes the active Jobs first. ``suspend`` stops new runs. Finished Jobs
beyond ``successfulJobsHistoryLimit``/``failedJobsHistoryLimit`` are deleted, oldest
first. The status lists ``active`` Jobs and carries ``lastScheduleTime`` and
``lastSuccessfulTime``.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.clock import format_time, parse_time
from tether.localcluster.simulation.context import Context, controller_ref, find_condition
from tether.localcluster.simulation.events import EventType
from tether.localcluster.simulation.job import finished
from tether.localcluster.watch import Entry, Event

log = logging.getLogger(__name__)

Key = tuple[str, str]
Obj = dict[str, Any]
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
COMPONENT = "cronjob-controller"


def _zone(spec: Obj) -> ZoneInfo | None:
    name = spec.get("timeZone")
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def last_due(schedule: str, zone: ZoneInfo | None, now: datetime) -> datetime:
    """The latest scheduled time at or before ``now``."""
    local = now.astimezone(zone or UTC)
    previous: datetime = croniter(schedule, local + timedelta(seconds=1)).get_prev(datetime)
    return previous.astimezone(UTC)


def next_due(schedule: str, zone: ZoneInfo | None, now: datetime) -> datetime:
    """The first scheduled time after ``now``."""
    following: datetime = croniter(schedule, now.astimezone(zone or UTC)).get_next(datetime)
    return following.astimezone(UTC)


def _succeeded(job: Entry) -> bool:
    return (find_condition(job.obj, "Complete") or {}).get("status") == "True"


def _reference(job: Entry) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": job.metadata["name"],
        "namespace": job.metadata.get("namespace", ""),
        "resourceVersion": job.metadata.get("resourceVersion", ""),
        "uid": job.metadata["uid"],
    }


class CronJobController:
    """Creates Jobs on CronJobs' schedules."""

    def __init__(self, context: Context) -> None:
        """Control the CronJobs of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("cronjob-controller", self._reconcile)

    def start(self) -> None:
        """Reconcile every CronJob once (a missed schedule runs now), then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.cronjobs.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark CronJobs that changed or whose Jobs changed."""
        kinds = self._context.kinds
        if event.resource == kinds.cronjobs.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource == kinds.jobs.key:
            owner = self._context.owner_of(event.entry)
            if owner is not None and owner[0] == kinds.cronjobs.key:
                self.queue.add((owner[1], owner[2]))

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        cronjob = context.get(kinds.cronjobs, *key)
        if cronjob is None:
            return
        spec = cronjob.obj.get("spec") or {}
        old: Obj = cronjob.obj.get("status") or {}
        jobs = context.owned(kinds.jobs, key[0], cronjob.metadata["uid"])
        await self._trim(cronjob, spec, jobs)
        jobs = context.owned(kinds.jobs, key[0], cronjob.metadata["uid"])
        running = [j for j in jobs if not finished(j.obj)]
        was_active = {ref.get("uid") for ref in old.get("active") or []}
        for job in jobs:
            if job.metadata["uid"] in was_active and finished(job.obj):
                outcome = "Complete" if _succeeded(job) else "Failed"
                self._report(
                    cronjob,
                    EventType.NORMAL,
                    "SawCompletedJob",
                    f"Saw completed job: {job.metadata['name']}, condition: {outcome}",
                )
        status: Obj = {
            k: v for k, v in old.items() if k in ("lastScheduleTime", "lastSuccessfulTime")
        }
        successes = [
            t
            for j in jobs
            if _succeeded(j)
            if (t := parse_time((j.obj.get("status") or {}).get("completionTime")))
        ]
        known = parse_time(status.get("lastSuccessfulTime"))
        if successes and (known is None or max(successes) > known):
            status["lastSuccessfulTime"] = format_time(max(successes))
        schedule = str(spec.get("schedule") or "")
        zone = _zone(spec)
        now = context.now()
        try:
            due = last_due(schedule, zone, now)
            following = next_due(schedule, zone, now)
        except (CroniterError, ValueError, KeyError) as error:
            log.warning("failed to read the schedule of cronjob %s/%s: %s", key[0], key[1], error)
            self._report(
                cronjob,
                EventType.WARNING,
                "UnparseableSchedule",
                f"unparseable schedule: {schedule!r} : {error}",
            )
            await self._write(cronjob, status, running)
            return
        since = parse_time(status.get("lastScheduleTime")) or parse_time(
            cronjob.metadata.get("creationTimestamp")
        )
        if not spec.get("suspend") and (since is None or due > since):
            deadline = spec.get("startingDeadlineSeconds")
            too_late = deadline is not None and due + timedelta(seconds=int(deadline)) < now
            policy = spec.get("concurrencyPolicy", "Allow")
            if too_late:
                self._report(
                    cronjob,
                    EventType.WARNING,
                    "MissSchedule",
                    f"Missed scheduled time to start a job: {format_time(due)}",
                )
            elif policy == "Forbid" and running:
                self._report(
                    cronjob,
                    EventType.NORMAL,
                    "JobAlreadyActive",
                    "Not starting job because prior execution is running and concurrency "
                    "policy is Forbid",
                )
            else:
                if policy == "Replace":
                    for job in running:
                        await self._delete(cronjob, job)
                    running = []
                created = await self._create(cronjob, spec, due)
                if created is not None:
                    running.append(created)
                    self._report(
                        cronjob,
                        EventType.NORMAL,
                        "SuccessfulCreate",
                        f"Created job {created.metadata['name']}",
                    )
                status["lastScheduleTime"] = format_time(due)
        context.timers.at(following, self.queue, key)
        await self._write(cronjob, status, running)

    async def _create(self, cronjob: Entry, spec: Obj, due: datetime) -> Entry | None:
        template = copy.deepcopy(spec.get("jobTemplate") or {})
        meta = template.get("metadata") or {}
        name = f"{cronjob.metadata['name']}-{int(due.timestamp()) // 60}"
        obj: Obj = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "labels": dict(meta.get("labels") or {}),
                "annotations": {
                    **(meta.get("annotations") or {}),
                    SCHEDULED_ANNOTATION: format_time(due),
                },
                "ownerReferences": [controller_ref(cronjob)],
            },
            "spec": template.get("spec") or {},
        }
        if not obj["metadata"]["labels"]:
            del obj["metadata"]["labels"]
        return await self._context.create(
            self._context.kinds.jobs, cronjob.metadata.get("namespace", ""), obj
        )

    def _report(self, cronjob: Entry, type_: EventType, reason: str, message: str) -> None:
        self._context.recorder.record(cronjob, type_, reason, message, COMPONENT)

    async def _delete(self, cronjob: Entry, job: Entry) -> None:
        await self._context.delete(self._context.kinds.jobs, job)
        self._report(
            cronjob, EventType.NORMAL, "SuccessfulDelete", f"Deleted job {job.metadata['name']}"
        )

    async def _trim(self, cronjob: Entry, spec: Obj, jobs: list[Entry]) -> None:
        done = [j for j in jobs if finished(j.obj)]
        by_start = sorted(
            done,
            key=lambda j: ((j.obj.get("status") or {}).get("startTime", ""), j.metadata["name"]),
        )
        for wanted, limit in (
            (True, "successfulJobsHistoryLimit"),
            (False, "failedJobsHistoryLimit"),
        ):
            keep = spec.get(limit)
            if keep is None:
                continue
            matching = [j for j in by_start if _succeeded(j) == wanted]
            for job in matching[: max(len(matching) - int(keep), 0)]:
                await self._delete(cronjob, job)

    async def _write(self, cronjob: Entry, status: Obj, running: list[Entry]) -> None:
        context = self._context
        current = context.get(
            context.kinds.cronjobs, cronjob.metadata.get("namespace", ""), cronjob.metadata["name"]
        )
        if current is None:
            return
        fresh = [
            j
            for r in running
            if (
                j := context.get(
                    context.kinds.jobs, r.metadata.get("namespace", ""), r.metadata["name"]
                )
            )
        ]
        result: Obj = {}
        if fresh:
            result["active"] = [
                _reference(j) for j in sorted(fresh, key=lambda j: j.metadata["name"])
            ]
        result.update(status)
        await context.write_status(context.kinds.cronjobs, current, result)
