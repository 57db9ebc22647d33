"""``kill -9`` of the local cluster while it is being written, then a restart on its data.

The local cluster acknowledges a write only once it is durable (safety rule 5), so a
killed cluster restarted on the same folder and port holds every write it answered with
a 2xx, and no half-written object. Three tests hold it to that:

- a controller (in-process, so it is visibly the same controller throughout) syncs an
  app of 100 ConfigMaps between a PreSync and a PostSync hook Job; the cluster is
  killed at a seeded step (a hook's creation, or the n-th object's), stays down a
  seeded moment and is started again. The controller must reconnect by itself (its
  watches see a later change and a deletion) and the app converge (the app has
  ``syncPolicy.retry``, as an Argo CD user gives apps whose syncs transient errors may
  fail); every write the controller was acknowledged must be there; the interrupted
  operation resumes rather than ending in Error, and no hook is created twice (one
  runs again only in a retried attempt); nothing is deleted, the objects placed next to
  the app are untouched; and at no point did the app's status claim an object Synced
  or applied before the object was in the cluster (checked in the cluster's global
  resourceVersion order, :mod:`truth`);
- the same with ``tether controller`` as a child process: it outlives the restarts;
- concurrent writers (``KubeClient`` creates and updates, ``kubectl apply``) are cut off
  by a kill at a seeded moment; after the restart every acknowledged write is present,
  at the version acknowledged or a later one.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faultbudget
import pytest
from controllerprocess import ControllerProcess
from eventlog import EventLog, Seen
from faultapps import (
    assert_untouched,
    configmap,
    fault_app,
    job_hook,
    place_bystanders,
    settled_at,
    tracked_names,
)
from recordingclient import Acknowledged, RecordingClient
from truth import untrue_claims

from tether.controller import ApplicationController
from tether.kube import KubeClient, KubeError, NotFound, load_kubeconfig
from tether.source import GitCache
from tether.tools import find_tool

if TYPE_CHECKING:
    from controllerharness import Harness
    from gitserver import GitServer, RemoteRepo

    from tether.localcluster.launcher import LocalClusterProcess

OBJECTS = 100
WATCHED = (
    ("argoproj.io/v1alpha1", "Application"),
    ("v1", "ConfigMap"),
    ("batch/v1", "Job"),
)


@pytest.fixture
async def recorder(
    management: Harness, local_cluster: LocalClusterProcess, tmp_path: Path
) -> AsyncIterator[RecordingClient]:
    """The client of an in-process controller: it records what the cluster acknowledged.

    The controller runs for the whole test: recovering from a cluster's restart is its
    own job, nobody restarts it.
    """
    client = RecordingClient(load_kubeconfig(local_cluster.kubeconfig))
    controller = ApplicationController(
        client,
        GitCache(tmp_path / "git"),
        namespace=management.namespace,
        poll_interval=0.05,
        clock=management.clock,
    )
    try:
        async with asyncio.timeout(30):
            await controller.start()
        yield client
    finally:
        await controller.close()
        await client.close()


async def restart_after(cluster: LocalClusterProcess, seconds: float) -> None:
    """Keep the killed cluster down ``seconds``, then start it on the same data and port."""
    await asyncio.sleep(seconds)
    # Starting blocks until the server is ready; the controller keeps running meanwhile.
    await asyncio.to_thread(cluster.restart)


async def assert_acknowledged_present(
    client: KubeClient, acknowledged: list[Acknowledged], label: str
) -> None:
    """Every acknowledged write is stored: same object, that version or a later one."""
    for write in acknowledged:
        try:
            live = await client.get(write.api_version, write.kind, write.name, write.namespace)
        except NotFound:
            raise AssertionError(f"{label}: acknowledged {write} is gone") from None
        metadata = live["metadata"]
        assert metadata["uid"] == write.uid, f"{label}: {write} was replaced"
        assert int(metadata["resourceVersion"]) >= write.resource_version, (
            f"{label}: {write} went back to {metadata['resourceVersion']}"
        )


def kill_point(namespace: str, step: int) -> Callable[[Seen], bool]:
    """A predicate for the moment of a sync of :data:`OBJECTS` objects and two hooks.

    Step 0 is the PreSync hook's creation, steps 1 to :data:`OBJECTS` the creation of
    that many objects, and the step after them the PostSync hook's creation.
    """
    if step == 0 or step > OBJECTS:
        hook = "PreSync" if step == 0 else "PostSync"
        return lambda e: e.namespace == namespace and e.type == "ADDED" and e.hook == hook
    added = itertools.count(1)
    return lambda e: (
        e.namespace == namespace
        and e.kind == "ConfigMap"
        and e.type == "ADDED"
        and next(added) >= step
    )


def assert_hooks_ran_once_per_attempt(
    events: EventLog, namespace: str, syncs: int, label: str
) -> None:
    """No hook was created twice, and one ran again only in a new attempt (a retry).

    An operation that resumes after the cluster comes back does not start over; only a
    sync that Failed (an apply refused while the cluster was down) is retried, and a
    retry is a new attempt that runs its hooks again, as in Argo CD. An operation never
    ends in Error because the cluster could not be read for a while.
    """
    states = [
        (e.object.get("status") or {}).get("operationState") or {}
        for e in events.of("argocd", kind="Application")
        if e.name == namespace
    ]
    assert "Error" not in {s.get("phase") for s in states}, (label, states)
    attempts = len({s["startedAt"] for s in states if s.get("startedAt")})
    hooks = [e for e in events.of(namespace, kind="Job", event_type="ADDED") if e.hook]
    for hook in ("PreSync", "PostSync"):
        uids: dict[str, set[str]] = {}
        for event in hooks:
            if event.hook == hook:
                uids.setdefault(event.name, set()).add(event.uid)
        assert all(len(u) == 1 for u in uids.values()), f"{label}: {hook} recreated: {uids}"
        assert syncs <= len(uids) <= attempts, f"{label}: {hook} {sorted(uids)}, {attempts}"


def reports_missing(configmap_name: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate: the app's status lists ``configmap_name`` as OutOfSync."""

    def predicate(app: dict[str, Any]) -> bool:
        resources = (app.get("status") or {}).get("resources") or []
        return any(
            r.get("kind") == "ConfigMap"
            and r.get("name") == configmap_name
            and r.get("status") == "OutOfSync"
            for r in resources
        )

    return predicate


