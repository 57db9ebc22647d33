"""``kill -9`` of the controller at chosen and random moments of syncs, then a restart.

Each seeded trial deploys one application (its own repository and namespace, see
:func:`faultapps.hooked_app`: a PreSync hook Job, three waves with a Deployment in the
middle one, a PostSync hook Job) and kills the ``tether controller`` child process at
one kill point, then starts it again:

- ``random``: a random delay after the app was created;
- ``started``: right after the controller logged ``operation started`` for the app;
- ``mid-wave``: when the first object of wave 1 appears (the wave's rollout is awaited);
- ``post-sync``: when the PostSync hook Job appears (it runs for about a second);
- ``prune``: the app was synced before the trials; a commit removing three of its
  objects is pushed, and the kill comes with the first deletion;
- ``resumed``: as ``started``, and once more a random moment after the restart, while
  the new controller resumes the operation.

The kills of later trials land on the syncs of earlier ones too. Afterwards, for every
app: it is Synced and Healthy at its last commit and its operation Succeeded; its
history has one entry per completed sync, each at its own revision; every hook was
created exactly once per sync (one name, one uid); what was deleted is exactly what Git
removed; its objects are exactly what Git declares; and the objects placed next to it
(untracked, or tracked by another app) were never touched. And no status written
meanwhile claimed an object Synced or applied before it existed.

A second test kills the controller while it deletes an app in cascade (resources
finalizer, PreDelete and PostDelete hooks): each deletion hook still runs once.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faultbudget
import pytest
from controllerprocess import ControllerProcess
from eventlog import EventLog, Seen
from faultapps import (
    DOOMED,
    HOOK_PREFIXES,
    WAVES,
    Bystander,
    assert_untouched,
    configmap,
    fault_app,
    hooked_app,
    job_hook,
    place_bystanders,
    removal_of_doomed,
    settled_at,
    tracked_names,
    wave_of,
)
from truth import untrue_claims

from tether.kube import NotFound
from tether.model import keys

if TYPE_CHECKING:
    from controllerharness import Harness
    from gitserver import GitServer, RemoteRepo

APPLICATION = ("argoproj.io/v1alpha1", "Application")
WATCHED = (
    ("argoproj.io/v1alpha1", "Application"),
    ("batch/v1", "Job"),
    ("v1", "ConfigMap"),
    ("apps/v1", "Deployment"),
)


class KillPoint(StrEnum):
    """When a trial kills the controller."""

    RANDOM = "random"
    STARTED = "started"
    MID_WAVE = "mid-wave"
    POST_SYNC = "post-sync"
    PRUNE = "prune"
    RESUMED = "resumed"


@dataclass
class Trial:
    """One app and what it must end as."""

    number: int
    point: KillPoint
    repo: RemoteRepo
    bystanders: list[Bystander]
    #: The commit of each sync the app must have completed, in order.
    revisions: list[str]

    @property
    def name(self) -> str:
        return f"crash-{self.number}"

    @property
    def label(self) -> str:
        return f"seed {faultbudget.SEED} trial {self.number} ({self.point})"

    @property
    def declared(self) -> set[str]:
        """The ConfigMaps Git declares at the last commit."""
        return {name for names in WAVES.values() for name in names}


async def wait_for_log(controller: ControllerProcess, pattern: str, offset: int) -> None:
    """Wait (bounded) until ``pattern`` appears in the controller's log after ``offset``."""
    expression = re.compile(pattern)
    async with asyncio.timeout(30):
        while True:
            # A log file has no change notification to wait on: read it again shortly.
            if expression.search(controller.log_path.read_text()[offset:]):
                return
            await asyncio.sleep(0.01)


def trigger(point: KillPoint, namespace: str) -> Callable[[Seen], bool]:
    """The event that marks ``point`` in the sync of the app deploying to ``namespace``."""

    def matches(event: Seen) -> bool:
        if event.namespace != namespace:
            return False
        if point is KillPoint.MID_WAVE:
            return event.type == "ADDED" and (
                wave_of(event.name) == 1 or event.kind == "Deployment"
            )
        if point is KillPoint.POST_SYNC:
            return event.type == "ADDED" and event.hook == "PostSync"
        return event.type == "DELETED" and event.name in DOOMED

    return matches


