"""The controller against an API server that fails: errors, throttling, conflicts, lost watches.

An in-process :class:`~tether.controller.ApplicationController` reaches a fresh local
cluster only through a :class:`~faultproxy.FaultProxy`; the test itself reads and
writes the cluster directly. Each app has a PreSync Job hook, three sync waves (one a
Deployment), a PostSync hook, automated sync with prune and selfHeal, and a retry
strategy. Unrelated objects are seeded beside it. A trial creates the app, turns a fault
plan on at a seeded moment, pushes a second commit (which drops one object and changes
the others) while the fault lasts, clears the plan, and then checks what must hold:

- the app converges: Synced, Healthy, at the new commit, no operation left;
- nothing outside the app was deleted (the seeded objects keep their uid), and exactly
  the object removed from Git was pruned;
- no hook was created twice (every hook object was ADDED once: a resumed operation
  adopts the hook it created instead of running it again), and where no attempt fails,
  each successful sync ran its PreSync hook once (a creation whose answer was lost
  included);
- meanwhile the status told the truth: whenever it said Synced at a commit, the cluster
  held that commit's content; every Failed operation, and every Running one waiting to
  retry after an error, named the fault's cause; faults the client absorbs (429 with
  ``Retry-After``, a slow server) failed no operation at all.

The plans: 500s on a fraction of writes (some after the server made the change), 500s
on reads, a lost answer to a hook's creation, 429 bursts, 409 on apply, and a slow
server (100 to 500 ms a request).

Separately: with every request for the app's objects answered 503, the app's comparison
says Unknown with a ComparisonError instead of the last Synced; and with watches dropped
and resumes expired, drift made on the cluster behind the proxy's back is still seen and
self-healed. Trials are seeded (:mod:`faultbudget`); assertion messages carry the seed
and the trial so a failure can be replayed with ``TETHER_FAULT_SEED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from appmanifests import application, conditions_of
from faultbudget import SEED, trials
from faultplan import (
    CutWatch,
    Delay,
    Drop,
    ExpireWatch,
    Match,
    Rule,
    conflict,
    internal_error,
    service_unavailable,
    too_many_requests,
)
from faultproxy import FaultProxy

from tether.controller import ApplicationController
from tether.kube import KubeClient, KubeError, NotFound, load_kubeconfig
from tether.source import GitCache

if TYPE_CHECKING:
    from controllerharness import Harness
    from gitserver import RemoteRepo

NAMESPACE = "argocd"
HOOK = "argocd.argoproj.io/hook"
#: Requests for the controller's own objects: faults on the destination leave them be
#: where a plan says so (the management and destination cluster are one here).
NOT_ARGO = r"^(?!/apis/argoproj\.io/)"

WAVE = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: wave-{wave}
  annotations: {{argocd.argoproj.io/sync-wave: "{wave}"}}
data: {{wave: "{wave}", release: "{release}"}}
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example/web:1}]
"""
DOOMED = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: doomed
data: {fate: "removed from Git by the second commit"}
"""
PRE_SYNC = """
apiVersion: batch/v1
kind: Job
metadata:
  generateName: pre-
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: registry.example/migrate:1}]
"""
POST_SYNC = """
apiVersion: v1
kind: ConfigMap
metadata:
  generateName: post-
  annotations: {argocd.argoproj.io/hook: PostSync}
data: {phase: post}
"""

#: How a Running operation that waits to resume after an error begins its message.
RETRYING = "retrying after an error: "

#: Unrelated objects seeded beside each app: in its namespace and elsewhere.
BYSTANDERS = (("bystander-a", "dest"), ("bystander-b", "dest"), ("bystander-c", "default"))

#: Self-heal and retries quick enough for tests; no periodic refresh, so that whatever
#: the controller notices, it notices through its watches.
SETTINGS = {
    "timeout.reconciliation": "0s",
    "tether.dev/self-heal.backoff.duration": "200ms",
    "tether.dev/self-heal.backoff.factor": "1",
    "tether.dev/self-heal.backoff.max-duration": "200ms",
}
RETRY = {"limit": -1, "backoff": {"duration": "500ms", "factor": 2, "maxDuration": "2s"}}


def release_files(path: str, release: int) -> dict[str, str | None]:
    """The app's folder at a release: release 2 drops ``doomed`` and changes every wave."""
    files: dict[str, str | None] = {
        f"{path}/wave-{wave}.yaml": WAVE.format(wave=wave, release=release) for wave in range(3)
    }
    files[f"{path}/web.yaml"] = DEPLOYMENT
    files[f"{path}/pre.yaml"] = PRE_SYNC
    files[f"{path}/post.yaml"] = POST_SYNC
    files[f"{path}/doomed.yaml"] = DOOMED if release == 1 else None
    return files


