"""The Job controller: Pods until enough succeed, retries until the back-off limit.

As kube-controller-manager's job controller (Kubernetes 1.35):

- on create, the API server gives a Job without ``manualSelector`` the selector
  ``batch.kubernetes.io/controller-uid=<uid>`` and labels its template with it and
  ``batch.kubernetes.io/job-name`` (and the legacy ``controller-uid``/``job-name``);
- up to ``parallelism`` Pods run at once until ``completions`` have succeeded (without
  ``completions``, until one succeeds and none is left running);
- a failed Pod is replaced after a back-off that doubles with each failure; once more
  than ``backoffLimit`` Pods have failed (with ``restartPolicy: OnFailure``, container
  restarts count too), the Job gets ``FailureTarget`` then ``Failed``, both with reason
  ``BackoffLimitExceeded``; past ``activeDeadlineSeconds`` the reason is
  ``DeadlineExceeded``; running Pods are deleted;
- on success it gets ``SuccessCriteriaMet`` then ``Complete`` (``CompletionsReached``)
  and ``completionTime``;
- ``suspend`` deletes running Pods and sets ``Suspended``; resuming resets
  ``startTime``;
- ``Indexed`` Jobs give each Pod a completion index (annotation and label
  ``batch.kubernetes.io/job-completion-index``, hostname ``<job>-<index>``,
  ``JOB_COMPLETION_INDEX`` in its environment), rerun only the indexes that have not
  succeeded, and report ``completedIndexes`` (``0-2,5``);
- the status counts ``active``, ``ready``, ``succeeded`` and ``failed``. A finished Job
  is never reconciled again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tether.localcluster.loop import WorkQueue
from tether.localcluster.resources import ResourceType
from tether.localcluster.simulation.clock import format_time, parse_time
from tether.localcluster.simulation.context import Context, condition, find_condition, set_condition
from tether.localcluster.simulation.events import EventType
from tether.localcluster.simulation.workloads import active, phase, pod_from_template, ready
from tether.localcluster.store import WriteOptions
from tether.localcluster.watch import Entry, Event

Key = tuple[str, str]
Obj = dict[str, Any]

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_UID = "controller-uid"
LEGACY_NAME = "job-name"
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETE_MESSAGE = "Reached expected number of succeeded pods"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
COMPONENT = "job-controller"


def job_labels(job: Obj) -> dict[str, str]:
    """The labels a Job's Pods carry."""
    uid = str(job["metadata"].get("uid", ""))
    name = str(job["metadata"]["name"])
    return {CONTROLLER_UID: uid, JOB_NAME: name, LEGACY_UID: uid, LEGACY_NAME: name}


def admit_job(rtype: ResourceType, obj: Obj, old: Obj | None, options: WriteOptions) -> list[str]:
    """The API server's defaults for a new Job: its selector and its template's labels."""
    if (rtype.group, rtype.kind) != ("batch", "Job") or old is not None:
        return []
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector"):
        return []
    labels = job_labels(obj)
    spec.setdefault("selector", {"matchLabels": {CONTROLLER_UID: labels[CONTROLLER_UID]}})
    template = spec.get("template")
    if isinstance(template, dict):
        meta = template.setdefault("metadata", {})
        if isinstance(meta, dict):
            meta["labels"] = {**labels, **(meta.get("labels") or {})}
    return []


def job_condition(type_: str, reason: str, message: str, now: str, status: str = "True") -> Obj:
    """A Job condition: the job controller stamps ``lastProbeTime`` too."""
    return {"lastProbeTime": now, **condition(type_, status, reason, message, now)}


def finished(job: Obj) -> bool:
    """Whether the Job has ``Complete`` or ``Failed``."""
    return any(
        (find_condition(job, t) or {}).get("status") == "True" for t in ("Complete", "Failed")
    )


