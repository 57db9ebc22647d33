"""Crash safety: ``kill -9`` the controller at random moments of multi-wave syncs.

Twenty trials, seeded: each creates an app whose sync has a PreSync hook, three waves
and a PostSync hook, waits a random moment, kills the controller process and starts it
again. Afterwards every app must have converged and no hook may have been created
twice (a hook created again would have run again). The PreSync hook is a Job named by
``generateName`` (the operation names it; the simulated kubelet runs it for about a
second), the PostSync hook a ConfigMap with a fixed name (complete once it exists).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appmanifests import application
from controllerprocess import ControllerProcess

from tether.kube import KubeError

if TYPE_CHECKING:
    from conftest import Harness

TRIALS = 20
SEED = 20261122
HOOK = "argocd.argoproj.io/hook"

WAVE = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: wave-{wave}
  annotations: {{argocd.argoproj.io/sync-wave: "{wave}"}}
data: {{wave: "{wave}"}}
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
  name: post
  annotations: {argocd.argoproj.io/hook: PostSync}
data: {phase: post}
"""


def app_files(path: str) -> dict[str, str | None]:
    files: dict[str, str | None] = {
        f"{path}/wave-{wave}.yaml": WAVE.format(wave=wave) for wave in range(3)
    }
    files[f"{path}/pre.yaml"] = PRE_SYNC
    files[f"{path}/post.yaml"] = POST_SYNC
    return files


async def record_hook_creations(
    harness: Harness, api_version: str, kind: str, created: Counter[tuple[str, str]]
) -> None:
    """Count every ADDED event of a hook of ``kind``, in every namespace, until cancelled."""
    while True:
        try:
            async for event in harness.client.watch(api_version, kind):
                metadata = event.object.get("metadata") or {}
                if event.type == "ADDED" and HOOK in (metadata.get("annotations") or {}):
                    created[(metadata["namespace"], metadata["name"])] += 1
        except KubeError:
            await asyncio.sleep(0.1)


async def test_killed_controllers_converge_without_running_a_hook_twice(
    management: Harness, local_cluster: Any, tmp_path: Path
) -> None:
    harness = management
    rng = random.Random(SEED)
    names = [f"crash-{trial}" for trial in range(TRIALS)]
    files: dict[str, str | None] = {}
    for name in names:
        files |= app_files(name)
    sha = harness.repo.push(files, "twenty apps")
    created: Counter[tuple[str, str]] = Counter()
    recorders = [
        asyncio.create_task(record_hook_creations(harness, "batch/v1", "Job", created)),
        asyncio.create_task(record_hook_creations(harness, "v1", "ConfigMap", created)),
    ]
    controller = ControllerProcess(local_cluster.kubeconfig, tmp_path / "controller").start()
    try:
        for name in names:
            await harness.client.apply(
                application(name, harness.repo.url_file, name, path=name, automated={"prune": True})
            )
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            controller.kill()
            controller.start()
        for name in names:
            app = await harness.wait_app(
                name,
                lambda a: harness.settled(a) and a["status"]["sync"].get("revision") == sha,
                seconds=60,
            )
            assert [r["name"] for r in app["status"]["resources"]] == [
                "wave-0",
                "wave-1",
                "wave-2",
            ]
            assert len(app["status"]["history"]) == 1
        await asyncio.sleep(0.5)  # let the last watch events arrive
    finally:
        for recorder in recorders:
            recorder.cancel()
        controller.stop()
    hooks_by_app = Counter(namespace for namespace, _ in created)
    assert hooks_by_app == dict.fromkeys(names, 2), created
    assert all(count == 1 for count in created.values()), created