def holds_data(data: dict[str, str]) -> Callable[[dict[str, Any] | None], bool]:
    """A predicate: the ConfigMap exists and holds exactly ``data``."""
    return lambda cm: cm is not None and cm.get("data") == data


def expected_configmaps(release: int) -> dict[str, dict[str, str]]:
    """The data of the app's ConfigMaps at a release."""
    wanted = {f"wave-{w}": {"wave": str(w), "release": str(release)} for w in range(3)}
    if release == 1:
        wanted["doomed"] = {"fate": "removed from Git by the second commit"}
    return wanted


# --- the rig ---------------------------------------------------------------------------


@dataclass
class Rig:
    """A controller that sees the cluster only through the proxy; the test sees it directly."""

    harness: Harness
    proxy: FaultProxy
    controller: ApplicationController

    @property
    def direct(self) -> KubeClient:
        """The test's own client of the cluster, which no fault touches."""
        return self.harness.client


@pytest.fixture
async def rig(management: Harness, local_cluster: Any, tmp_path: Path) -> AsyncIterator[Rig]:
    """``management`` plus a proxy in front of the cluster and a controller behind it."""
    await management.client.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": NAMESPACE},
            "data": SETTINGS,
        }
    )
    proxy = FaultProxy(
        local_cluster.base_url,
        local_cluster.ca_path,
        local_cluster.token,
        tmp_path / "proxy",
        rng=random.Random(SEED),
    )
    await proxy.start()
    client = KubeClient(load_kubeconfig(proxy.kubeconfig), timeout=15)
    controller = ApplicationController(
        client,
        GitCache(tmp_path / "git"),
        namespace=NAMESPACE,
        poll_interval=0.05,
        clock=management.clock,
    )
    try:
        async with asyncio.timeout(30):
            await controller.start()
        management.controller = controller
        yield Rig(management, proxy, controller)
    finally:
        await controller.close()
        await client.close()
        await proxy.close()


# --- what the test watches --------------------------------------------------------------


class HookLedger:
    """Counts every hook object ADDED to the cluster, by namespace and name."""

    def __init__(self, client: KubeClient) -> None:
        self.created: Counter[tuple[str, str]] = Counter()
        self._client = client
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> HookLedger:
        """Begin counting (Jobs and ConfigMaps: the kinds of the app's hooks)."""
        self._tasks = [
            asyncio.create_task(self._record("batch/v1", "Job")),
            asyncio.create_task(self._record("v1", "ConfigMap")),
        ]
        return self

    async def stop(self) -> None:
        """Stop counting, once the last events have had time to arrive."""
        await asyncio.sleep(0.3)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _record(self, api_version: str, kind: str) -> None:
        seen: set[str] = set()  # uids: a relist after a reconnect is not a creation
        while True:
            try:
                async for event in self._client.watch(api_version, kind):
                    metadata = event.object.get("metadata") or {}
                    annotations = metadata.get("annotations") or {}
                    uid = metadata.get("uid", "")
                    if event.type == "ADDED" and HOOK in annotations and uid not in seen:
                        seen.add(uid)
                        self.created[(metadata["namespace"], metadata["name"])] += 1
            except KubeError:
                await asyncio.sleep(0.1)

    def of(self, namespace: str, prefix: str) -> dict[str, int]:
        """How often each hook of ``namespace`` whose name starts with ``prefix`` was created."""
        return {
            n: c for (ns, n), c in self.created.items() if ns == namespace and n.startswith(prefix)
        }


