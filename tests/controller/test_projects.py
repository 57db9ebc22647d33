"""End to end: what AppProjects refuse (destinations) and report (orphaned resources)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from appmanifests import IN_CLUSTER, NAMESPACE, application, conditions_of, configmap, project

from tether.controller.orphans import is_excluded
from tether.model import ResourceKey
from tether.model.projectparts import OrphanedResourceKey

if TYPE_CHECKING:
    from conftest import Harness


@pytest.mark.parametrize(
    ("key", "ignore", "excluded"),
    [
        (ResourceKey("", "ServiceAccount", "ns", "default"), (), True),
        (ResourceKey("", "ConfigMap", "ns", "kube-root-ca.crt"), (), True),
        (ResourceKey("", "Service", "default", "kubernetes"), (), True),
        (ResourceKey("", "Service", "ns", "kubernetes"), (), False),
        (ResourceKey("", "ConfigMap", "ns", "stray"), (), False),
        (
            ResourceKey("", "ConfigMap", "ns", "stray"),
            (OrphanedResourceKey(kind="ConfigMap"),),
            True,
        ),
        (ResourceKey("", "ConfigMap", "ns", "stray"), (OrphanedResourceKey(name="str*"),), True),
        (ResourceKey("apps", "Deployment", "ns", "x"), (OrphanedResourceKey(kind="*"),), False),
        (ResourceKey("apps", "Deployment", "ns", "x"), (OrphanedResourceKey(group="apps"),), True),
    ],
)
def test_orphan_exclusions(
    key: ResourceKey, ignore: tuple[OrphanedResourceKey, ...], excluded: bool
) -> None:
    assert is_excluded(key, ignore) is excluded


async def test_destinations_outside_the_project_are_refused(harness: Harness) -> None:
    name = harness.new_app_name()
    await harness.client.apply(
        project(f"{name}-proj", destinations=[{"server": IN_CLUSTER, "namespace": "team-a-*"}])
    )
    harness.repo.push({f"{name}/cm.yaml": configmap("settings")}, "add")
    await harness.client.apply(
        application(
            name,
            harness.repo.url_file,
            "team-b",
            path=name,
            project=f"{name}-proj",
            automated={"prune": True},
        )
    )
    app = await harness.wait_app(name, lambda a: "InvalidSpecError" in conditions_of(a))
    assert "team-b" in conditions_of(app)["InvalidSpecError"]
    assert "operationState" not in app["status"]

    # Moving the app into an allowed namespace lets it sync.
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"spec": {"destination": {"namespace": "team-a-web"}}},
    )
    app = await harness.wait_app(name, harness.settled)
    assert "InvalidSpecError" not in conditions_of(app)
    await harness.client.get("v1", "ConfigMap", "settings", "team-a-web")


async def test_orphaned_resources_are_reported_unless_ignored(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    await harness.client.apply(
        project(
            f"{name}-proj", orphanedResources={"ignore": [{"kind": "ConfigMap", "name": "tmp-*"}]}
        )
    )
    harness.repo.push({f"{name}/cm.yaml": configmap("settings")}, "add")
    await harness.client.apply(
        application(
            name, harness.repo.url_file, ns, path=name, project=f"{name}-proj", automated={}
        )
    )
    app = await harness.wait_app(name, harness.settled)
    assert "OrphanedResourceWarning" not in conditions_of(app)

    for stray in ("stray", "tmp-cache"):
        await harness.client.apply(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": stray, "namespace": ns}}
        )
    await harness.refresh(name)
    app = await harness.wait_app(name, lambda a: "OrphanedResourceWarning" in conditions_of(a))
    assert conditions_of(app)["OrphanedResourceWarning"] == "Application has 1 orphaned resources"

    # warn: false keeps monitoring quiet.
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "AppProject",
        f"{name}-proj",
        NAMESPACE,
        {"spec": {"orphanedResources": {"warn": False}}},
    )
    await harness.wait_app(name, lambda a: "OrphanedResourceWarning" not in conditions_of(a))


async def test_apps_in_other_namespaces_need_the_project_to_list_them(harness: Harness) -> None:
    name = harness.new_app_name()
    harness.repo.push({f"{name}/cm.yaml": configmap("settings")}, "add")
    await harness.client.apply(project(f"{name}-proj", sourceNamespaces=["team-a"]))
    for namespace in ("team-a", "team-b"):
        await harness.client.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
        manifest = application(
            name,
            harness.repo.url_file,
            f"{namespace}-{name}",
            path=name,
            project=f"{name}-proj",
            automated={},
        )
        manifest["metadata"]["namespace"] = namespace
        await harness.client.apply(manifest)

    allowed = await harness.wait_app(name, harness.settled, namespace="team-a")
    assert allowed["status"]["resources"][0]["name"] == "settings"
    live = await harness.client.get("v1", "ConfigMap", "settings", f"team-a-{name}")
    tracking = live["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"]
    assert tracking.startswith(f"team-a_{name}:")

    refused = await harness.wait_app(
        name, lambda a: "InvalidSpecError" in conditions_of(a), namespace="team-b"
    )
    assert conditions_of(refused)["InvalidSpecError"] == (
        f"applications in namespace team-b may not use project {name}-proj"
    )