def _finished_at(pod: Entry) -> datetime | None:
    times = [
        parse_time(((c.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for c in (pod.obj.get("status") or {}).get("containerStatuses") or []
    ]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _index(pod: Entry) -> int | None:
    value = (pod.metadata.get("annotations") or {}).get(INDEX_KEY)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _completed_indexes(pods: list[Entry], old: Obj) -> set[int]:
    done = parse_indexes(str(old.get("completedIndexes") or ""))
    return done | {i for p in pods if phase(p) == "Succeeded" if (i := _index(p)) is not None}


def format_indexes(indexes: set[int]) -> str:
    """``{0, 1, 2, 5}`` as the API writes it: ``0-2,5``."""
    ranges: list[str] = []
    ordered = sorted(indexes)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[start], ordered[end]
        ranges.append(str(first) if first == last else f"{first}-{last}")
        start = end + 1
    return ",".join(ranges)


def parse_indexes(text: str) -> set[int]:
    """The indexes of a ``completedIndexes`` string (``0-2,5``)."""
    result: set[int] = set()
    for part in filter(None, text.split(",")):
        first, _, last = part.partition("-")
        try:
            result.update(range(int(first), int(last or first) + 1))
        except ValueError:
            continue
    return result


class JobController:
    """Runs Jobs' Pods to completion or failure."""

    def __init__(self, context: Context) -> None:
        """Control the Jobs of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("job-controller", self._reconcile)
        context.store.add_admitter(admit_job)

    def start(self) -> None:
        """Reconcile every unfinished Job, then follow events."""
        for entry in self._context.store.objects_of(self._context.kinds.jobs.key):
            if not finished(entry.obj):
                self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark Jobs that changed or whose Pods changed."""
        kinds = self._context.kinds
        if event.resource == kinds.jobs.key:
            self.queue.add((event.namespace, event.name))
        elif event.resource == kinds.pods.key:
            owner = self._context.owner_of(event.entry)
            if owner is not None and owner[0] == kinds.jobs.key:
                self.queue.add((owner[1], owner[2]))

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        job = context.get(kinds.jobs, *key)
        if job is None or finished(job.obj):
            return
        spec = job.obj.get("spec") or {}
        old: Obj = job.obj.get("status") or {}
        conditions: list[Obj] = list(old.get("conditions") or [])
        now = context.now()
        stamp = format_time(now)
        pods = context.owned(kinds.pods, key[0], job.metadata["uid"])
        running = [p for p in pods if active(p)]
        status: Obj = {k: v for k, v in old.items() if k in ("startTime",)}

        if spec.get("suspend"):
            await self._delete_pods(job, running)
            if (find_condition(job.obj, "Suspended") or {}).get("status") != "True":
                self._report(job, EventType.NORMAL, "Suspended", "Job suspended")
            conditions = set_condition(
                conditions, job_condition("Suspended", "JobSuspended", "Job suspended", stamp)
            )
            status.pop("startTime", None)
            await self._write(job, status, conditions, [])
            return
        if (find_condition(job.obj, "Suspended") or {}).get("status") == "True":
            self._report(job, EventType.NORMAL, "Resumed", "Job resumed")
            conditions = set_condition(
                conditions, job_condition("Suspended", "JobResumed", "Job resumed", stamp, "False")
            )
            status["startTime"] = stamp
        status.setdefault("startTime", stamp)

        indexed = spec.get("completionMode") == "Indexed"
        completed = _completed_indexes(pods, old) if indexed else set()
        succeeded = max(
            sum(1 for p in pods if phase(p) == "Succeeded"), int(old.get("succeeded") or 0)
        )
        if indexed:
            succeeded = len(completed)
            status["completedIndexes"] = format_indexes(completed)
        failed = max(sum(1 for p in pods if phase(p) == "Failed"), int(old.get("failed") or 0))
        policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
        restarts = 0
        if policy == "OnFailure":
            restarts = sum(
                int(c.get("restartCount") or 0)
                for p in running
                for c in (p.obj.get("status") or {}).get("containerStatuses") or []
            )
        started = parse_time(status["startTime"]) or now
        deadline = spec.get("activeDeadlineSeconds")
        failure = None
        if failed + restarts > int(spec.get("backoffLimit", 6)):
            failure = ("BackoffLimitExceeded", BACKOFF_MESSAGE)
        elif deadline is not None and started + timedelta(seconds=int(deadline)) <= now:
            failure = ("DeadlineExceeded", DEADLINE_MESSAGE)
        if failure is not None:
            await self._delete_pods(job, running)
            self._report(job, EventType.WARNING, *failure)
            for type_ in ("FailureTarget", "Failed"):
                conditions = set_condition(conditions, job_condition(type_, *failure, stamp))
            await self._write(
                job, {**status, "succeeded": succeeded, "failed": failed}, conditions, []
            )
            return

        completions = spec.get("completions")
        done = (
            succeeded >= int(completions)
            if completions is not None
            else succeeded > 0 and not running
        )
        if done:
            await self._delete_pods(job, running)
            self._report(job, EventType.NORMAL, "Completed", "Job completed")
            for type_ in ("SuccessCriteriaMet", "Complete"):
                conditions = set_condition(
                    conditions,
                    job_condition(type_, "CompletionsReached", COMPLETE_MESSAGE, stamp),
                )
            status["completionTime"] = stamp
            await self._write(
                job, {**status, "succeeded": succeeded, "failed": failed}, conditions, []
            )
            return

        parallelism = int(spec.get("parallelism", 1))
        wanted = (
            parallelism if completions is None else min(parallelism, int(completions) - succeeded)
        )
        if completions is None and succeeded:
            wanted = 0
        missing = wanted - len(running)
        if missing > 0 and failed:
            last = max(
                (t for p in pods if phase(p) == "Failed" if (t := _finished_at(p))), default=None
            )
            delay = min(
                context.settings.backoff_seconds * 2 ** (failed - 1),
                context.settings.max_backoff_seconds,
            )
            retry = (last or now) + timedelta(seconds=delay)
            if retry > now:
                context.timers.at(retry, self.queue, key)
                missing = 0
        template = spec.get("template") or {}
        busy = {_index(p) for p in running}
        free = (
            (i for i in range(int(completions or 0)) if i not in completed and i not in busy)
            if indexed
            else None
        )
        for _ in range(max(missing, 0)):
            index = next(free, None) if free is not None else None
            if indexed and index is None:
                break
            new_pod = self._pod(job, template, index)
            created = await context.create(kinds.pods, key[0], new_pod)
            if created is not None:
                running.append(created)
                self._report(
                    job,
                    EventType.NORMAL,
                    "SuccessfulCreate",
                    f"Created pod: {created.metadata['name']}",
                )
        if deadline is not None:
            context.timers.at(started + timedelta(seconds=int(deadline)), self.queue, key)
        await self._write(
            job, {**status, "succeeded": succeeded, "failed": failed}, conditions, running
        )

    def _report(self, job: Entry, type_: EventType, reason: str, message: str) -> None:
        self._context.recorder.record(job, type_, reason, message, COMPONENT)

    async def _delete_pods(self, job: Entry, pods: list[Entry]) -> None:
        for pod in pods:
            await self._context.delete(self._context.kinds.pods, pod)
            self._report(
                job, EventType.NORMAL, "SuccessfulDelete", f"Deleted pod: {pod.metadata['name']}"
            )

    def _pod(self, job: Entry, template: Obj, index: int | None) -> Obj:
        """A Pod of ``job`` (of completion ``index`` in ``Indexed`` mode)."""
        name = job.metadata["name"]
        if index is None:
            return pod_from_template(
                template, job, generate_name=f"{name}-", labels=job_labels(job.obj)
            )
        pod = pod_from_template(
            template,
            job,
            generate_name=f"{name}-{index}-",
            labels={**job_labels(job.obj), INDEX_KEY: str(index)},
            annotations={INDEX_KEY: str(index)},
        )
        spec = pod["spec"]
        spec["hostname"] = f"{name}-{index}"
        for container in spec.get("containers") or []:
            env = [e for e in container.get("env") or [] if e.get("name") != "JOB_COMPLETION_INDEX"]
            env.append(
                {
                    "name": "JOB_COMPLETION_INDEX",
                    "valueFrom": {
                        "fieldRef": {
                            "apiVersion": "v1",
                            "fieldPath": f"metadata.labels['{INDEX_KEY}']",
                        }
                    },
                }
            )
            container["env"] = env
        return pod

    async def _write(
        self, job: Entry, status: Obj, conditions: list[Obj], running: list[Entry]
    ) -> None:
        context = self._context
        current = context.get(
            context.kinds.jobs, job.metadata.get("namespace", ""), job.metadata["name"]
        )
        if current is None:
            return
        result: Obj = {}
        live = [p for p in running if active(p)]
        if live:
            result["active"] = len(live)
        if status.get("completedIndexes"):
            result["completedIndexes"] = status["completedIndexes"]
        if status.get("completionTime"):
            result["completionTime"] = status["completionTime"]
        if conditions:
            result["conditions"] = conditions
        if status.get("failed"):
            result["failed"] = status["failed"]
        result["ready"] = sum(1 for p in live if ready(p))
        if status.get("startTime"):
            result["startTime"] = status["startTime"]
        if status.get("succeeded"):
            result["succeeded"] = status["succeeded"]
        result["terminating"] = sum(
            1
            for p in context.owned(
                context.kinds.pods, job.metadata.get("namespace", ""), job.metadata["uid"]
            )
            if "deletionTimestamp" in p.metadata
        )
        result["uncountedTerminatedPods"] = {}
        await context.write_status(context.kinds.jobs, current, result)
