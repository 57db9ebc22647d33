"""Jobs and CronJobs: completions, retries, back-off limits, suspension, schedules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from tests.localcluster.simulation.harness import SimCluster, load

from tether.localcluster.simulation import ManualClock, Settings
from tether.localcluster.simulation.cronjob import last_due, next_due
from tether.localcluster.simulation.job import format_indexes, parse_indexes

Obj = dict[str, Any]


def condition_types(job: Obj) -> list[tuple[str, str, str]]:
    return [
        (c["type"], c["status"], c.get("reason", "")) for c in job["status"].get("conditions", [])
    ]


async def test_a_job_runs_to_its_completions(sim: SimCluster) -> None:
    created = await sim.create(load("job-pi"))
    await sim.settle()
    job = sim.obj("Job", "pi")
    assert condition_types(job) == [
        ("SuccessCriteriaMet", "True", "CompletionsReached"),
        ("Complete", "True", "CompletionsReached"),
    ]
    assert job["status"]["succeeded"] == 3
    assert job["status"]["ready"] == 0
    assert "active" not in job["status"]
    assert job["status"]["completionTime"] >= job["status"]["startTime"]
    assert job["status"]["uncountedTerminatedPods"] == {}
    pods = sim.list("Pod")
    assert len(pods) == 3
    uid = created.metadata["uid"]
    assert all(p["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == uid for p in pods)
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}


async def test_a_job_runs_parallelism_pods_at_once(timed: SimCluster) -> None:
    await timed.create(load("job-pi"))
    await timed.settle()
    job = timed.obj("Job", "pi")
    assert job["status"]["active"] == 2
    await timed.advance(1)
    await timed.advance(1)
    await timed.advance(1)
    job = timed.obj("Job", "pi")
    assert job["status"]["succeeded"] == 3
    assert ("Complete", "True", "CompletionsReached") in condition_types(job)


async def test_a_failing_job_retries_then_fails(sim: SimCluster) -> None:
    await sim.create(load("job-fail"))
    await sim.settle()
    await sim.advance(5)
    job = sim.obj("Job", "flaky")
    assert job["status"]["failed"] == 3
    assert condition_types(job) == [
        ("FailureTarget", "True", "BackoffLimitExceeded"),
        ("Failed", "True", "BackoffLimitExceeded"),
    ]
    assert (
        job["status"]["conditions"][1]["message"] == "Job has reached the specified backoff limit"
    )
    assert "completionTime" not in job["status"]
    assert [p["status"]["phase"] for p in sim.list("Pod")] == ["Failed"] * 3


async def test_retries_back_off(timed: SimCluster) -> None:
    await timed.create(load("job-fail"))
    await timed.settle()
    await timed.advance(1)
    assert timed.obj("Job", "flaky")["status"]["failed"] == 1
    assert len(timed.list("Pod")) == 1
    await timed.advance(1)
    assert len(timed.list("Pod")) == 2


async def test_a_suspended_job_runs_nothing_until_resumed(sim: SimCluster) -> None:
    job = load("job-pi")
    job["spec"]["suspend"] = True
    await sim.create(job)
    await sim.settle()
    assert sim.list("Pod") == []
    status = sim.obj("Job", "pi")["status"]
    assert condition_types(sim.obj("Job", "pi")) == [("Suspended", "True", "JobSuspended")]
    assert "startTime" not in status
    await sim.change("Job", "pi", lambda j: j["spec"].__setitem__("suspend", False))
    await sim.settle()
    job = sim.obj("Job", "pi")
    assert ("Suspended", "False", "JobResumed") in condition_types(job)
    assert ("Complete", "True", "CompletionsReached") in condition_types(job)


async def test_an_active_deadline_fails_the_job(timed: SimCluster) -> None:
    job = load("job-pi")
    job["spec"]["activeDeadlineSeconds"] = 1
    job["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:doesnotexist"
    await timed.create(job)
    await timed.settle()
    assert timed.obj("Job", "pi")["status"]["active"] == 2
    await timed.advance(2)
    job = timed.obj("Job", "pi")
    assert ("Failed", "True", "DeadlineExceeded") in condition_types(job)
    assert "active" not in job["status"]
    assert timed.list("Pod") == []  # running Pods are deleted


def test_schedules_in_utc_and_in_a_time_zone() -> None:
    now = datetime(2026, 3, 1, 10, 7, 30, tzinfo=UTC)
    assert last_due("*/5 * * * *", None, now) == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    assert next_due("*/5 * * * *", None, now) == datetime(2026, 3, 1, 10, 10, tzinfo=UTC)
    from zoneinfo import ZoneInfo

    assert last_due("0 9 * * *", ZoneInfo("Europe/Paris"), now) == datetime(
        2026, 3, 1, 8, tzinfo=UTC
    )


async def test_a_cronjob_runs_on_schedule(tmp_path: Any) -> None:
    from tests.localcluster.simulation.harness import SimCluster as Cluster

    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    running = Cluster(tmp_path, Settings.instant(), clock)
    await running.start()
    try:
        await running.create(load("cronjob-hello"))
        await running.settle()
        assert running.list("Job") == []
        for _ in range(4):
            await running.advance(300)
        jobs = running.list("Job")
        assert len(jobs) == 2  # successfulJobsHistoryLimit
        cronjob = running.obj("CronJob", "hello")
        status = cronjob["status"]
        newest = max(jobs, key=lambda j: j["metadata"]["name"])
        scheduled = newest["metadata"]["annotations"][
            "batch.kubernetes.io/cronjob-scheduled-timestamp"
        ]
        assert status["lastScheduleTime"] == scheduled
        assert status["lastSuccessfulTime"] >= scheduled
        assert "active" not in status
        minutes = int(datetime.fromisoformat(scheduled.replace("Z", "+00:00")).timestamp()) // 60
        assert newest["metadata"]["name"] == f"hello-{minutes}"
        assert newest["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    finally:
        await running.close()


async def test_forbid_skips_a_run_while_one_is_active(tmp_path: Any) -> None:
    from tests.localcluster.simulation.harness import SimCluster as Cluster

    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    running = Cluster(tmp_path, Settings.instant(), clock)
    await running.start()
    try:
        cronjob = load("cronjob-hello")
        cronjob["spec"]["concurrencyPolicy"] = "Forbid"
        # An image that cannot be pulled keeps the first Job running.
        template = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        template["containers"][0]["image"] = "busybox:doesnotexist"
        await running.create(cronjob)
        await running.settle()
        await running.advance(300)
        await running.advance(300)
        assert len(running.list("Job")) == 1
        (active,) = running.obj("CronJob", "hello")["status"]["active"]
        assert active["kind"] == "Job"
    finally:
        await running.close()


async def test_a_suspended_cronjob_creates_nothing(sim: SimCluster) -> None:
    cronjob = load("cronjob-hello")
    cronjob["spec"]["suspend"] = True
    await sim.create(cronjob)
    await sim.advance(900)
    assert sim.list("Job") == []


async def test_an_indexed_job_runs_each_index_once(sim: SimCluster) -> None:
    job = load("job-pi")
    job["spec"]["completionMode"] = "Indexed"
    await sim.create(job)
    await sim.settle()
    job_status = sim.obj("Job", "pi")["status"]
    assert job_status["completedIndexes"] == "0-2"
    assert job_status["succeeded"] == 3
    pods = sim.list("Pod")
    indexes = sorted(
        p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods
    )
    assert indexes == ["0", "1", "2"]
    pod = next(
        p
        for p in pods
        if p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "1"
    )
    assert pod["spec"]["hostname"] == "pi-1"
    assert pod["metadata"]["name"].startswith("pi-1-")
    env = pod["spec"]["containers"][0]["env"]
    assert env[-1]["name"] == "JOB_COMPLETION_INDEX"


@pytest.mark.parametrize(
    ("indexes", "text"),
    [(set(), ""), ({0}, "0"), ({0, 1, 2, 5}, "0-2,5"), ({1, 3, 4, 5, 9}, "1,3-5,9")],
)
def test_completed_indexes_are_written_as_ranges(indexes: set[int], text: str) -> None:
    assert format_indexes(indexes) == text
    assert parse_indexes(text) == indexes
