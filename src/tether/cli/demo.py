"""The demo that ``tether up --demo`` installs: a local GitOps repository and its root app.

The repository is a copy of ``examples/gitops-repo`` committed into a fresh Git
repository under the data folder (once: a second ``tether up --demo`` on the same
folder reuses it, so the user's commits survive). One root Application points at its
``root/`` folder, whose files are Applications (app-of-apps).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.kube import KubeClient, NotFound

#: The demo repository in a source checkout of tether.
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "gitops-repo"
ROOT_APP = "root"


class DemoError(RuntimeError):
    """The demo could not be prepared."""


@dataclass(frozen=True, slots=True)
class Demo:
    """Where the demo repository is and how tether reaches it."""

    work_tree: Path
    repo_url: str


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=tether demo", "-c", "user.email=demo@tether.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise DemoError(f"failed to run git {args[0]} in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def prepare_repository(data_dir: Path) -> Demo:
    """The demo's Git repository under ``data_dir`` (created from the examples once)."""
    bare = data_dir / "demo" / "gitops-repo.git"
    work = data_dir / "demo" / "gitops-repo"
    url = f"file://{bare}"
    if bare.exists():
        return Demo(work, url)
    if not EXAMPLES.is_dir():
        raise DemoError(f"failed to find the demo repository: {EXAMPLES} does not exist")
    bare.parent.mkdir(parents=True, exist_ok=True)
    _git("init", "--bare", "--initial-branch=main", "--quiet", str(bare), cwd=bare.parent)
    shutil.copytree(EXAMPLES, work)
    for manifest in (work / "root").glob("*.yaml"):
        manifest.write_text(manifest.read_text().replace("REPO_URL", url))
    _git("init", "--initial-branch=main", "--quiet", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "--quiet", "-m", "Demo GitOps repository", cwd=work)
    _git("remote", "add", "origin", str(bare), cwd=work)
    _git("push", "--quiet", "origin", "main", cwd=work)
    return Demo(work, url)


def root_application(repo_url: str, namespace: str) -> dict[str, Any]:
    """The app-of-apps root: every Application under ``root/``."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": ROOT_APP, "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": "root", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


async def install_demo(client: KubeClient, demo: Demo, namespace: str) -> None:
    """Apply the root Application (idempotent)."""
    await client.apply(root_application(demo.repo_url, namespace))


async def wait_settled(client: KubeClient, namespace: str, seconds: float) -> list[dict[str, Any]]:
    """Wait (at most ``seconds``) until every Application has a sync and health status.

    Returns the Applications as last seen, settled or not.
    """
    apps: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                try:
                    apps = (
                        await client.list("argoproj.io/v1alpha1", "Application", namespace)
                    ).items
                except NotFound:
                    apps = []
                if len(apps) > 1 and all(_settled(app) for app in apps):
                    return apps
                await asyncio.sleep(0.25)
    except TimeoutError:
        return apps


def _settled(app: dict[str, Any]) -> bool:
    status = app.get("status") or {}
    operation = (status.get("operationState") or {}).get("phase")
    sync = (status.get("sync") or {}).get("status")
    health = (status.get("health") or {}).get("status")
    return (
        sync == "Synced"
        and health not in (None, "Progressing", "Missing")
        and operation != "Running"
    )
