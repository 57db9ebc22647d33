"""End to end: apps of apps (three levels), waves between child apps, cascading deletion."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from appmanifests import NAMESPACE, application, configmap

if TYPE_CHECKING:
    from conftest import Harness

FOREGROUND = "resources-finalizer.argocd.argoproj.io"
BACKGROUND = "resources-finalizer.argocd.argoproj.io/background"

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: "registry.example/{name}:1"}}]
"""


def child(harness: Harness, name: str, path: str, ns: str, **kw: Any) -> str:
    """A child Application as the parent's repository declares it."""
    manifest = application(name, harness.repo.url_file, ns, path=path, **kw)
    return yaml.safe_dump(manifest)


async def test_three_levels_of_apps_sync_and_delete_in_cascade(harness: Harness) -> None:
    base = harness.new_app_name()
    root, mid, leaf = f"{base}-root", f"{base}-mid", f"{base}-leaf"
    automated = {"prune": True, "selfHeal": True}
    harness.repo.push(
        {
            f"{root}/mid.yaml": child(
                harness, mid, mid, NAMESPACE, automated=automated, finalizers=[FOREGROUND]
            ),
            f"{mid}/leaf.yaml": child(
                harness, leaf, leaf, f"{base}-ns", automated=automated, finalizers=[FOREGROUND]
            ),
            f"{leaf}/cm.yaml": configmap("settings", "blue"),
        },
        "three levels",
    )
    await harness.client.apply(
        application(
            root,
            harness.repo.url_file,
            NAMESPACE,
            path=root,
            automated=automated,
            finalizers=[FOREGROUND],
        )
    )
    for name in (root, mid, leaf):
        await harness.wait_app(name, harness.settled)
    root_app = await harness.app(root)
    assert [(r["kind"], r["name"]) for r in root_app["status"]["resources"]] == [
        ("Application", mid)
    ]
    await harness.client.get("v1", "ConfigMap", "settings", f"{base}-ns")

    # A change at the bottom travels through its own app only.
    harness.repo.push({f"{leaf}/cm.yaml": configmap("settings", "green")}, "green")
    await harness.refresh(leaf)
    await harness.wait_object(
        "v1",
        "ConfigMap",
        "settings",
        f"{base}-ns",
        lambda o: o is not None and o["data"]["color"] == "green",
    )

    # Deleting the root deletes every level, leaf objects included.
    await harness.client.delete("argoproj.io/v1alpha1", "Application", root, NAMESPACE)
    for name in (root, mid, leaf):
        await harness.wait_object(
            "argoproj.io/v1alpha1", "Application", name, NAMESPACE, lambda o: o is None
        )
    await harness.wait_object("v1", "ConfigMap", "settings", f"{base}-ns", lambda o: o is None)


@pytest.mark.parametrize(
    ("finalizers", "kept"),
    [([FOREGROUND], False), ([BACKGROUND], False), ([], True)],
    ids=["foreground", "background", "no-finalizer"],
)
async def test_deletion_cascades_only_with_the_resources_finalizer(
    harness: Harness, finalizers: list[str], kept: bool
) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push(
        {
            f"{name}/a.yaml": configmap("a"),
            f"{name}/keep.yaml": configmap(
                "keep", **{"argocd.argoproj.io/sync-options": "Delete=false"}
            ),
        },
        "two",
    )
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, path=name, automated={}, finalizers=finalizers)
    )
    await harness.wait_app(name, harness.settled)
    await harness.client.delete("argoproj.io/v1alpha1", "Application", name, NAMESPACE)
    await harness.wait_object(
        "argoproj.io/v1alpha1", "Application", name, NAMESPACE, lambda o: o is None
    )
    left = await harness.wait_object("v1", "ConfigMap", "a", ns, lambda o: (o is not None) is kept)
    assert (left is not None) is kept
    await harness.client.get("v1", "ConfigMap", "keep", ns)  # Delete=false: never deleted


