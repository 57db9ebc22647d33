"""Fault: the controller's disk fills up under its Git mirrors, checkouts and render scratch.

What must hold while a refresh fails for lack of space, at whichever step it runs out
(:class:`~diskpayloads.DiskStage`: the fetch, the checkout, Helm's dependency build in
the render's scratch space):

- the app says so: sync status ``Unknown`` and a ``ComparisonError`` naming the cause
  (``No space left on device``), and keeps saying it on every later refresh instead of
  falling back to the stale mirror and reporting ``Synced``;
- the app keeps its last known state: no sync starts, nothing is changed, nothing is
  pruned (the desired state could not be computed, so it is not "empty");
- the controller keeps running and keeps serving an app whose refresh fits;
- once space is freed, the app converges without a restart, in one sync.

The disk is a real small file system when the machine allows a private mount
namespace, else a real per-file size limit (see :mod:`diskspace`); the mechanism that
ran is printed with the test's output.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from appmanifests import application, conditions_of, configmap
from diskpayloads import PATH, DiskStage, stage_plan
from diskspace import DiskMechanism, SmallDiskController, detect_mechanism
from faultbudget import SEED, trials
from gitserver import GitServer, RemoteRepo

from tether.kube import NotFound

if TYPE_CHECKING:
    from controllerharness import Harness

#: How the failure reads, per mechanism (Go programs spell it in lower case).
CAUSE = {
    DiskMechanism.TMPFS: "No space left on device",
    DiskMechanism.FSIZE: "File too large",
}
#: The periodic refresh, short so that recovery is noticed without any event.
SETTINGS = {"timeout.reconciliation": "1s", "timeout.reconciliation.jitter": "0s"}


def revision_of(app: dict[str, Any]) -> str:
    """The revision the app's sync status names."""
    return str(((app.get("status") or {}).get("sync") or {}).get("revision", ""))


def history_of(app: dict[str, Any]) -> list[dict[str, Any]]:
    """The app's deployment history, oldest first."""
    return list((app.get("status") or {}).get("history") or [])


async def color_of(harness: Harness, name: str, namespace: str) -> str | None:
    """The ``color`` of a live ConfigMap, ``None`` when it does not exist."""
    try:
        found = await harness.client.get("v1", "ConfigMap", name, namespace)
    except NotFound:
        return None
    return str((found.get("data") or {}).get("color"))


def big_application(repo: RemoteRepo, stage: DiskStage) -> dict[str, Any]:
    """The automated, pruning app of the stage's repository."""
    manifest = application(
        "big", repo.url_git, "big-ns", path=PATH, automated={"prune": True, "selfHeal": True}
    )
    if stage is DiskStage.HELM:
        manifest["spec"]["source"]["helm"] = {"releaseName": "big"}
    if stage is DiskStage.KUSTOMIZE:
        manifest["spec"]["source"]["kustomize"] = {"images": ["example/unused:1.0"]}
    return manifest


@pytest.fixture
def mechanism() -> DiskMechanism:
    """The small-disk mechanism this machine allows, printed with the output."""
    found = detect_mechanism()
    print(f"full-disk mechanism: {found.value}")
    return found


@pytest.mark.parametrize("trial", range(trials(1, 3)))
@pytest.mark.parametrize("stage", list(DiskStage))
async def test_a_full_disk_fails_the_refresh_clearly_and_loses_nothing(
    stage: DiskStage,
    trial: int,
    mechanism: DiskMechanism,
    management: Harness,
    local_cluster: Any,
    git_server_session: GitServer,
    tmp_path: Path,
) -> None:
    harness = management
    rng = random.Random(f"{SEED}-{stage}-{trial}")
    plan = stage_plan(stage, rng)
    room = rng.randint(*plan.room) if mechanism is DiskMechanism.TMPFS else plan.per_file_room
    if room is None:
        pytest.skip(f"a per-file size limit cannot fail the {stage} stage alone")
    replay = f"seed {SEED}, {stage} trial {trial}, {room} bytes left"
    big = git_server_session.create_repo()
    big.push(plan.first, "first revision")
    small = harness.repo
    small.push({"small/cm.yaml": configmap("small", "blue")}, "small app")
    await harness.client.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-cm", "namespace": harness.namespace},
            "data": SETTINGS,
        }
    )
    controller = SmallDiskController(
        local_cluster.kubeconfig, tmp_path / "data", tmp_path / "controller.log", size=12 << 20
    )
    controller.start()
    try:
        await harness.client.apply(
            application("small", small.url_file, "small-ns", path="small", automated={})
        )
        await harness.client.apply(big_application(big, stage))
        await harness.wait_app("small", harness.settled)
        settled = await harness.wait_app("big", harness.settled)
        first_sha = revision_of(settled)
        assert len(history_of(settled)) == 1

        controller.fill(room)
        second_sha = big.push(plan.second, "second revision: needs more room")
        small_sha = small.push({"small/cm.yaml": configmap("small", "green")}, "small change")
        for name in ("small", "big"):
            await harness.refresh(name)  # as a push webhook does

        # The app whose refresh fits is served as before.
        await harness.wait_app(
            "small", lambda a: harness.settled(a) and revision_of(a) == small_sha
        )
        assert await color_of(harness, "small", "small-ns") == "green"

        # The other tells the truth and keeps its last known state, refresh after refresh.
        failing = await harness.wait_app("big", lambda a: harness.sync_status(a) == "Unknown")
        error = conditions_of(failing).get("ComparisonError", "")
        print(f"{replay}: {error}")
        assert error.startswith("failed to "), f"{replay}: {error}"
        # The cause, said once, at the end: not a list of every file that failed.
        assert error.lower().endswith(CAUSE[mechanism].lower()), f"{replay}: {error}"
        assert error.lower().count(CAUSE[mechanism].lower()) == 1, f"{replay}: {error}"
        await asyncio.sleep(1.2)  # longer than the periodic refresh: it failed again
        app = await harness.app("big")
        assert harness.sync_status(app) == "Unknown", app["status"]
        assert "ComparisonError" in conditions_of(app), app["status"]
        assert history_of(app) == history_of(settled), f"{replay}: synced on a full disk"
        assert revision_of(app) in ("", first_sha)  # unknown, or the last known
        for field in ("resources", "health"):
            assert app["status"].get(field) == settled["status"].get(field), replay
        assert await color_of(harness, "big-a", "big-ns") == "blue"
        assert await color_of(harness, "big-b", "big-ns") == "blue", f"{replay}: pruned"
        assert controller.alive(), controller.log_text()[-2000:]

        # Space comes back: the app converges by itself, in one sync.
        controller.release()
        done = await harness.wait_app(
            "big", lambda a: harness.settled(a) and revision_of(a) == second_sha, 30
        )
        assert "ComparisonError" not in conditions_of(done)
        assert [h["revision"] for h in history_of(done)] == [first_sha, second_sha]
        assert await color_of(harness, "big-a", "big-ns") == "red"
        await harness.wait_object(
            "v1", "ConfigMap", "big-b", "big-ns", lambda found: found is None, 10
        )
        assert controller.leftovers() == [], replay
        assert controller.alive()
    finally:
        controller.stop()