async def kill_at(
    trial: Trial,
    rng: random.Random,
    harness: Harness,
    controller: ControllerProcess,
    events: EventLog,
) -> None:
    """Start the trial's sync, wait for its kill point, kill the controller, restart it."""
    since = events.mark()
    offset = controller.log_path.stat().st_size
    if trial.point is KillPoint.PRUNE:
        trial.revisions.append(trial.repo.push(removal_of_doomed(), "remove the doomed objects"))
        await harness.refresh(trial.name)
    else:
        await harness.client.apply(fault_app(trial.name, trial.repo.url_file))
    if trial.point is KillPoint.RANDOM:
        await asyncio.sleep(rng.uniform(0.0, 3.0))
    elif trial.point in (KillPoint.STARTED, KillPoint.RESUMED):
        await wait_for_log(controller, rf"argocd/{trial.name}: operation started", offset)
        await asyncio.sleep(rng.uniform(0.0, 0.05))
    else:
        await events.wait_for(trigger(trial.point, trial.name), since=since)
    await restart(controller)
    if trial.point is KillPoint.RESUMED:
        await asyncio.sleep(rng.uniform(0.0, 1.0))
        await restart(controller)


async def restart(controller: ControllerProcess) -> None:
    """``kill -9`` the controller and start it again."""
    controller.kill()
    # Starting waits for the ready line; the event log keeps listening meanwhile.
    await asyncio.to_thread(controller.start)


async def assert_converged(harness: Harness, events: EventLog, trial: Trial) -> None:
    """Everything the module docstring says must hold for one trial's app."""
    final = trial.revisions[-1]
    app = await harness.wait_app(trial.name, settled_at(harness, final), seconds=60)
    status = app["status"]
    assert status["operationState"]["phase"] == "Succeeded", trial.label
    assert status["operationState"]["syncResult"]["revision"] == final, trial.label
    history = status.get("history") or []
    assert [h["revision"] for h in history] == trial.revisions, (trial.label, history)
    assert len({h["id"] for h in history}) == len(history), (trial.label, history)

    syncs = len(trial.revisions)
    hooks = [e for e in events.of(trial.name, kind="Job", event_type="ADDED") if e.hook]
    for hook, prefix in HOOK_PREFIXES.items():
        names = {e.name for e in hooks if e.hook == hook}
        uids = {e.uid for e in hooks if e.hook == hook}
        assert len(names) == syncs, f"{trial.label}: {hook} hooks created: {sorted(names)}"
        assert len(uids) == syncs, f"{trial.label}: {hook} hook created twice: {hooks}"
        assert all(name.startswith(f"{prefix}-") for name in names), trial.label

    removed = {("ConfigMap", name) for name in DOOMED} if trial.point is KillPoint.PRUNE else set()
    assert events.deleted(trial.name) == removed, trial.label

    configmaps = (await harness.client.list("v1", "ConfigMap", trial.name)).items
    assert tracked_names(configmaps, trial.name) == trial.declared, trial.label
    for live in configmaps:
        if live["metadata"]["name"] in trial.declared:
            assert live["data"]["name"] == live["metadata"]["name"], trial.label
    await assert_untouched(harness.client, trial.bystanders, trial.label)
    assert not untrue_claims(events, trial.name, trial.name), trial.label


@pytest.mark.timeout(faultbudget.trials(quick=300, full=1200))
async def test_killed_controllers_converge_without_running_a_hook_twice(
    management: Harness,
    local_cluster: Any,
    git_server_session: GitServer,
    tmp_path: Path,
) -> None:
    harness = management
    rng = random.Random(faultbudget.SEED)
    points = list(KillPoint)
    trials: list[Trial] = []
    for number in range(faultbudget.trials(quick=8, full=50)):
        point = points[number % len(points)]
        repo = git_server_session.create_repo()
        revision = repo.push(hooked_app(doomed=point is KillPoint.PRUNE), "the app")
        namespace = f"crash-{number}"
        bystanders = await place_bystanders(harness.client, namespace)
        trials.append(Trial(number, point, repo, bystanders, [revision]))

    controller = ControllerProcess(local_cluster.kubeconfig, tmp_path / "controller").start()
    try:
        async with EventLog(harness.client, WATCHED) as events:
            # Apps whose prune is interrupted are synced once first, undisturbed.
            pruned = [t for t in trials if t.point is KillPoint.PRUNE]
            for trial in pruned:
                await harness.client.apply(fault_app(trial.name, trial.repo.url_file))
            for trial in pruned:
                await harness.wait_app(trial.name, harness.settled, seconds=60)

            for trial in trials:
                await kill_at(trial, rng, harness, controller, events)
            for trial in trials:
                await harness.wait_app(trial.name, harness.settled, seconds=60)
            await events.catch_up(harness.namespace)
            for trial in trials:
                await assert_converged(harness, events, trial)
            assert events.gaps == 0
    finally:
        controller.stop()