@dataclass
class TruthWatch:
    """Samples an app's status while faults happen and records every untruth it finds.

    - Synced at a commit means the cluster holds that commit's ConfigMaps, as they are;
    - a Failed or Errored operation, or a Running one waiting to retry after an error,
      names one of ``causes`` in its message; with no ``causes``, the fault is one the
      client absorbs and no operation may fail.
    """

    harness: Harness
    app: str
    destination: str
    releases: dict[str, int]
    causes: tuple[str, ...]
    untruths: list[str] = field(default_factory=list)
    #: Messages of Failed/Errored operations, and of Running ones waiting to retry.
    failures: list[str] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> TruthWatch:
        """Begin sampling the app's status."""
        self._task = asyncio.create_task(self._sample())
        return self

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sample(self) -> None:
        while True:
            try:
                app = await self.harness.app(self.app)
            except NotFound:
                app = {}
            status = app.get("status") or {}
            await self._check_synced(status)
            state = status.get("operationState") or {}
            message = str(state.get("message", ""))
            if message.startswith(RETRYING) and message not in self.retries:
                self.retries.append(message)
                if not any(cause in message for cause in self.causes):
                    self.untruths.append(f"operation retrying without its cause: {message}")
            if state.get("phase") in ("Failed", "Error") and message not in self.failures:
                self.failures.append(message)
                if not self.causes:
                    self.untruths.append(
                        f"operation {state['phase']} on an absorbed fault: {message}"
                    )
                elif not any(cause in message for cause in self.causes):
                    self.untruths.append(f"operation {state['phase']} without its cause: {message}")
            await asyncio.sleep(0.05)

    async def _check_synced(self, status: dict[str, Any]) -> None:
        sync = status.get("sync") or {}
        release = self.releases.get(str(sync.get("revision", "")))
        if sync.get("status") != "Synced" or release is None:
            return
        for name, data in expected_configmaps(release).items():
            try:
                live = await self.harness.client.get("v1", "ConfigMap", name, self.destination)
            except NotFound:
                live = None
            if (live or {}).get("data") != data:
                shown = (live or {}).get("data")
                self.untruths.append(f"Synced at release {release} while {name} is {shown}")


# --- one trial --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A fault plan and the words by which a failed operation names its cause.

    No ``causes``: the client absorbs the fault (it waits out ``Retry-After``, or the
    server is merely slow), so no operation may fail.
    """

    name: str
    rules: Callable[[str], tuple[Rule, ...]]
    causes: tuple[str, ...]
    #: The rules of which one at least must have fired for the trial to mean anything.
    main: tuple[str, ...]
    #: The plan fails a request of the first sync attempt for sure, so a Failed or
    #: retrying operation naming the cause must be seen.
    fails_first_sync: bool = False
    #: No sync attempt fails, so each successful sync ran its PreSync hook exactly once.
    one_hook_per_sync: bool = False
    #: The plan is in force before the app exists (its first sync meets it for sure).
    plan_first: bool = False


def first_apply_of(destination: str) -> Match:
    """The first real (not dry-run) apply of an object of the app."""
    return Match.of(verbs=("apply",), path=f"/namespaces/{destination}/", query={"dryRun": None})


def first_hook_read_of(destination: str) -> Match:
    """The first read of the app's PreSync hook Job (the sync awaits its completion)."""
    return Match.of(verbs=("get",), path=f"/namespaces/{destination}/jobs/pre-")


SCENARIOS = (
    Scenario(
        "500 on writes",
        lambda dest: (
            Rule("first-500", internal_error(), first_apply_of(dest), limit=1),
            Rule("500", internal_error(), Match.of(writes=True), probability=0.2),
            Rule("500-lost", internal_error(forward_first=True), Match.of(writes=True), 0.05),
        ),
        ("Internal error occurred",),
        main=("500", "first-500", "500-lost"),
        fails_first_sync=True,
    ),
    Scenario(
        "500 on reads",
        lambda dest: (
            Rule("first-500", internal_error(), first_hook_read_of(dest), limit=1),
            Rule("500", internal_error(), Match.of(verbs=("get", "list")), probability=0.2),
        ),
        ("Internal error occurred",),
        main=("500", "first-500"),
        fails_first_sync=True,
    ),
    Scenario(
        "lost answer to a hook's creation",
        lambda dest: (
            Rule(
                "hook-lost",
                internal_error(forward_first=True),
                Match.of(verbs=("create",), path=f"/namespaces/{dest}/jobs$"),
                limit=1,
            ),
        ),
        ("Internal error occurred",),
        main=("hook-lost",),
        one_hook_per_sync=True,
        plan_first=True,
    ),
    Scenario(
        "429 bursts",
        lambda dest: (
            Rule("429", too_many_requests(1), Match.of(path=NOT_ARGO), probability=0.5, limit=20),
        ),
        (),
        main=("429",),
    ),
    Scenario(
        "409 on apply",
        lambda dest: (
            Rule("first-409", conflict(), first_apply_of(dest), limit=1),
            Rule("409", conflict(), Match.of(verbs=("apply",)), probability=0.3),
        ),
        ("Operation cannot be fulfilled",),
        main=("409", "first-409"),
        fails_first_sync=True,
    ),
    Scenario(
        "slow API server",
        lambda dest: (Rule("slow", Delay(0.1, 0.5)),),
        (),
        main=("slow",),
    ),
)


