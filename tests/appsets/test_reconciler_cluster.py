"""The reconciler against the local cluster and a real Git server on loopback.

No application controller runs here: where the rollout needs it, the test plays it by
writing the generated Applications' ``status`` through the API.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakeforge import FakeForge, serve
from gitserver import GitServer

from tether.controller.appsets import FIELD_MANAGER, ApplicationSetReconciler
from tether.controller.appsets.lifecycle import OWNER_LABEL
from tether.kube import KubeClient, NotFound
from tether.source import GitCache

API = "argoproj.io/v1alpha1"


def appset_manifest(name: str, namespace: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": dict(spec),
    }


def template(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, **extra},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://example.com/r.git", "path": "."},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
        },
    }


async def present(client: KubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    """The Application, unless absent or being deleted."""
    try:
        app = await client.get(API, "Application", name, namespace)
    except NotFound:
        return None
    return None if app["metadata"].get("deletionTimestamp") else app


async def eventually(
    check: Callable[[], Awaitable[dict[str, Any] | None]], seconds: float = 15.0
) -> dict[str, Any]:
    """Poll ``check`` (bounded) until it returns an object."""
    for _ in range(int(seconds / 0.05)):
        found = await check()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing appeared within {seconds}s")


async def app_names(client: KubeClient, namespace: str) -> list[str]:
    listed = await client.list(API, "Application", namespace)
    return sorted(a["metadata"]["name"] for a in listed.items)


async def condition(client: KubeClient, namespace: str, name: str, kind: str) -> dict[str, Any]:
    found = await client.get(API, "ApplicationSet", name, namespace)
    conditions = (found.get("status") or {}).get("conditions") or []
    return next(c for c in conditions if c["type"] == kind)


def git_dirs_spec(repo_url: str) -> dict[str, Any]:
    return {
        "generators": [{"git": {"repoURL": repo_url, "directories": [{"path": "apps/*"}]}}],
        "template": template("{{path.basename}}"),
    }


async def test_directories_come_and_go_with_commits(
    client: KubeClient, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    repo = git_server.create_repo(initial={"apps/alpha/a.yaml": "a: 1\n"})
    await client.apply(appset_manifest("dirs", namespace, git_dirs_spec(repo.url_git)))
    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))

    first = await reconciler.reconcile_once("dirs")
    assert first.created == ("alpha",)
    assert first.requeue_after == 180.0
    alpha = await client.get(API, "Application", "alpha", namespace)
    (owner,) = alpha["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "ApplicationSet",
        "dirs",
        True,
        True,
    )
    assert alpha["metadata"]["labels"][OWNER_LABEL] == "dirs"
    managers = {m["manager"] for m in alpha["metadata"]["managedFields"]}
    assert FIELD_MANAGER in managers
    assert (await condition(client, namespace, "dirs", "ResourcesUpToDate"))["status"] == "True"

    repo.push({"apps/beta/b.yaml": "b: 1\n"}, "add beta")
    assert (await reconciler.reconcile_once("dirs")).created == ("beta",)
    assert await app_names(client, namespace) == ["alpha", "beta"]
    assert (await reconciler.reconcile_once("dirs")).created == ()  # nothing left to do

    repo.push({"apps/alpha/a.yaml": None}, "remove alpha")
    assert (await reconciler.reconcile_once("dirs")).deleted == ("alpha",)
    assert await app_names(client, namespace) == ["beta"]

    git_server.stop()  # the repository becomes unreachable
    failed = await reconciler.reconcile_once("dirs")
    assert failed.error
    assert not failed.deleted
    assert await app_names(client, namespace) == ["beta"]
    error = await condition(client, namespace, "dirs", "ErrorOccurred")
    assert error["status"] == "True"
    assert error["reason"] == "ApplicationParamsGenerationError"
    assert "git generator" in error["message"]
    assert git_server.password not in error["message"]


async def test_create_only_keeps_and_preserve_strips_finalizer(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    def spec(elements: list[str], policy: dict[str, Any]) -> dict[str, Any]:
        return {
            "generators": [{"list": {"elements": [{"name": e} for e in elements]}}],
            "template": template("{{name}}", finalizers=["resources-finalizer.argocd.argoproj.io"]),
            "syncPolicy": policy,
        }

    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    await client.apply(
        appset_manifest("keep", namespace, spec(["a", "b"], {"applicationsSync": "create-only"}))
    )
    assert (await reconciler.reconcile_once("keep")).created == ("a", "b")
    await client.apply(
        appset_manifest("keep", namespace, spec(["a"], {"applicationsSync": "create-only"}))
    )
    assert (await reconciler.reconcile_once("keep")).deleted == ()
    assert await app_names(client, namespace) == ["a", "b"]

    # With sync and preserveResourcesOnDeletion, the finalizer goes before the delete,
    # so the Application disappears at once instead of waiting for its resources.
    await client.apply(
        appset_manifest("keep", namespace, spec(["a"], {"preserveResourcesOnDeletion": True}))
    )
    assert (await reconciler.reconcile_once("keep")).deleted == ("b",)
    assert await app_names(client, namespace) == ["a"]


async def test_two_appsets_with_one_name_do_not_fight(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    spec = {
        "generators": [{"list": {"elements": [{"name": "shared"}]}}],
        "template": template("{{name}}"),
    }
    await client.apply(appset_manifest("first", namespace, spec))
    await client.apply(appset_manifest("second", namespace, spec))
    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    assert (await reconciler.reconcile_once("first")).created == ("shared",)
    second = await reconciler.reconcile_once("second")
    assert second.created == second.updated == ()
    assert "controlled by ApplicationSet first" in second.problems[0]
    app = await client.get(API, "Application", "shared", namespace)
    assert app["metadata"]["ownerReferences"][0]["name"] == "first"
    error = await condition(client, namespace, "second", "ErrorOccurred")
    assert error["status"] == "True"
    assert "shared" in error["message"]


async def set_app_status(
    client: KubeClient, namespace: str, name: str, sync: str, health: str, phase: str = ""
) -> None:
    status: dict[str, Any] = {"sync": {"status": sync}, "health": {"status": health}}
    if phase:
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status["operationState"] = {
            "operation": {"sync": {"prune": True}},
            "phase": phase,
            "startedAt": started,
        }
    # Application has no status subresource (as in Argo CD): the controller writes it whole.
    await client.patch(API, "Application", name, namespace, {"operation": None, "status": status})


async def test_rolling_sync_goes_step_by_step(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    envs = {"dev": ["d1", "d2"], "staging": ["s1", "s2"], "prod": ["p1", "p2"]}
    spec = {
        "generators": [
            {"list": {"elements": [{"name": n, "env": e} for e, ns in envs.items() for n in ns]}}
        ],
        "template": {
            "metadata": {"name": "{{name}}", "labels": {"env": "{{env}}"}},
            "spec": {
                **template("x")["spec"],
                "syncPolicy": {"automated": {"prune": True}},
            },
        },
        "strategy": {
            "type": "RollingSync",
            "rollingSync": {
                "steps": [
                    {"matchExpressions": [{"key": "env", "operator": "In", "values": [env]}]}
                    for env in envs
                ]
            },
        },
    }
    await client.apply(appset_manifest("rollout", namespace, spec))
    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    created = await reconciler.reconcile_once("rollout")
    assert len(created.created) == 6
    for name in created.created:
        app = await client.get(API, "Application", name, namespace)
        assert "automated" not in (app["spec"].get("syncPolicy") or {})
        await set_app_status(client, namespace, name, "OutOfSync", "Missing")

    for step, env in enumerate(envs, start=1):
        outcome = await reconciler.reconcile_once("rollout")
        assert outcome.synced == tuple(envs[env]), f"step {step}"
        for name in envs[env]:
            app = await client.get(API, "Application", name, namespace)
            assert app["operation"]["sync"]["prune"] is True
            assert app["operation"]["initiatedBy"]["username"] == "applicationset-controller"
        rolling = await condition(client, namespace, "rollout", "RollingSync")
        assert rolling["status"] == "True"
        assert rolling["message"] == f"ApplicationSet is performing rollout of step {step}"
        # Later steps wait while this one is not Healthy.
        assert (await reconciler.reconcile_once("rollout")).synced == ()
        for name in envs[env]:
            await set_app_status(client, namespace, name, "Synced", "Healthy", "Succeeded")

    done = await reconciler.reconcile_once("rollout")
    assert done.synced == ()
    rolling = await condition(client, namespace, "rollout", "RollingSync")
    assert (rolling["status"], rolling["reason"]) == ("False", "ApplicationSetRolloutComplete")
    found = await client.get(API, "ApplicationSet", "rollout", namespace)
    statuses = {s["application"]: s for s in found["status"]["applicationStatus"]}
    assert {s["status"] for s in statuses.values()} == {"Healthy"}
    assert statuses["p2"]["step"] == "3"


async def test_started_reconciler_follows_the_watch(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    await reconciler.start()
    try:
        spec = {
            "generators": [{"list": {"elements": [{"name": "watched"}]}}],
            "template": template("{{name}}"),
        }
        await client.apply(appset_manifest("live", namespace, spec))
        created = await eventually(lambda: present(client, namespace, "watched"))
        # Deleting a generated Application behind the controller's back: it comes back.
        await client.delete(API, "Application", "watched", namespace)
        recreated = await eventually(lambda: present(client, namespace, "watched"))
        assert recreated["metadata"]["uid"] != created["metadata"]["uid"]
    finally:
        await reconciler.close()


async def test_deleting_a_create_only_appset_keeps_its_applications(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    spec = {
        "generators": [{"list": {"elements": [{"name": "kept"}]}}],
        "template": template("{{name}}", finalizers=["resources-finalizer.argocd.argoproj.io"]),
        "syncPolicy": {"applicationsSync": "create-only", "preserveResourcesOnDeletion": True},
    }
    await client.apply(appset_manifest("owner", namespace, spec))
    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    assert (await reconciler.reconcile_once("owner")).created == ("kept",)
    found = await client.get(API, "ApplicationSet", "owner", namespace)
    assert "resources-finalizer.argocd.argoproj.io" in found["metadata"]["finalizers"]

    await client.delete(API, "ApplicationSet", "owner", namespace)
    assert (await reconciler.reconcile_once("owner")).updated == ("kept",)
    with pytest.raises(NotFound):
        await client.get(API, "ApplicationSet", "owner", namespace)
    await asyncio.sleep(0.5)  # give garbage collection its chance to (wrongly) act
    kept = await client.get(API, "Application", "kept", namespace)
    assert "ownerReferences" not in kept["metadata"]
    assert "finalizers" not in kept["metadata"]


async def test_deleting_an_appset_collects_its_applications(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    spec = {
        "generators": [{"list": {"elements": [{"name": "collected"}]}}],
        "template": template("{{name}}"),
    }
    await client.apply(appset_manifest("plain", namespace, spec))
    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    assert (await reconciler.reconcile_once("plain")).created == ("collected",)
    await client.delete(API, "ApplicationSet", "plain", namespace)
    for _ in range(200):  # garbage collection follows the ownerReference
        if await present(client, namespace, "collected") is None:
            break
        await asyncio.sleep(0.05)
    assert await present(client, namespace, "collected") is None


async def test_an_application_that_fails_to_render_blocks_nothing_else(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    def spec(elements: list[dict[str, str]]) -> dict[str, Any]:
        body = template("{{ .name }}")
        body["spec"]["source"]["path"] = "{{ .path }}"
        return {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": body,
        }

    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    good = [{"name": "a", "path": "a"}, {"name": "b", "path": "b"}]
    await client.apply(appset_manifest("partial", namespace, spec(good)))
    assert (await reconciler.reconcile_once("partial")).created == ("a", "b")

    # b loses its path: its parameter set no longer renders, and a gains a sibling.
    broken = [{"name": "a", "path": "a2"}, {"name": "b"}, {"name": "c", "path": "c"}]
    await client.apply(appset_manifest("partial", namespace, spec(broken)))
    outcome = await reconciler.reconcile_once("partial")
    assert (outcome.created, outcome.updated, outcome.deleted) == (("c",), ("a",), ())
    assert await app_names(client, namespace) == ["a", "b", "c"]
    error = await condition(client, namespace, "partial", "ErrorOccurred")
    assert error["status"] == "True"
    assert 'map has no entry for key "path"' in error["message"]
    up_to_date = await condition(client, namespace, "partial", "ResourcesUpToDate")
    assert (up_to_date["status"], up_to_date["reason"]) == ("False", "ApplicationValidationError")


async def test_a_new_cluster_secret_brings_its_application(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    body = template("edge-{{nameNormalized}}")
    body["spec"]["destination"]["server"] = "{{server}}"
    spec = {
        "generators": [{"clusters": {"selector": {"matchLabels": {"env": "edge"}}}}],
        "template": body,
    }
    reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
    await reconciler.start()
    try:
        await client.apply(appset_manifest("edges", namespace, spec))
        await client.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": "cluster-paris",
                    "namespace": namespace,
                    "labels": {"argocd.argoproj.io/secret-type": "cluster", "env": "edge"},
                },
                "stringData": {"name": "Paris", "server": "https://paris.example.com"},
            }
        )
        app = await eventually(lambda: present(client, namespace, "edge-paris"))
        assert app["spec"]["destination"]["server"] == "https://paris.example.com"
    finally:
        await reconciler.close()


async def test_a_slow_generator_does_not_hold_up_other_appsets(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    answered = threading.Event()

    def slow(query: dict[str, str], body: Any) -> dict[str, Any]:
        time.sleep(2.0)  # a plugin service that takes its time
        answered.set()
        return {"output": {"parameters": [{"name": "slow"}]}}

    with serve(FakeForge({"/api/v1/getparams.execute": slow})) as forge:
        await client.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "slow-plugin", "namespace": namespace},
                "data": {"baseUrl": forge.url},
            }
        )
        slow_spec = {
            "generators": [{"plugin": {"configMapRef": {"name": "slow-plugin"}}}],
            "template": template("{{name}}"),
        }
        fast_spec = {
            "generators": [{"list": {"elements": [{"name": "fast"}]}}],
            "template": template("{{name}}"),
        }
        await client.apply(appset_manifest("a-slow", namespace, slow_spec))
        await client.apply(appset_manifest("b-fast", namespace, fast_spec))
        reconciler = ApplicationSetReconciler(client, namespace, GitCache(tmp_path / "git"))
        await reconciler.start()
        try:
            await eventually(lambda: present(client, namespace, "fast"))
            assert not answered.is_set()  # the slow pass was still waiting meanwhile
            await eventually(lambda: present(client, namespace, "slow"))
        finally:
            await reconciler.close()