async def test_child_apps_follow_sync_waves_with_application_health(harness: Harness) -> None:
    await harness.client.patch(
        "v1",
        "ConfigMap",
        "argocd-cm",
        NAMESPACE,
        {"data": {"tether.dev/health.application": "true"}},
    )
    base = harness.new_app_name()
    parent, first, second = f"{base}-parent", f"{base}-first", f"{base}-second"
    wave = "argocd.argoproj.io/sync-wave"
    harness.repo.push(
        {
            f"{parent}/first.yaml": child(
                harness, first, first, f"{base}-ns", automated={}, annotations={wave: "0"}
            ),
            f"{parent}/second.yaml": child(
                harness, second, second, f"{base}-ns", automated={}, annotations={wave: "1"}
            ),
            f"{first}/deploy.yaml": DEPLOYMENT.format(name="db"),
            f"{second}/cm.yaml": configmap("web"),
        },
        "waves",
    )
    await harness.client.apply(
        application(parent, harness.repo.url_file, NAMESPACE, path=parent, automated={})
    )

    # Every snapshot of the Applications must show `second` only once `first` is Healthy.
    seen_second = False
    async with asyncio.timeout(60):
        while True:
            listed = await harness.client.list("argoproj.io/v1alpha1", "Application", NAMESPACE)
            apps = {a["metadata"]["name"]: a for a in listed.items}
            if second in apps:
                seen_second = True
                assert harness.health_status(apps[first]) == "Healthy", apps[first].get("status")
            if parent in apps and harness.settled(apps[parent]):
                break
            await asyncio.sleep(0.02)
    assert seen_second
    await harness.wait_app(second, harness.settled)


PRE_DELETE = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: before-delete
  annotations: {argocd.argoproj.io/hook: PreDelete}
data: {step: pre}
"""
POST_DELETE = """
apiVersion: v1
kind: ConfigMap
metadata:
  generateName: after-delete-
  annotations: {argocd.argoproj.io/hook: PostDelete}
data: {step: post}
"""


async def test_delete_hooks_run_before_and_after_the_cascade(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push(
        {
            f"{name}/a.yaml": configmap("a"),
            f"{name}/pre.yaml": PRE_DELETE,
            f"{name}/post.yaml": POST_DELETE,
        },
        "app with delete hooks",
    )
    await harness.client.apply(
        application(
            name, harness.repo.url_file, ns, path=name, automated={}, finalizers=[FOREGROUND]
        )
    )
    app = await harness.wait_app(name, harness.settled)
    assert [r["name"] for r in app["status"]["resources"]] == ["a"]
    listed = await harness.client.list("v1", "ConfigMap", ns)
    names = {c["metadata"]["name"] for c in listed.items}
    assert "before-delete" not in names  # the sync itself runs no delete hook
    assert not any(n.startswith("after-delete") for n in names)

    events: list[tuple[str, str]] = []

    async def record() -> None:
        async for event in harness.client.watch(
            "v1", "ConfigMap", ns, resource_version=listed.resource_version
        ):
            name_ = event.object["metadata"]["name"]
            events.append((event.type, "after-delete" if name_.startswith("after-") else name_))

    watcher = asyncio.create_task(record())
    try:
        await harness.client.delete("argoproj.io/v1alpha1", "Application", name, NAMESPACE)
        await harness.wait_object(
            "argoproj.io/v1alpha1", "Application", name, NAMESPACE, lambda o: o is None
        )
        await asyncio.sleep(0.3)
    finally:
        watcher.cancel()
    order = [e for e in events if e[0] in ("ADDED", "DELETED")]
    assert order.index(("ADDED", "before-delete")) < order.index(("DELETED", "a"))
    assert order.index(("DELETED", "a")) < order.index(("ADDED", "after-delete"))
    assert ("DELETED", "before-delete") in order
    assert ("DELETED", "after-delete") in order