async def seed_bystanders(rig: Rig, destination: str) -> dict[tuple[str, str], str]:
    """Create the unrelated objects; returns their uids."""
    await rig.direct.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": destination}}
    )
    uids = {}
    for name, where in BYSTANDERS:
        namespace = destination if where == "dest" else where
        created = await rig.direct.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{destination}-{name}", "namespace": namespace},
                "data": {"owner": "somebody else"},
            }
        )
        uids[(namespace, created["metadata"]["name"])] = created["metadata"]["uid"]
    return uids


def app_manifest(name: str, repo: RemoteRepo, destination: str) -> dict[str, Any]:
    """The app: automated with prune and selfHeal, retried without limit."""
    manifest = application(
        name,
        repo.url_file,
        destination,
        path=name,
        automated={"prune": True, "selfHeal": True},
    )
    manifest["spec"]["syncPolicy"]["retry"] = RETRY
    return manifest


async def assert_converged(
    rig: Rig,
    name: str,
    destination: str,
    sha: str,
    bystanders: dict[tuple[str, str], str],
    ledger: HookLedger,
    replay: str,
) -> None:
    """Everything that must hold once the faults are gone."""
    harness = rig.harness
    app = await harness.wait_app(
        name,
        lambda a: harness.settled(a) and a["status"]["sync"].get("revision") == sha,
        seconds=45,
    )
    resources = sorted(r["name"] for r in app["status"]["resources"])
    assert resources == ["wave-0", "wave-1", "wave-2", "web"], replay
    assert app["status"]["history"][-1]["revision"] == sha, replay
    live = {
        cm["metadata"]["name"]: cm
        for cm in (await rig.direct.list("v1", "ConfigMap", destination)).items
    }
    for cm_name, data in expected_configmaps(2).items():
        assert live[cm_name]["data"] == data, f"{replay}: {cm_name}"
    assert "doomed" not in live, f"{replay}: the object removed from Git was not pruned"
    for (namespace, cm_name), uid in bystanders.items():
        found = await rig.direct.get("v1", "ConfigMap", cm_name, namespace)
        assert found["metadata"]["uid"] == uid, f"{replay}: {cm_name} was replaced"
    hooks = {n for n, cm in live.items() if HOOK in (cm["metadata"].get("annotations") or {})}
    unexplained = (
        set(live)
        - set(expected_configmaps(2))
        - hooks
        - {n for ns, n in bystanders if ns == destination}
        - {"kube-root-ca.crt"}
    )
    assert not unexplained, f"{replay}: unexpected objects {unexplained}"
    await ledger.stop()
    pre, post = ledger.of(destination, "pre-"), ledger.of(destination, "post-")
    assert pre, f"{replay}: the PreSync hook never ran: {ledger.created}"
    assert post, f"{replay}: the PostSync hook never ran: {ledger.created}"
    twice = {n: c for n, c in (pre | post).items() if c > 1}
    assert not twice, f"{replay}: hooks created more than once: {twice}"
    results = app["status"]["operationState"]["syncResult"]["resources"]
    completed = [r for r in results if r.get("hookType") and r.get("hookPhase") == "Succeeded"]
    assert len(completed) == 2, f"{replay}: {results}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
async def test_apps_converge_truthfully_through_api_faults(rig: Rig, scenario: Scenario) -> None:
    harness = rig.harness
    rng = random.Random(f"{SEED}/{scenario.name}")
    for trial in range(trials(1, 4)):
        replay = f"{scenario.name}, seed {SEED}, trial {trial}"
        name = f"faulty-{trial}"
        destination = f"dest-{trial}"
        bystanders = await seed_bystanders(rig, destination)
        first = harness.repo.push(release_files(name, 1), f"{name}: release 1")
        before = Counter(rig.proxy.injected)
        ledger = HookLedger(rig.direct).start()
        truth = TruthWatch(harness, name, destination, {first: 1}, scenario.causes).start()
        try:
            if scenario.plan_first:
                rig.proxy.set_plan(*scenario.rules(destination))
            await rig.direct.apply(app_manifest(name, harness.repo, destination))
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            if not scenario.plan_first:
                rig.proxy.set_plan(*scenario.rules(destination))
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            second = harness.repo.push(release_files(name, 2), f"{name}: release 2")
            truth.releases[second] = 2
            await harness.refresh(name)  # as a webhook would
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            rig.proxy.clear()
            await assert_converged(rig, name, destination, second, bystanders, ledger, replay)
        finally:
            rig.proxy.clear()
            await truth.stop()
            await ledger.stop()
        fired = sum(rig.proxy.injected[rule] - before[rule] for rule in scenario.main)
        assert fired > 0, f"{replay}: the fault never fired"
        assert not truth.untruths, f"{replay}: {truth.untruths}"
        if scenario.one_hook_per_sync:
            syncs = len((await harness.app(name))["status"]["history"])
            hooks = ledger.of(destination, "pre-")
            assert len(hooks) == syncs, f"{replay}: {syncs} syncs ran PreSync hooks {hooks}"
        if scenario.fails_first_sync:
            reported = truth.failures + truth.retries
            assert reported, f"{replay}: the failed first sync was never reported"


