"""The fault proxy itself: transparent when its plan is empty, each fault as a server's.

Clients are the real ones: ``kubectl`` (client-go) and :class:`~tether.kube.KubeClient`,
both through the kubeconfig the proxy writes, against the shared local cluster (each
test in a namespace of its own).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faultplan import (
    CutWatch,
    Delay,
    Drop,
    ExpireWatch,
    FaultPlan,
    Match,
    RequestInfo,
    Respond,
    Rule,
    classify,
    conflict,
    internal_error,
    service_unavailable,
    too_many_requests,
)
from faultproxy import FaultProxy

from tether.kube import (
    Conflict,
    Gone,
    KubeClient,
    KubeError,
    NotFound,
    TooManyRequests,
    Unavailable,
    WatchEvent,
    load_kubeconfig,
)
from tether.tools import find_tool

_namespaces = itertools.count()


def configmap(name: str, namespace: str, color: str = "blue") -> dict[str, Any]:
    """A ConfigMap manifest."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"color": color},
    }


@pytest.fixture
async def direct(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    """A client of the cluster itself, bypassing the proxy."""
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as client:
        yield client


@pytest.fixture
async def namespace(direct: KubeClient) -> str:
    """A namespace of the test's own on the shared cluster."""
    name = f"proxy-{next(_namespaces)}"
    await direct.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture
async def proxy(local_cluster_session: Any, tmp_path: Path) -> AsyncIterator[FaultProxy]:
    """A proxy of the test's own in front of the shared cluster, its plan empty."""
    cluster = local_cluster_session
    async with FaultProxy(
        cluster.base_url, cluster.ca_path, cluster.token, tmp_path / "proxy", rng=random.Random(7)
    ) as running:
        yield running


@pytest.fixture
async def client(proxy: FaultProxy) -> AsyncIterator[KubeClient]:
    """A client of the cluster through the proxy."""
    async with KubeClient(load_kubeconfig(proxy.kubeconfig), timeout=10) as through:
        yield through


async def kubectl(proxy: FaultProxy, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run kubectl against the proxy (in a subprocess: the proxy serves from this loop)."""
    process = await asyncio.create_subprocess_exec(
        str(find_tool("kubectl")),
        "--kubeconfig",
        str(proxy.kubeconfig),
        "--request-timeout=20s",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# --- classifying requests (no server) ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "content_type", "expected"),
    [
        ("GET", "/version", {}, "", ("get", "", "", "", "")),
        ("GET", "/api/v1/namespaces", {}, "", ("list", "namespaces", "", "", "")),
        ("GET", "/api/v1/namespaces/a", {}, "", ("get", "namespaces", "", "a", "")),
        ("GET", "/api/v1/namespaces/a/configmaps", {}, "", ("list", "configmaps", "a", "", "")),
        (
            "GET",
            "/api/v1/configmaps",
            {"watch": "true"},
            "",
            ("watch", "configmaps", "", "", ""),
        ),
        ("POST", "/api/v1/namespaces/a/pods", {}, "", ("create", "pods", "a", "", "")),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/a/deployments/web",
            {},
            "application/apply-patch+yaml",
            ("apply", "deployments", "a", "web", ""),
        ),
        (
            "PATCH",
            "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/x",
            {},
            "application/json-patch+json",
            ("patch", "applications", "argocd", "x", ""),
        ),
        (
            "PUT",
            "/apis/apps/v1/namespaces/a/deployments/web/status",
            {},
            "",
            ("update", "deployments", "a", "web", "status"),
        ),
        ("DELETE", "/api/v1/namespaces/a/secrets/s", {}, "", ("delete", "secrets", "a", "s", "")),
        (
            "DELETE",
            "/api/v1/namespaces/a/secrets",
            {},
            "",
            ("deletecollection", "secrets", "a", "", ""),
        ),
    ],
)
def test_requests_are_classified_as_the_api_server_does(
    method: str,
    path: str,
    query: dict[str, str],
    content_type: str,
    expected: tuple[str, str, str, str, str],
) -> None:
    info = classify(method, path, query, content_type)
    assert (info.verb, info.resource, info.namespace, info.name, info.subresource) == expected


@pytest.mark.parametrize(
    ("match", "info", "matches"),
    [
        (Match.of(writes=True), classify("PATCH", "/api/v1/namespaces/a/pods/p", {}), True),
        (Match.of(writes=True), classify("GET", "/api/v1/namespaces/a/pods/p", {}), False),
        (
            Match.of(query={"dryRun": "All"}),
            classify("PATCH", "/api/v1/namespaces/a/pods/p", {"dryRun": "All"}),
            True,
        ),
        (
            Match.of(query={"dryRun": None}),
            classify("PATCH", "/api/v1/namespaces/a/pods/p", {"dryRun": "All"}),
            False,
        ),
        (
            Match.of(path=r"^(?!/apis/argoproj\.io/)"),
            classify("GET", "/apis/argoproj.io/v1alpha1/applications", {}),
            False,
        ),
        (Match.of(methods=("get",)), classify("GET", "/version", {}), True),
    ],
)
def test_matches_select_requests(match: Match, info: RequestInfo, matches: bool) -> None:
    assert match(info) is matches


WATCH = classify("GET", "/api/v1/configmaps", {"watch": "true"})
RESUMED = classify("GET", "/api/v1/configmaps", {"watch": "true", "resourceVersion": "42"})
APPLY = classify("PATCH", "/api/v1/namespaces/a/configmaps/c", {}, "application/apply-patch+yaml")


@pytest.mark.parametrize(
    ("rules", "info", "delay", "answer", "cut", "fired"),
    [
        ((), APPLY, 0.0, None, None, {}),
        (
            (Rule("slow", Delay(0.2)), Rule("slower", Delay(0.3)), Rule("500", internal_error())),
            APPLY,
            0.5,
            internal_error(),
            None,
            {"slow": 1, "slower": 1, "500": 1},
        ),
        (
            (Rule("409", conflict()), Rule("500", internal_error())),
            APPLY,
            0.0,
            conflict(),
            None,
            {"409": 1},
        ),
        (
            (Rule("cut", CutWatch(events=1)), Rule("gone", ExpireWatch())),
            APPLY,
            0.0,
            None,
            None,
            {},
        ),
        (
            (Rule("cut", CutWatch(events=1)), Rule("gone", ExpireWatch())),
            WATCH,
            0.0,
            None,
            CutWatch(events=1),
            {"cut": 1},
        ),
        (
            (Rule("cut", CutWatch(events=1)), Rule("gone", ExpireWatch())),
            RESUMED,
            0.0,
            ExpireWatch(),
            CutWatch(events=1),
            {"cut": 1, "gone": 1},
        ),
        (
            (Rule("spent", Drop(), limit=0), Rule("next", Drop())),
            APPLY,
            0.0,
            Drop(),
            None,
            {"next": 1},
        ),
        ((Rule("never", Drop(), probability=0.0),), APPLY, 0.0, None, None, {}),
    ],
    ids=[
        "empty",
        "delays-add-up",
        "first-answer-wins",
        "watch-faults-skip-writes",
        "cut",
        "expire",
        "limit",
        "probability-zero",
    ],
)
def test_a_plan_decides_each_request(
    rules: tuple[Rule, ...],
    info: RequestInfo,
    delay: float,
    answer: Respond | Drop | ExpireWatch | None,
    cut: CutWatch | None,
    fired: dict[str, int],
) -> None:
    decision = FaultPlan(rules).decide(info, random.Random(0), {})
    assert decision.delay == pytest.approx(delay)
    assert (decision.answer, decision.cut) == (answer, cut)
    assert dict(Counter(decision.fired)) == fired


# --- transparency ------------------------------------------------------------------------


async def test_kubectl_works_through_the_proxy_unchanged(
    proxy: FaultProxy, direct: KubeClient, namespace: str
) -> None:
    manifest = json.dumps(configmap("through", namespace, "green"))
    code, out, err = await kubectl(proxy, "apply", "--server-side", "-f", "-", stdin=manifest)
    assert code == 0, err
    assert "serverside-applied" in out
    live = await direct.get("v1", "ConfigMap", "through", namespace)
    assert live["data"] == {"color": "green"}
    code, out, err = await kubectl(
        proxy, "get", "configmap", "through", "-n", namespace, "-o", "json"
    )
    assert code == 0, err
    assert json.loads(out)["metadata"]["uid"] == live["metadata"]["uid"]
    code, _, err = await kubectl(proxy, "delete", "configmap", "through", "-n", namespace)
    assert code == 0, err
    with pytest.raises(NotFound):
        await direct.get("v1", "ConfigMap", "through", namespace)
    assert not proxy.injected


async def test_watch_events_stream_through_as_they_happen(
    client: KubeClient, direct: KubeClient, namespace: str
) -> None:
    listed = await client.list("v1", "ConfigMap", namespace)
    seen: list[str] = []

    async def follow() -> None:
        async for event in client.watch(
            "v1", "ConfigMap", namespace, resource_version=listed.resource_version
        ):
            if event.type == "ADDED":
                seen.append(event.object["metadata"]["name"])
                if len(seen) == 2:
                    return

    watching = asyncio.create_task(follow())
    await asyncio.sleep(0.2)
    for name in ("first", "second"):
        await direct.apply(configmap(name, namespace))
    async with asyncio.timeout(10):
        await watching  # the stream is still open: events arrived one by one
    assert seen == ["first", "second"]


# --- each fault as a client sees it ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "error", "code", "reason", "cause"),
    [
        (Rule("500", internal_error()), Unavailable, 500, "InternalError", "etcdserver"),
        (Rule("429", too_many_requests(None)), TooManyRequests, 429, "TooManyRequests", "again"),
        (Rule("409", conflict()), Conflict, 409, "Conflict", 'configmaps "c"'),
        (Rule("503", service_unavailable()), Unavailable, 503, "ServiceUnavailable", "unable"),
        (Rule("drop", Drop()), Unavailable, 503, "", "ServerDisconnected"),
    ],
)
async def test_answers_reach_kube_client_as_a_server_sends_them(
    proxy: FaultProxy,
    client: KubeClient,
    direct: KubeClient,
    namespace: str,
    rule: Rule,
    error: type[KubeError],
    code: int,
    reason: str,
    cause: str,
) -> None:
    proxy.set_plan(
        Rule(rule.name, rule.fault, Match.of(verbs=("apply",), path=f"/namespaces/{namespace}/"))
    )
    with pytest.raises(error) as raised:
        await client.apply(configmap("c", namespace))
    assert (raised.value.code, raised.value.reason) == (code, reason)
    assert cause in str(raised.value)
    assert str(raised.value).startswith(f"failed to apply ConfigMap/{namespace}/c: ")
    with pytest.raises(NotFound):  # answered before forwarding: nothing was written
        await direct.get("v1", "ConfigMap", "c", namespace)
    assert proxy.injected[rule.name] >= 1
    await client.get("v1", "Namespace", namespace)  # other verbs pass


@pytest.mark.parametrize(
    "fault", [too_many_requests(1), service_unavailable(retry_after=1)], ids=lambda f: str(f.code)
)
async def test_kube_client_waits_out_retry_after_and_succeeds(
    proxy: FaultProxy, client: KubeClient, direct: KubeClient, namespace: str, fault: Respond
) -> None:
    proxy.set_plan(Rule("busy", fault, Match.of(verbs=("apply",)), limit=1))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.apply(configmap("patient", namespace))
    assert loop.time() - started >= 1.0  # it waited as asked (a lower bound only)
    assert proxy.injected["busy"] == 1
    assert (await direct.get("v1", "ConfigMap", "patient", namespace))["data"] == {"color": "blue"}


async def test_a_lost_answer_leaves_the_change_made(
    proxy: FaultProxy, client: KubeClient, direct: KubeClient, namespace: str
) -> None:
    proxy.set_plan(Rule("lost", internal_error(forward_first=True), Match.of(verbs=("create",))))
    with pytest.raises(Unavailable):
        await client.create(configmap("made", namespace))
    assert (await direct.get("v1", "ConfigMap", "made", namespace))["data"] == {"color": "blue"}
    assert proxy.forwarded[("create", 201)] == 1


async def test_kubectl_honours_retry_after_and_succeeds(
    proxy: FaultProxy, direct: KubeClient, namespace: str
) -> None:
    await direct.apply(configmap("busy", namespace))
    proxy.set_plan(Rule("429", too_many_requests(1), Match.of(verbs=("get",)), limit=2))
    code, out, err = await kubectl(proxy, "get", "configmap", "busy", "-n", namespace, "-o", "name")
    assert code == 0, err
    assert out.strip() == "configmap/busy"
    assert proxy.injected["429"] == 2


async def test_kubectl_reports_a_conflict_as_from_a_real_server(
    proxy: FaultProxy, namespace: str
) -> None:
    proxy.set_plan(Rule("409", conflict(), Match.of(verbs=("apply",))))
    manifest = json.dumps(configmap("contended", namespace))
    code, _, err = await kubectl(proxy, "apply", "--server-side", "-f", "-", stdin=manifest)
    assert code == 1
    # kubectl reads a 409 to a server-side apply as an apply conflict and says how to resolve it.
    assert 'Operation cannot be fulfilled on configmaps "contended"' in err
    assert "server-side-apply/#conflicts" in err


async def test_dry_runs_can_fail_alone(
    proxy: FaultProxy, client: KubeClient, direct: KubeClient, namespace: str
) -> None:
    proxy.set_plan(Rule("dry", internal_error(), Match.of(query={"dryRun": "All"})))
    with pytest.raises(Unavailable):
        await client.apply(configmap("dry", namespace), dry_run=True)
    await client.apply(configmap("dry", namespace))
    assert (await direct.get("v1", "ConfigMap", "dry", namespace))["data"]["color"] == "blue"


async def test_a_slow_server_answers_late(
    proxy: FaultProxy, client: KubeClient, namespace: str
) -> None:
    proxy.set_plan(
        Rule("slow", Delay(0.3, 0.4), Match.of(verbs=("get",), path=f"/namespaces/{namespace}$"))
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.get("v1", "Namespace", namespace)
    assert loop.time() - started >= 0.3  # the injected latency, a lower bound only
    assert proxy.injected["slow"] == 1


async def test_probability_draws_from_the_seeded_generator(
    proxy: FaultProxy, client: KubeClient, namespace: str
) -> None:
    proxy.rng = random.Random(11)
    twin = random.Random(11)
    expected = sum(twin.random() < 0.5 for _ in range(30))
    proxy.set_plan(Rule("coin", internal_error(), Match.of(verbs=("get",)), probability=0.5))
    failures = 0
    for _ in range(30):
        try:
            await client.get("v1", "Namespace", namespace)
        except Unavailable:
            failures += 1
    assert failures == proxy.injected["coin"] == expected


def test_a_limit_counts_what_fired_before() -> None:
    plan = FaultPlan((Rule("once", Drop(), limit=1), Rule("then", internal_error())))
    assert plan.decide(APPLY, random.Random(0), {"once": 1}).fired == ["then"]
    assert plan.decide(APPLY, random.Random(0), {}).fired == ["once"]


async def test_a_rule_stops_at_its_limit(
    proxy: FaultProxy, client: KubeClient, namespace: str
) -> None:
    rule = Rule("twice", service_unavailable(), Match.of(verbs=("get",)), limit=2)
    outcomes = []
    for plan in range(2):  # a new plan counts its limits afresh
        proxy.set_plan(rule)
        for _ in range(3):
            try:
                await client.get("v1", "Namespace", namespace)
                outcomes.append(f"{plan}: ok")
            except Unavailable:
                outcomes.append(f"{plan}: 503")
    assert outcomes == ["0: 503", "0: 503", "0: ok", "1: 503", "1: 503", "1: ok"]
    assert proxy.injected["twice"] == 4


# --- watches ------------------------------------------------------------------------------


async def drain(stream: AsyncIterator[WatchEvent], into: list[WatchEvent]) -> None:
    """Collect a watch's events into ``into`` until it ends (bounded)."""
    async with asyncio.timeout(10):
        async for event in stream:
            into.append(event)


async def fill(direct: KubeClient, namespace: str, count: int) -> None:
    """Create ``count`` ConfigMaps, so that a watch from scratch has events to send."""
    for index in range(count):
        await direct.apply(configmap(f"cm-{index}", namespace))


async def test_a_watch_ends_cleanly_after_n_events(
    proxy: FaultProxy, client: KubeClient, direct: KubeClient, namespace: str
) -> None:
    await fill(direct, namespace, 5)
    proxy.set_plan(Rule("cut", CutWatch(events=3)))
    events = []
    async with asyncio.timeout(10):
        async for event in client.watch("v1", "ConfigMap", namespace, bookmarks=False):
            events.append(event.object["metadata"]["name"])
    assert len(events) == 3


async def test_an_aborted_watch_is_a_dropped_connection(
    proxy: FaultProxy, client: KubeClient, direct: KubeClient, namespace: str
) -> None:
    await fill(direct, namespace, 3)
    proxy.set_plan(Rule("cut", CutWatch(events=2, abort=True)))
    events: list[WatchEvent] = []
    with pytest.raises(Unavailable):
        await drain(client.watch("v1", "ConfigMap", namespace, bookmarks=False), events)
    assert len(events) == 2


async def test_a_watch_ends_after_n_seconds(
    proxy: FaultProxy, client: KubeClient, namespace: str
) -> None:
    proxy.set_plan(Rule("cut", CutWatch(seconds=0.3)))
    async with asyncio.timeout(10):
        async for _ in client.watch("v1", "ConfigMap", namespace):
            pass
    assert proxy.injected["cut"] == 1


async def test_a_resumed_watch_is_told_gone(
    proxy: FaultProxy, client: KubeClient, direct: KubeClient, namespace: str
) -> None:
    await fill(direct, namespace, 1)
    listed = await client.list("v1", "ConfigMap", namespace)
    proxy.set_plan(Rule("gone", ExpireWatch()))
    resumed = client.watch("v1", "ConfigMap", namespace, resource_version=listed.resource_version)
    with pytest.raises(Gone) as raised:
        await drain(resumed, [])
    assert raised.value.reason == "Expired"
    assert "too old resource version" in str(raised.value)
    proxy.set_plan(Rule("gone", ExpireWatch()), Rule("cut", CutWatch(events=1)))
    async with asyncio.timeout(10):  # a watch from "now" is not a resume: it streams
        events = [e async for e in client.watch("v1", "ConfigMap", namespace, bookmarks=False)]
    assert [e.type for e in events] == ["ADDED"]
    assert proxy.injected["gone"] == 1


async def test_severed_watches_drop_mid_stream(
    proxy: FaultProxy, client: KubeClient, namespace: str
) -> None:
    async def follow() -> None:
        async for _ in client.watch("v1", "ConfigMap", namespace):
            pass

    watching = asyncio.create_task(follow())
    async with asyncio.timeout(10):
        await proxy.wait_watches(1)
    assert proxy.sever_watches() == 1
    with pytest.raises(Unavailable):
        async with asyncio.timeout(10):
            await watching