async def sync_through_a_kill(
    harness: Harness,
    events: EventLog,
    cluster: LocalClusterProcess,
    repo: RemoteRepo,
    name: str,
    rng: random.Random,
    recorder: RecordingClient | None = None,
) -> None:
    """One trial: an app's sync is cut by a kill of the cluster; everything must hold after.

    ``recorder`` is the controller's client when it runs in-process: then every write it
    was acknowledged before the kill is checked too.
    """
    files: dict[str, str | None] = {
        f"app/cm-{index}.yaml": configmap(f"cm-{index}") for index in range(OBJECTS)
    }
    files["app/pre.yaml"] = job_hook("PreSync", "pre")
    files["app/post.yaml"] = job_hook("PostSync", "post")
    revision = repo.push(files, "a hundred objects and two hooks")
    kill_at = rng.randint(0, OBJECTS + 1)
    downtime = rng.uniform(0.2, 1.5)
    label = f"seed {faultbudget.SEED} {name} (kill at step {kill_at})"

    bystanders = await place_bystanders(harness.client, name)
    since = events.mark()
    first_write = len(recorder.acknowledged) if recorder else 0
    await harness.client.apply(fault_app(name, repo.url_file, retry=True))
    await events.wait_for(kill_point(name, kill_at), since=since)
    cluster.kill()
    acknowledged = recorder.acknowledged[first_write:] if recorder else []
    await restart_after(cluster, downtime)

    await assert_acknowledged_present(harness.client, acknowledged, label)
    app = await harness.wait_app(name, settled_at(harness, revision), seconds=60)
    history = app["status"].get("history") or []
    assert [h["revision"] for h in history] == [revision], (label, history)
    live = (await harness.client.list("v1", "ConfigMap", name)).items
    assert tracked_names(live, name) == {f"cm-{i}" for i in range(OBJECTS)}, label
    for obj in live:
        if obj["metadata"]["name"].startswith("cm-"):
            assert obj["data"] == {"name": obj["metadata"]["name"], "wave": "0"}, label

    # The same controller still follows the cluster: a change in Git is synced.
    changed = repo.push({"app/cm-0.yaml": configmap("cm-0", 1)}, "change one object")
    await harness.refresh(name)
    await harness.wait_app(name, settled_at(harness, changed), seconds=30)
    # An object deleted behind its back shows in the status: the live watch is back.
    await harness.client.delete("v1", "ConfigMap", "cm-1", name)
    await harness.wait_app(name, reports_missing("cm-1"), seconds=30)
    await events.catch_up(name)
    assert events.deleted(name) == {("ConfigMap", "cm-1")}, label  # only the test's deletion
    await assert_untouched(harness.client, bystanders, label)
    assert not untrue_claims(events, name, name), label
    assert_hooks_ran_once_per_attempt(events, name, syncs=2, label=label)


@pytest.mark.timeout(faultbudget.trials(quick=300, full=1200))
async def test_a_killed_cluster_keeps_what_it_acknowledged_and_the_app_converges(
    management: Harness,
    recorder: RecordingClient,
    local_cluster: LocalClusterProcess,
    git_server_session: GitServer,
) -> None:
    rng = random.Random(faultbudget.SEED)
    async with EventLog(management.client, WATCHED) as events:
        for trial in range(faultbudget.trials(quick=3, full=20)):
            repo = git_server_session.create_repo()
            await sync_through_a_kill(
                management, events, local_cluster, repo, f"bulk-{trial}", rng, recorder
            )
        assert events.gaps == 0


