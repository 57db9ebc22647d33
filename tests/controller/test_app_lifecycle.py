"""End to end: Applications created with kubectl-shaped manifests follow Git."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from conftest import Harness

NAMESPACE = "argocd"

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  color: {color}
"""
SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def application(
    name: str, repo_url: str, destination_ns: str, *, automated: dict[str, Any] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": repo_url, "path": "app", "targetRevision": "main"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": destination_ns},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }
    if automated is not None:
        spec["syncPolicy"]["automated"] = automated
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


async def test_automated_app_syncs_follows_commits_heals_and_prunes(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push(
        {"app/cm.yaml": CONFIGMAP.format(name="settings", color="blue"), "app/svc.yaml": SERVICE},
        "add app",
    )
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, automated={"prune": True, "selfHeal": True})
    )
    app = await harness.wait_app(name, harness.settled)
    assert app["status"]["sourceType"] == "Directory"
    assert {r["kind"] for r in app["status"]["resources"]} == {"ConfigMap", "Service"}
    assert app["status"]["history"][0]["id"] == 0
    live = await harness.client.get("v1", "ConfigMap", "settings", ns)
    assert live["data"] == {"color": "blue"}

    # A commit is applied after a refresh.
    sha = harness.repo.push(
        {"app/cm.yaml": CONFIGMAP.format(name="settings", color="green")}, "green"
    )
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
    )
    await harness.wait_object(
        "v1", "ConfigMap", "settings", ns, lambda o: o is not None and o["data"]["color"] == "green"
    )
    app = await harness.wait_app(
        name, lambda a: a["status"]["sync"].get("revision") == sha and harness.settled(a)
    )
    assert "argocd.argoproj.io/refresh" not in (app["metadata"].get("annotations") or {})

    # A change made behind tether's back is reverted (self-heal).
    await harness.client.patch("v1", "ConfigMap", "settings", ns, {"data": {"color": "red"}})
    await harness.wait_object(
        "v1", "ConfigMap", "settings", ns, lambda o: o is not None and o["data"]["color"] == "green"
    )

    # A file removed from Git is pruned.
    harness.repo.push({"app/svc.yaml": None}, "drop the service")
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
    )
    await harness.wait_object("v1", "Service", "web", ns, lambda o: o is None)
    app = await harness.wait_app(
        name, lambda a: harness.settled(a) and len(a["status"]["resources"]) == 1
    )


async def test_without_prune_a_removed_file_leaves_the_app_out_of_sync(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push(
        {
            "app/a.yaml": CONFIGMAP.format(name="a", color="x"),
            "app/b.yaml": CONFIGMAP.format(name="b", color="y"),
        },
        "two",
    )
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, automated={"prune": False})
    )
    await harness.wait_app(name, harness.settled)
    harness.repo.push({"app/b.yaml": None}, "drop b")
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
    )
    app = await harness.wait_app(name, lambda a: harness.sync_status(a) == "OutOfSync")
    pruning = [r for r in app["status"]["resources"] if r.get("requiresPruning")]
    assert [r["name"] for r in pruning] == ["b"]
    await harness.client.get("v1", "ConfigMap", "b", ns)


async def test_broken_yaml_and_unreachable_repos_delete_nothing(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push({"app/a.yaml": CONFIGMAP.format(name="a", color="x")}, "good")
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, automated={"prune": True})
    )
    await harness.wait_app(name, harness.settled)

    harness.repo.push({"app/a.yaml": "kind: [unterminated"}, "broken")
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
    )
    app = await harness.wait_app(name, lambda a: harness.sync_status(a) == "Unknown")
    conditions = app["status"]["conditions"]
    assert conditions[0]["type"] == "ComparisonError"
    assert "a.yaml" in conditions[0]["message"]
    await harness.client.get("v1", "ConfigMap", "a", ns)  # nothing was deleted

    # An unreachable repository: also an error, also nothing deleted.
    app_obj = await harness.app(name)
    app_obj["spec"]["source"]["repoURL"] = "http://127.0.0.1:1/nowhere.git"
    await harness.client.apply(
        {k: app_obj[k] for k in ("apiVersion", "kind", "metadata", "spec")}
        | {"metadata": {"name": name, "namespace": NAMESPACE}}
    )
    app = await harness.wait_app(name, lambda a: "nowhere" in str(a["status"].get("conditions")))
    await harness.client.get("v1", "ConfigMap", "a", ns)

    # Recovery on the next good commit.
    harness.repo.push({"app/a.yaml": CONFIGMAP.format(name="a", color="fixed")}, "fixed")
    app_obj = await harness.app(name)
    await harness.client.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": app_obj["spec"]
            | {
                "source": {
                    "repoURL": harness.repo.url_file,
                    "path": "app",
                    "targetRevision": "main",
                }
            },
        }
    )
    await harness.wait_object(
        "v1", "ConfigMap", "a", ns, lambda o: o is not None and o["data"]["color"] == "fixed"
    )
    await harness.wait_app(name, lambda a: harness.settled(a) and not a["status"].get("conditions"))