POST_DELETE = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  annotations: {{argocd.argoproj.io/hook: PostDelete}}
data: {{hook: PostDelete}}
"""
KEPT = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: kept
  annotations: {argocd.argoproj.io/sync-options: Delete=false}
data: {kept: "true"}
"""


class DeletionKillPoint(StrEnum):
    """When a deletion trial kills the controller."""

    CLEANUP = "cleanup"  # the first deletion hook is removed: the finalizer is next
    PRE_DELETE = "pre-delete"  # the PreDelete hook Job appears and runs
    RANDOM = "random"


@pytest.mark.timeout(faultbudget.trials(quick=300, full=1200))
async def test_a_killed_deletion_runs_each_deletion_hook_once(
    management: Harness,
    local_cluster: Any,
    git_server_session: GitServer,
    tmp_path: Path,
) -> None:
    """Deleting an app with its resources finalizer, the controller killed on the way.

    The app has a PreDelete hook Job, many PostDelete hooks (so that removing them at the
    end takes a while) and an object with ``Delete=false``. After the kill and restart
    the app is gone, every deletion hook was created once and removed, its resources
    are deleted but the ``Delete=false`` one, and its neighbours are untouched.
    """
    harness = management
    rng = random.Random(faultbudget.SEED)
    points = list(DeletionKillPoint)
    controller = ControllerProcess(local_cluster.kubeconfig, tmp_path / "controller").start()
    try:
        async with EventLog(harness.client, WATCHED) as events:
            for number in range(faultbudget.trials(quick=1, full=12)):
                point = points[number % len(points)]
                name = f"deleted-{number}"
                label = f"seed {faultbudget.SEED} deletion trial {number} ({point})"
                files: dict[str, str | None] = {f"app/{n}.yaml": configmap(n) for n in WAVES[0]}
                files["app/kept.yaml"] = KEPT
                files["app/pre-delete.yaml"] = job_hook("PreDelete", "pre-delete")
                hooks = [f"post-delete-{index}" for index in range(30)]
                files |= {f"app/{h}.yaml": POST_DELETE.format(name=h) for h in hooks}
                repo = git_server_session.create_repo()
                revision = repo.push(files, "an app with deletion hooks")
                bystanders = await place_bystanders(harness.client, name)
                manifest = fault_app(name, repo.url_file)
                manifest["metadata"]["finalizers"] = [keys.RESOURCES_FINALIZER]
                await harness.client.apply(manifest)
                await harness.wait_app(name, settled_at(harness, revision), seconds=60)

                since = events.mark()
                await harness.client.delete(*APPLICATION, name, harness.namespace)
                if point is DeletionKillPoint.RANDOM:
                    await asyncio.sleep(rng.uniform(0.0, 2.0))
                else:
                    await events.wait_for(deletion_trigger(point, name), since=since)
                await restart(controller)
                await wait_gone(harness, name)

                await events.catch_up(name)
                created = events.created(name)
                twice = {n: uids for n, uids in created.items() if len(uids) > 1}
                assert not twice, f"{label}: created twice: {twice}"
                assert {n for n in created if n.startswith("pre-delete-")}, label
                assert set(hooks) <= set(created), label
                left = (await harness.client.list("v1", "ConfigMap", name)).items
                assert tracked_names(left, name) == {"kept"}, label
                assert not (await harness.client.list("batch/v1", "Job", name)).items, label
                await assert_untouched(harness.client, bystanders, label)
    finally:
        controller.stop()


def deletion_trigger(point: DeletionKillPoint, namespace: str) -> Callable[[Seen], bool]:
    """The event that marks ``point`` in the deletion of the app deploying to ``namespace``."""
    if point is DeletionKillPoint.PRE_DELETE:
        return lambda e: e.namespace == namespace and e.type == "ADDED" and e.hook == "PreDelete"
    return lambda e: e.namespace == namespace and e.type == "DELETED" and bool(e.hook)


async def wait_gone(harness: Harness, name: str) -> None:
    """Wait (bounded) until the Application ``name`` no longer exists."""
    async with asyncio.timeout(60):
        while True:
            try:
                await harness.app(name)
            except NotFound:
                return
            await asyncio.sleep(0.05)