@pytest.mark.timeout(faultbudget.trials(quick=300, full=1200))
async def test_a_controller_process_outlives_the_cluster_restarts(
    management: Harness,
    local_cluster: LocalClusterProcess,
    git_server_session: GitServer,
    tmp_path: Path,
) -> None:
    """``tether controller`` as users run it (ApplicationSets, notifications and all)."""
    rng = random.Random(faultbudget.SEED + 1)
    controller = ControllerProcess(local_cluster.kubeconfig, tmp_path / "controller").start()
    try:
        async with EventLog(management.client, WATCHED) as events:
            for trial in range(faultbudget.trials(quick=1, full=5)):
                repo = git_server_session.create_repo()
                name = f"process-{trial}"
                await sync_through_a_kill(management, events, local_cluster, repo, name, rng)
                assert controller.process is not None
                assert controller.process.poll() is None, f"{name}: the controller exited"
            assert events.gaps == 0
    finally:
        controller.stop()


def _payload(name: str, count: int) -> str:
    """What a writer stores at each version: checkable, so a half write would show."""
    return hashlib.sha256(f"{name}:{count}".encode()).hexdigest()


def _written(name: str, namespace: str, count: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"count": str(count), "payload": _payload(name, count)},
    }


async def client_writer(
    client: KubeClient, namespace: str, writer: int, acknowledged: dict[str, tuple[str, int]]
) -> None:
    """Create objects and update them, recording each acknowledged version, until a failure."""
    try:
        for index in range(1000):
            name = f"client-{writer}-{index}"
            created = await client.create(_written(name, namespace, 0))
            acknowledged[name] = (created["metadata"]["uid"], 0)
            for count in (1, 2):
                updated = await client.apply(_written(name, namespace, count))
                acknowledged[name] = (updated["metadata"]["uid"], count)
    except KubeError:
        return  # the cluster went away: what was acknowledged so far is the record


async def kubectl_writer(
    kubeconfig: Path, namespace: str, writer: int, acknowledged: dict[str, tuple[str, int]]
) -> None:
    """``kubectl apply --server-side`` of batches of ten ConfigMaps until it fails."""
    kubectl = str(find_tool("kubectl"))
    with tempfile.TemporaryDirectory() as folder:
        for batch in range(100):
            names = [f"kubectl-{writer}-{batch}-{index}" for index in range(10)]
            manifest = Path(folder) / f"batch-{batch}.yaml"
            manifest.write_text(
                "".join(
                    f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {n}, namespace: "
                    f"{namespace}}}\ndata: {{count: '0', payload: {_payload(n, 0)}}}\n"
                    for n in names
                )
            )
            process = await asyncio.create_subprocess_exec(
                kubectl,
                "--kubeconfig",
                str(kubeconfig),
                "apply",
                "--server-side",
                "-f",
                str(manifest),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                async with asyncio.timeout(30):
                    out, _ = await process.communicate()
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            # kubectl prints one line per object the server acknowledged.
            for line in out.decode().splitlines():
                kind_name, _, verdict = line.partition(" ")
                if verdict == "serverside-applied":
                    acknowledged[kind_name.removeprefix("configmap/")] = ("", 0)
            if process.returncode != 0:
                return


async def test_every_acknowledged_write_survives_a_kill(
    local_cluster: LocalClusterProcess,
) -> None:
    rng = random.Random(faultbudget.SEED)
    namespace = "burst"
    async with KubeClient(load_kubeconfig(local_cluster.kubeconfig)) as client:
        await client.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        for trial in range(faultbudget.trials(quick=2, full=10)):
            label = f"seed {faultbudget.SEED} trial {trial}"
            acknowledged: dict[str, tuple[str, int]] = {}
            writers = [
                *(client_writer(client, namespace, trial * 10 + w, acknowledged) for w in range(6)),
                *(
                    kubectl_writer(
                        local_cluster.kubeconfig, namespace, trial * 10 + w, acknowledged
                    )
                    for w in range(2)
                ),
            ]
            tasks = [asyncio.create_task(w) for w in writers]
            await asyncio.sleep(rng.uniform(0.5, 1.2))
            local_cluster.kill()
            async with asyncio.timeout(60):
                await asyncio.gather(*tasks)
            before = dict(acknowledged)
            assert len(before) > 10, f"{label}: the burst wrote too little to test anything"
            assert any(n.startswith("kubectl-") for n in before), f"{label}: kubectl wrote nothing"
            await restart_after(local_cluster, rng.uniform(0.0, 0.5))

            stored = {
                o["metadata"]["name"]: o
                for o in (await client.list("v1", "ConfigMap", namespace)).items
            }
            for name, (uid, count) in before.items():
                assert name in stored, f"{label}: acknowledged {name} is gone"
                live = stored[name]
                assert not uid or live["metadata"]["uid"] == uid, f"{label}: {name} was replaced"
                assert int(live["data"]["count"]) >= count, f"{label}: {name} lost an update"
            for name, live in stored.items():
                if not name.startswith(("client-", "kubectl-")):
                    continue
                count = int(live["data"]["count"])
                assert live["data"]["payload"] == _payload(name, count), (
                    f"{label}: {name} is half written"
                )
