"""The applications fault tests sync, and the objects that must come through untouched.

:func:`hooked_app` is a repository with every kind of step a sync can be interrupted
in: a PreSync hook, three waves (the middle one holding a Deployment, so the wave
waits for a rollout), objects a later commit removes (so a prune is in flight) and a
PostSync hook. Both hooks are Jobs named by ``generateName``: the operation names them,
and the simulated kubelet runs each for about a second, so a fault can land while one
runs; a hook created twice would show as a second name (or a second uid).

:func:`place_bystanders` puts objects next to an app that the app must never touch: one
without a tracking id and one tracked by another application.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appmanifests import application

from tether.kube import KubeClient
from tether.model import ResourceKey, format_tracking_id, keys

if TYPE_CHECKING:
    from controllerharness import Harness

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  annotations: {{argocd.argoproj.io/sync-wave: "{wave}"}}
data: {{name: {name}, wave: "{wave}"}}
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
JOB_HOOK = """
apiVersion: batch/v1
kind: Job
metadata:
  generateName: {prefix}-
  annotations: {{argocd.argoproj.io/hook: {hook}}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: run, image: registry.example/{prefix}:1}}]
"""

#: ConfigMaps of each wave of :func:`hooked_app`.
WAVES = {wave: [f"wave-{wave}-{index}" for index in range(3)] for wave in range(3)}
#: ConfigMaps that :func:`hooked_app` declares only with ``doomed=True``.
DOOMED = [f"doomed-{index}" for index in range(3)]
#: Hook name prefixes of :func:`hooked_app`.
HOOK_PREFIXES = {"PreSync": "pre", "PostSync": "post"}


def configmap(name: str, wave: int = 0) -> str:
    """A ConfigMap manifest (its data names it, so a half-written one shows)."""
    return CONFIGMAP.format(name=name, wave=wave)


def job_hook(hook: str, prefix: str) -> str:
    """A hook Job of type ``hook`` named ``<prefix>-<generated>``; it runs about a second."""
    return JOB_HOOK.format(prefix=prefix, hook=hook)


def hooked_app(*, doomed: bool) -> dict[str, str | None]:
    """Repository files: hooks, three waves (a Deployment in wave 1), ``DOOMED`` if asked."""
    files: dict[str, str | None] = {
        f"app/{name}.yaml": configmap(name, wave) for wave, names in WAVES.items() for name in names
    }
    files["app/web.yaml"] = DEPLOYMENT
    for hook, prefix in HOOK_PREFIXES.items():
        files[f"app/{prefix}.yaml"] = job_hook(hook, prefix)
    if doomed:
        files |= {f"app/{name}.yaml": configmap(name, 2) for name in DOOMED}
    return files


def removal_of_doomed() -> dict[str, str | None]:
    """The commit that removes ``DOOMED`` from :func:`hooked_app`."""
    return {f"app/{name}.yaml": None for name in DOOMED}


def wave_of(name: str) -> int | None:
    """The wave a :func:`hooked_app` ConfigMap belongs to (``None`` for other names)."""
    return next((wave for wave, names in WAVES.items() if name in names), None)


def fault_app(name: str, repo_url: str, *, retry: bool = False) -> dict[str, Any]:
    """An automated, pruning Application of ``app/`` in ``repo_url``, deploying to ``name``.

    ``retry`` adds ``syncPolicy.retry``, as an Argo CD user does for syncs that transient
    API errors may fail (a failed automated sync is otherwise not repeated on the same
    revision).
    """
    manifest: dict[str, Any] = application(name, repo_url, name, automated={"prune": True})
    if retry:
        manifest["spec"]["syncPolicy"]["retry"] = {
            "limit": 10,
            "backoff": {"duration": "1s", "factor": 2, "maxDuration": "4s"},
        }
    return manifest


def settled_at(harness: Harness, revision: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate: the app is settled (Synced, Healthy, no operation pending) at ``revision``."""

    def predicate(app: dict[str, Any]) -> bool:
        sync = (app.get("status") or {}).get("sync") or {}
        return harness.settled(app) and sync.get("revision") == revision

    return predicate


@dataclass(frozen=True, slots=True)
class Bystander:
    """An object an application must never touch, as it was when placed."""

    name: str
    namespace: str
    uid: str
    resource_version: str


async def place_bystanders(client: KubeClient, namespace: str) -> list[Bystander]:
    """Create ``namespace`` with an untracked ConfigMap and one tracked by another app."""
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    foreign = format_tracking_id(
        "another-app", ResourceKey("", "ConfigMap", namespace, "neighbour")
    )
    placed = []
    for name, tracking in (("bystander", {}), ("neighbour", {keys.TRACKING_ID: foreign})):
        created = await client.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace, "annotations": tracking},
                "data": {"owner": "another-app" if tracking else "nobody"},
            },
            field_manager="someone-else",
        )
        metadata = created["metadata"]
        placed.append(Bystander(name, namespace, metadata["uid"], metadata["resourceVersion"]))
    return placed


async def assert_untouched(client: KubeClient, bystanders: list[Bystander], context: str) -> None:
    """Every bystander still exists, unchanged (same uid and resourceVersion)."""
    for bystander in bystanders:
        live = await client.get("v1", "ConfigMap", bystander.name, bystander.namespace)
        metadata = live["metadata"]
        assert (metadata["uid"], metadata["resourceVersion"]) == (
            bystander.uid,
            bystander.resource_version,
        ), f"{context}: {bystander.namespace}/{bystander.name} was touched"


def tracked_names(objects: list[dict[str, Any]], app: str) -> set[str]:
    """Names of the objects carrying ``app``'s tracking id."""
    return {
        o["metadata"]["name"]
        for o in objects
        if str((o["metadata"].get("annotations") or {}).get(keys.TRACKING_ID, "")).startswith(
            f"{app}:"
        )
    }