async def test_an_unavailable_api_server_makes_the_comparison_unknown(rig: Rig) -> None:
    harness = rig.harness
    name, destination = "unreachable", "dest-unreachable"
    bystanders = await seed_bystanders(rig, destination)
    first = harness.repo.push(release_files(name, 1), f"{name}: release 1")
    ledger = HookLedger(rig.direct).start()
    await rig.direct.apply(app_manifest(name, harness.repo, destination))
    await harness.wait_app(
        name, lambda a: harness.settled(a) and a["status"]["sync"]["revision"] == first
    )
    # Every request but those for the controller's own Applications: 503; and the
    # watches already open break, as they would with the server gone.
    rig.proxy.set_plan(Rule("503", service_unavailable(), Match.of(path=NOT_ARGO)))
    rig.proxy.sever_watches()
    second = harness.repo.push(release_files(name, 2), f"{name}: release 2")
    await harness.refresh(name)
    app = await harness.wait_app(name, lambda a: harness.sync_status(a) == "Unknown")
    condition = conditions_of(app).get("ComparisonError", "")
    assert "failed to load live state of cluster" in condition, app["status"]
    assert "the server is currently unable to handle the request" in condition
    # What was last known stays, marked as such by the Unknown sync status.
    assert len(app["status"]["resources"]) == 5
    rig.proxy.clear()
    await assert_converged(rig, name, destination, second, bystanders, ledger, "503 everywhere")
    assert "ComparisonError" not in conditions_of(await harness.app(name))


WATCH_FAULTS = (
    Rule("cut", CutWatch(seconds=1.0, abort=True), probability=0.5),
    Rule("end", CutWatch(seconds=1.5)),
    Rule("gone", ExpireWatch(), probability=0.5),
    Rule("drop-list", Drop(), Match.of(verbs=("list",)), probability=0.2),
)


async def test_drift_is_healed_through_dropped_watches(rig: Rig) -> None:
    harness = rig.harness
    rng = random.Random(f"{SEED}/watches")
    name, destination = "drifting", "dest-drifting"
    bystanders = await seed_bystanders(rig, destination)
    sha = harness.repo.push(release_files(name, 1), f"{name}: release 1")
    await rig.direct.apply(app_manifest(name, harness.repo, destination))
    await harness.wait_app(
        name, lambda a: harness.settled(a) and a["status"]["sync"]["revision"] == sha
    )
    rig.proxy.set_plan(*WATCH_FAULTS)
    rig.proxy.sever_watches()  # every watch opens again, under the plan
    for trial in range(trials(3, 10)):
        replay = f"watches, seed {SEED}, trial {trial}"
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        if rng.random() < 0.5:
            rig.proxy.sever_watches()  # the drift lands while the controller is blind
        victim = f"wave-{rng.randrange(3)}"
        wanted = expected_configmaps(1)[victim]
        if rng.random() < 0.5:
            await rig.direct.patch(
                "v1", "ConfigMap", victim, destination, {"data": {"release": f"drift-{trial}"}}
            )
        else:
            await rig.direct.delete("v1", "ConfigMap", victim, destination)
        healed = await harness.wait_object(
            "v1",
            "ConfigMap",
            victim,
            destination,
            holds_data(wanted),
            seconds=20,
        )
        assert healed is not None, replay
    assert rig.proxy.injected["cut"] + rig.proxy.injected["end"] > 0
    rig.proxy.clear()
    await harness.wait_app(name, harness.settled)
    for (namespace, cm_name), uid in bystanders.items():
        found = await rig.direct.get("v1", "ConfigMap", cm_name, namespace)
        assert found["metadata"]["uid"] == uid, f"watches: {cm_name} was replaced"