async def test_manual_sync_through_the_operation_field(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push({"app/a.yaml": CONFIGMAP.format(name="a", color="x")}, "one")
    await harness.client.apply(application(name, harness.repo.url_file, ns))
    await harness.wait_app(name, lambda a: harness.sync_status(a) == "OutOfSync")
    await harness.client.patch(
        "argoproj.io/v1alpha1",
        "Application",
        name,
        NAMESPACE,
        {
            "operation": {
                "sync": {"revision": "main", "prune": True},
                "initiatedBy": {"username": "admin"},
            }
        },
    )
    app = await harness.wait_app(name, harness.settled)
    state = app["status"]["operationState"]
    assert state["phase"] == "Succeeded"
    assert state["operation"]["initiatedBy"] == {"username": "admin"}
    assert "operation" not in app
    assert app["status"]["history"][-1]["initiatedBy"] == {"username": "admin"}


async def test_invalid_destination_is_reported_not_synced(harness: Harness) -> None:
    name = harness.new_app_name()
    manifest = application(name, harness.repo.url_file, "x")
    manifest["spec"]["destination"] = {"server": "https://nowhere.example:6443", "namespace": "x"}
    await harness.client.apply(manifest)
    app = await harness.wait_app(name, lambda a: bool((a.get("status") or {}).get("conditions")))
    assert app["status"]["conditions"][0]["type"] == "InvalidSpecError"
    assert "nowhere.example" in app["status"]["conditions"][0]["message"]
    assert yaml.safe_dump(app)  # the status is plain data


async def test_respect_ignore_differences_keeps_ignored_live_values(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push({"app/a.yaml": CONFIGMAP.format(name="a", color="blue")}, "one")
    manifest = application(
        name, harness.repo.url_file, ns, automated={"prune": True, "selfHeal": True}
    )
    manifest["spec"]["ignoreDifferences"] = [{"kind": "ConfigMap", "jsonPointers": ["/data/color"]}]
    manifest["spec"]["syncPolicy"]["syncOptions"].append("RespectIgnoreDifferences=true")
    await harness.client.apply(manifest)
    await harness.wait_app(name, harness.settled)

    # An ignored field changed by hand is not drift.
    await harness.client.patch("v1", "ConfigMap", "a", ns, {"data": {"color": "hand-made"}})
    await harness.refresh(name)
    await harness.wait_app(
        name, lambda a: "argocd.argoproj.io/refresh" not in (a["metadata"].get("annotations") or {})
    )
    assert harness.sync_status(await harness.app(name)) == "Synced"

    # A later sync keeps the live value of the ignored field.
    harness.repo.push(
        {"app/a.yaml": CONFIGMAP.format(name="a", color="blue") + "  size: large\n"}, "add size"
    )
    await harness.refresh(name)
    live = await harness.wait_object(
        "v1", "ConfigMap", "a", ns, lambda o: o is not None and "size" in o["data"]
    )
    assert live is not None
    assert live["data"]["color"] == "hand-made"


async def test_server_side_diff_compares_what_the_server_would_store(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push({"app/svc.yaml": SERVICE}, "service")
    manifest = application(name, harness.repo.url_file, ns, automated={})
    manifest["metadata"]["annotations"] = {
        "argocd.argoproj.io/compare-options": "ServerSideDiff=true"
    }
    await harness.client.apply(manifest)
    await harness.wait_app(name, harness.settled)
    await harness.client.patch(
        "v1", "Service", "web", ns, {"spec": {"ports": [{"port": 81, "targetPort": 8080}]}}
    )
    await harness.refresh(name)
    app = await harness.wait_app(name, lambda a: harness.sync_status(a) == "OutOfSync")
    assert [r["name"] for r in app["status"]["resources"] if r["status"] == "OutOfSync"] == ["web"]


async def test_an_empty_render_is_refused_and_deletes_nothing(harness: Harness) -> None:
    name = harness.new_app_name()
    ns = f"{name}-ns"
    harness.repo.push(
        {"app/a.yaml": CONFIGMAP.format(name="a", color="x"), "app/README.md": "# app\n"}, "one"
    )
    await harness.client.apply(
        application(name, harness.repo.url_file, ns, automated={"prune": True})
    )
    await harness.wait_app(name, harness.settled)

    sha = harness.repo.push({"app/a.yaml": None}, "nothing left")
    await harness.refresh(name)
    app = await harness.wait_app(
        name, lambda a: "SyncError" in {c["type"] for c in a["status"].get("conditions") or []}
    )
    assert app["status"]["conditions"][0]["message"] == (
        f"Skipping sync attempt to {sha}: auto-sync will wipe out all resources"
    )
    assert harness.sync_status(app) == "OutOfSync"
    await harness.client.get("v1", "ConfigMap", "a", ns)  # nothing was deleted

    harness.repo.push({"app/a.yaml": CONFIGMAP.format(name="a", color="back")}, "back")
    await harness.refresh(name)
    await harness.wait_object(
        "v1", "ConfigMap", "a", ns, lambda o: o is not None and o["data"]["color"] == "back"
    )
    await harness.wait_app(name, lambda a: harness.settled(a) and not a["status"].get("conditions"))
