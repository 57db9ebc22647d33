"""Sync operations against a real local cluster.

No workload controllers are assumed here: where a hook Job must finish, the test plays
the Job controller by writing the Job's status through the API, as envtest-based
controller tests do. Order is asserted through the cluster's global resourceVersion,
which increases with every write.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from tether.kube import KubeClient, NotFound, load_kubeconfig
from tether.live import TrackingMethod, tracking_app_of
from tether.model import OperationPhase, ResourceKey, ResultCode, keys
from tether.model.operation import Operation, OperationState, SyncOperation
from tether.model.project import AppProject, default_project
from tether.model.syncoptions import SyncOptions
from tether.sync import Destination, SyncContext, name_hooks, plan_sync, run_sync, sync_id_of

APP = "shop"
_counter = itertools.count()


@pytest.fixture
async def client(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as kube:
        yield kube


@pytest.fixture
async def namespace(client: KubeClient) -> str:
    name = f"sync-{next(_counter)}-{datetime.now(UTC).strftime('%H%M%S%f')}"
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def cm(name: str, ns: str, wave: int = 0, **annotations: str) -> dict[str, Any]:
    notes = {keys.SYNC_WAVE: str(wave), **annotations}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "annotations": notes},
        "data": {"k": name},
    }


def job(name: str, ns: str, hook: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": {keys.HOOK: hook, **annotations},
        },
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}],
                }
            }
        },
    }


class Recorder:
    """Keeps every saved operation state, as the controller would persist them."""

    def __init__(self) -> None:
        self.states: list[OperationState] = []

    async def __call__(self, state: OperationState) -> None:
        self.states.append(state)


def new_state(prune: bool = True, dry_run: bool = False) -> OperationState:
    return OperationState(
        operation=Operation(sync=SyncOperation(revision="abc123", prune=prune, dry_run=dry_run)),
        phase=OperationPhase.RUNNING,
        started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


async def tracked(client: KubeClient, ns: str) -> dict[ResourceKey, dict[str, Any]]:
    found: dict[ResourceKey, dict[str, Any]] = {}
    for api_version, kind in (("v1", "ConfigMap"), ("v1", "Secret"), ("batch/v1", "Job")):
        for item in (await client.list(api_version, kind, ns)).items:
            if tracking_app_of(item, TrackingMethod.ANNOTATION) == APP:
                found[ResourceKey.of(item)] = item
    return found


async def sync(
    client: KubeClient,
    ns: str,
    desired: Iterable[dict[str, Any]],
    *,
    state: OperationState | None = None,
    project: AppProject | None = None,
    options: SyncOptions | None = None,
    save: Recorder | None = None,
    after_step: Callable[[int], None] | None = None,
    assess: Callable[[Any], Any] | None = None,
) -> OperationState:
    state = state or new_state()
    desired = name_hooks(list(desired), sync_id_of(state))
    desired_keys = {ResourceKey.of(o) for o in desired}
    live = await tracked(client, ns)
    for obj in desired:
        key = ResourceKey.of(obj)
        if key not in live:
            with contextlib.suppress(NotFound):
                live[key] = await client.get(obj["apiVersion"], key.kind, key.name, key.namespace)
    plan = plan_sync(
        desired,
        live,
        options=options or SyncOptions(),
        prune=bool(state.operation.sync and state.operation.sync.prune),
        prune_candidates=[k for k in live if k not in desired_keys and k.kind != "Job"],
    )
    context = SyncContext(
        client=client,
        app_name=APP,
        project=project or default_project("argocd"),
        destination=Destination(server="https://kubernetes.default.svc", namespace=ns),
        save=save or Recorder(),
        poll_interval=0.02,
        after_step=after_step,
    )
    if assess is not None:
        context.assess = assess
    return await asyncio.wait_for(run_sync(context, plan, state), 60)


async def version_of(client: KubeClient, api_version: str, kind: str, ns: str, name: str) -> int:
    obj = await client.get(api_version, kind, name, ns)
    return int(obj["metadata"]["resourceVersion"])


async def complete_jobs(client: KubeClient, ns: str, *, fail: Iterable[str] = ()) -> None:
    """Play the Job controller: mark every Job of ``ns`` Complete (or Failed)."""
    failing = set(fail)
    while True:
        for item in (await client.list("batch/v1", "Job", ns)).items:
            name = item["metadata"]["name"]
            if (item.get("status") or {}).get("conditions"):
                continue
            condition = "Failed" if name in failing else "Complete"
            status = {
                "conditions": [{"type": condition, "status": "True", "reason": "Test"}],
                "failed" if condition == "Failed" else "succeeded": 1,
            }
            await client.patch(
                "batch/v1", "Job", name, ns, {"status": status}, subresource="status"
            )
        await asyncio.sleep(0.02)


async def test_waves_apply_in_order_and_report_results(client: KubeClient, namespace: str) -> None:
    state = await sync(
        client, namespace, [cm("b", namespace, 2), cm("a", namespace, 1), cm("c", namespace, 2)]
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    a, b, c = [await version_of(client, "v1", "ConfigMap", namespace, n) for n in "abc"]
    assert a < b
    assert a < c
    assert state.sync_result is not None
    assert {r.name: r.status for r in state.sync_result.resources} == {
        "a": ResultCode.SYNCED,
        "b": ResultCode.SYNCED,
        "c": ResultCode.SYNCED,
    }
    live = await client.get("v1", "ConfigMap", "a", namespace)
    assert live["metadata"]["annotations"][keys.TRACKING_ID] == f"{APP}:/ConfigMap:{namespace}/a"
    again = await sync(
        client, namespace, [cm("b", namespace, 2), cm("a", namespace, 1), cm("c", namespace, 2)]
    )
    assert again.sync_result is not None
    assert {r.message for r in again.sync_result.resources} == {
        "configmap/a unchanged",
        "configmap/b unchanged",
        "configmap/c unchanged",
    }


async def test_hooks_run_around_the_sync_phase(client: KubeClient, namespace: str) -> None:
    completer = asyncio.create_task(complete_jobs(client, namespace))
    try:
        desired = [
            cm("app", namespace),
            job("migrate", namespace, "PreSync"),
            job("smoke", namespace, "PostSync", **{keys.HOOK_DELETE_POLICY: "HookSucceeded"}),
        ]
        save = Recorder()
        state = await sync(client, namespace, desired, save=save)
    finally:
        completer.cancel()
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    migrate = await version_of(client, "batch/v1", "Job", namespace, "migrate")
    app = await version_of(client, "v1", "ConfigMap", namespace, "app")
    assert migrate < app
    with pytest.raises(NotFound):  # HookSucceeded removed it once it succeeded
        await client.get("batch/v1", "Job", "smoke", namespace)
    assert state.sync_result is not None
    hooks = {r.name: r.hook_phase for r in state.sync_result.resources if r.hook_type}
    assert hooks == {"migrate": OperationPhase.SUCCEEDED, "smoke": OperationPhase.SUCCEEDED}
    messages = [s.message for s in save.states]
    assert any("PreSync hook" in m for m in messages)


async def test_a_failed_hook_fails_the_sync_and_runs_sync_fail_hooks(
    client: KubeClient, namespace: str
) -> None:
    completer = asyncio.create_task(complete_jobs(client, namespace, fail=["migrate"]))
    try:
        desired = [
            cm("app", namespace),
            job("migrate", namespace, "PreSync"),
            cm("on-failure", namespace, **{keys.HOOK: "SyncFail"}),
        ]
        state = await sync(client, namespace, desired)
    finally:
        completer.cancel()
    assert state.phase is OperationPhase.FAILED
    assert "PreSync hook" in state.message
    assert "migrate" in state.message
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "app", namespace)
    await client.get("v1", "ConfigMap", "on-failure", namespace)


async def test_prune_respects_options(client: KubeClient, namespace: str) -> None:
    await sync(
        client,
        namespace,
        [
            cm("keep", namespace),
            cm("gone", namespace),
            cm("held", namespace, **{keys.SYNC_OPTIONS: "Prune=false"}),
        ],
    )
    state = await sync(client, namespace, [cm("keep", namespace)])
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "gone", namespace)
    await client.get("v1", "ConfigMap", "held", namespace)
    assert state.sync_result is not None
    results = {r.name: r.status for r in state.sync_result.resources}
    assert results["gone"] is ResultCode.PRUNED
    assert results["held"] is ResultCode.PRUNE_SKIPPED


async def test_without_prune_nothing_is_deleted(client: KubeClient, namespace: str) -> None:
    await sync(client, namespace, [cm("a", namespace), cm("b", namespace)])
    state = await sync(client, namespace, [cm("a", namespace)], state=new_state(prune=False))
    assert state.phase is OperationPhase.SUCCEEDED
    await client.get("v1", "ConfigMap", "b", namespace)


async def test_an_invalid_object_fails_the_dry_run_and_nothing_is_applied(
    client: KubeClient, namespace: str
) -> None:
    bad = cm("Not_A_Valid_Name", namespace)
    state = await sync(client, namespace, [cm("good", namespace), bad])
    assert state.phase is OperationPhase.FAILED
    assert "Not_A_Valid_Name" in state.message
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "good", namespace)


async def test_project_violations_apply_nothing(client: KubeClient, namespace: str) -> None:
    project = AppProject.from_dict(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "strict", "namespace": "argocd"},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": namespace}],
                "namespaceResourceBlacklist": [{"group": "", "kind": "Secret"}],
            },
        }
    )
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": namespace},
        "stringData": {"p": "hunter2"},
    }
    state = await sync(client, namespace, [cm("good", namespace), secret], project=project)
    assert state.phase is OperationPhase.FAILED
    assert "Secret" in state.message
    assert "hunter2" not in state.message
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "good", namespace)
    elsewhere = cm("x", "default")
    state = await sync(client, namespace, [elsewhere], project=project)
    assert state.phase is OperationPhase.FAILED
    assert "destination" in state.message


async def test_dry_run_sync_writes_nothing(client: KubeClient, namespace: str) -> None:
    state = await sync(client, namespace, [cm("a", namespace)], state=new_state(dry_run=True))
    assert state.phase is OperationPhase.SUCCEEDED
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "a", namespace)


class Crash(Exception):
    pass


async def test_a_crash_after_any_step_resumes_to_the_same_end_state(
    client: KubeClient, namespace: str
) -> None:
    """Kill the engine after step N, for every N of a 3-wave sync with hooks; resume."""

    def desired(ns: str) -> list[dict[str, Any]]:
        return [
            job("pre", ns, "PreSync"),
            cm("w0", ns, 0),
            cm("w1", ns, 1),
            cm("w2", ns, 2),
            job("post", ns, "PostSync"),
        ]

    steps = 5  # PreSync, three Sync waves, PostSync
    for crash_after in range(1, steps + 1):
        ns = f"{namespace}-{crash_after}"
        await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        completer = asyncio.create_task(complete_jobs(client, ns))
        save = Recorder()

        def crash(done: int, limit: int = crash_after) -> None:
            if done == limit:
                raise Crash

        try:
            with pytest.raises(Crash):
                await sync(client, ns, desired(ns), save=save, after_step=crash)
            hook_uids = {
                name: (await client.get("batch/v1", "Job", name, ns))["metadata"]["uid"]
                for name in ("pre", "post")
                if await _exists(client, ns, name)
            }
            state = await sync(client, ns, desired(ns), state=save.states[-1])
        finally:
            completer.cancel()
        assert state.phase is OperationPhase.SUCCEEDED, (crash_after, state.message)
        for name in ("w0", "w1", "w2"):
            await client.get("v1", "ConfigMap", name, ns)
        for name, uid in hook_uids.items():  # no hook ran twice
            assert (await client.get("batch/v1", "Job", name, ns))["metadata"]["uid"] == uid


async def _exists(client: KubeClient, ns: str, name: str) -> bool:
    try:
        await client.get("batch/v1", "Job", name, ns)
    except NotFound:
        return False
    return True


async def test_replace_and_create_namespace(client: KubeClient, namespace: str) -> None:
    options = SyncOptions.parse(["Replace=true"])
    state = await sync(client, namespace, [cm("r", namespace)], options=options)
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    state = await sync(
        client, namespace, [cm("r", namespace) | {"data": {"k": "v2"}}], options=options
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert (await client.get("v1", "ConfigMap", "r", namespace))["data"] == {"k": "v2"}


async def test_a_crash_between_creating_a_hook_and_recording_it_does_not_rerun_it(
    client: KubeClient, namespace: str
) -> None:
    class CrashOnHookStart(Recorder):
        async def __call__(self, state: OperationState) -> None:
            await super().__call__(state)
            if state.message.startswith("running PreSync hook"):
                raise Crash

    completer = asyncio.create_task(complete_jobs(client, namespace))
    try:
        desired = [job("pre", namespace, "PreSync"), cm("app", namespace)]
        save = CrashOnHookStart()
        with pytest.raises(Crash):
            await sync(client, namespace, desired, save=save)
        uid = (await client.get("batch/v1", "Job", "pre", namespace))["metadata"]["uid"]
        assert len(save.states) == 1  # the crash hit the first save, right after creating
        # Resume from the operation as it was before anything was recorded.
        state = await sync(client, namespace, desired, state=new_state())
    finally:
        completer.cancel()
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert (await client.get("batch/v1", "Job", "pre", namespace))["metadata"]["uid"] == uid


async def test_before_hook_creation_replaces_a_hook_left_by_an_earlier_sync(
    client: KubeClient, namespace: str
) -> None:
    hook = cm("pre", namespace, **{keys.HOOK: "PreSync"})
    first = await sync(client, namespace, [hook, cm("app", namespace)])
    assert first.phase is OperationPhase.SUCCEEDED, first.message
    uid = (await client.get("v1", "ConfigMap", "pre", namespace))["metadata"]["uid"]
    later = OperationState(
        operation=Operation(sync=SyncOperation(revision="def456", prune=True)),
        phase=OperationPhase.RUNNING,
        started_at=datetime(2026, 1, 3, tzinfo=UTC),
    )
    second = await sync(client, namespace, [hook, cm("app", namespace)], state=later)
    assert second.phase is OperationPhase.SUCCEEDED, second.message
    assert (await client.get("v1", "ConfigMap", "pre", namespace))["metadata"]["uid"] != uid


async def test_hook_failed_policy_deletes_a_failed_hook(client: KubeClient, namespace: str) -> None:
    completer = asyncio.create_task(complete_jobs(client, namespace, fail=["migrate"]))
    try:
        failing = job("migrate", namespace, "PreSync", **{keys.HOOK_DELETE_POLICY: "HookFailed"})
        state = await sync(client, namespace, [failing, cm("app", namespace)])
    finally:
        completer.cancel()
    assert state.phase is OperationPhase.FAILED
    with pytest.raises(NotFound):
        await client.get("batch/v1", "Job", "migrate", namespace)


async def test_a_degraded_object_does_not_hold_the_sync(client: KubeClient, namespace: str) -> None:
    """As in Argo CD: the operation completes, the app's health reports Degraded."""
    from tether.model import Health, HealthStatus

    def degraded_configmaps(obj: Any) -> Health | None:
        return Health(HealthStatus.DEGRADED, "broken") if obj.get("kind") == "ConfigMap" else None

    state = await sync(
        client,
        namespace,
        [cm("first", namespace, 0), cm("second", namespace, 1)],
        assess=degraded_configmaps,
    )
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    await client.get("v1", "ConfigMap", "second", namespace)


async def test_a_progressing_object_holds_the_next_wave(client: KubeClient, namespace: str) -> None:
    from tether.model import Health, HealthStatus

    def progressing_first(obj: Any) -> Health | None:
        if obj.get("metadata", {}).get("name") == "first":
            return Health(HealthStatus.PROGRESSING, "starting")
        return None

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            sync(
                client,
                namespace,
                [cm("first", namespace, 0), cm("second", namespace, 1)],
                assess=progressing_first,
            ),
            2,
        )
    with pytest.raises(NotFound):
        await client.get("v1", "ConfigMap", "second", namespace)
