"""The demo's "things to try", done as a user does them: ``tether up --demo``, git, kubectl.

One ``tether up --demo`` process tree serves the whole walk-through (starting it is the
expensive part); every step changes Git or the cluster and waits, bounded, for tether
to react. Refreshes are asked for with the ``argocd.argoproj.io/refresh`` annotation
instead of waiting for polling.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from tether.tools import find_tool

TETHER = Path(sys.executable).with_name("tether")
KUBECTL = str(find_tool("kubectl"))
IMAGE = "ghcr.io/stefanprodan/podinfo"
HEALTHY = ("Synced", "Healthy")
T = TypeVar("T")
#: What each demo app settles to. podinfo-prod is synced by hand; canary is broken on
#: purpose. The last four come from the two ApplicationSets.
INTENDED = {
    "root": HEALTHY,
    "guestbook": HEALTHY,
    "settings": HEALTHY,
    "dashboards": HEALTHY,
    "secrets": HEALTHY,
    "orders": HEALTHY,
    "podinfo-dev": HEALTHY,
    "podinfo-staging": HEALTHY,
    "podinfo-prod": ("OutOfSync", "Missing"),
    "enabled-apps": HEALTHY,
    "redis": HEALTHY,
    "canary": ("Synced", "Degraded"),
    "storefront": HEALTHY,
    "inventory": HEALTHY,
    "client-acme": HEALTHY,
    "client-globex": HEALTHY,
}


@dataclass
class Demo:
    """A running ``tether up --demo`` and the user's handles on it."""

    data_dir: Path
    process: subprocess.Popen[str] | None = None
    children: tuple[psutil.Process, ...] = ()
    output: str = ""
    settle_seconds: float = 0.0

    def start(self) -> None:
        """Run ``tether up --demo`` until it says everything settled."""
        started = time.monotonic()
        self.process = subprocess.Popen(
            [
                str(TETHER),
                "up",
                "--demo",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(free_port()),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.output = read_until(self.process, "press Ctrl-C to stop", 120)
        self.settle_seconds = time.monotonic() - started
        self.children = tuple(psutil.Process(self.process.pid).children(recursive=True))

    def stop(self) -> None:
        """Ctrl-C: everything stops, nothing is left running."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finally:
            self.process = None
        time.sleep(0.5)
        left = [c for c in self.children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert not left

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def work_tree(self) -> Path:
        return self.data_dir / "demo" / "gitops-repo"

    def kubectl(self, *args: str) -> str:
        return subprocess.run(
            [KUBECTL, "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = json.loads(
                self.kubectl("get", kind, name, "-n", namespace, "-o", "json")
            )
        except subprocess.CalledProcessError as error:
            if "NotFound" in error.stderr:
                return None
            raise
        return found

    def apps(self) -> dict[str, dict[str, Any]]:
        listed = json.loads(self.kubectl("get", "applications", "-n", "argocd", "-o", "json"))
        return {a["metadata"]["name"]: a for a in listed["items"]}

    def refresh(self, app: str) -> None:
        self.kubectl(
            "annotate", "application", app, "-n", "argocd", "--overwrite",
            "argocd.argoproj.io/refresh=normal",
        )  # fmt: skip

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=demo user", "-c", "user.email=user@example.invalid", *args],
            cwd=self.work_tree,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()

    def tether(self, *args: str) -> str:
        result = subprocess.run(
            [
                str(TETHER),
                *args,
                "--repo",
                str(self.work_tree),
                "--kubeconfig",
                str(self.kubeconfig),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def wait_for(what: str, probe: Callable[[], T | None], seconds: float = 30) -> T:
    """Poll ``probe`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + seconds
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> str:
    """Read stdout (bounded in time) until ``marker`` appears."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    os.set_blocking(descriptor, False)
    seen = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = os.read(descriptor, 65536).decode(errors="replace")
        except BlockingIOError:
            chunk = ""
        if chunk:
            seen += chunk
            if marker in seen:
                return seen
        elif process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"never saw {marker!r}; output: {seen}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("demo"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def state(app: dict[str, Any]) -> tuple[str, str]:
    status = app.get("status") or {}
    return (status.get("sync") or {}).get("status", ""), (status.get("health") or {}).get(
        "status", ""
    )


def test_every_demo_app_reaches_its_intended_state(demo: Demo) -> None:
    print(f"tether up --demo: all apps settled {demo.settle_seconds:.1f} s after start")
    apps = demo.apps()
    assert {name: state(app) for name, app in apps.items()} == INTENDED
    # The Pod is Degraded with the kubelet's ImagePullBackOff message.
    (broken,) = [r for r in apps["canary"]["status"]["resources"] if r["kind"] == "Pod"]
    assert broken["health"]["status"] == "Degraded"
    assert broken["health"]["message"].startswith(f'Back-off pulling image "{IMAGE}:doesnotexist"')
    pod = demo.get("pod", "canary", "canary")
    assert pod is not None
    waiting = pod["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    secret = demo.get("secret", "db-credentials", "secrets")
    assert secret is not None
    assert set(secret["data"]) == {"username", "password"}
    hooks = {
        r["name"]: (r.get("hookType"), r.get("hookPhase"))
        for r in apps["orders"]["status"]["operationState"]["syncResult"]["resources"]
        if r.get("hookType")
    }
    assert hooks == {
        "orders-migrate": ("PreSync", "Succeeded"),
        "orders-smoke-test": ("PostSync", "Succeeded"),
    }


def test_a_manual_sync_brings_prod_up(demo: Demo) -> None:
    # A sync requested the way the demo's README shows: set the Application's operation.
    operation: dict[str, Any] = {"sync": {}}
    demo.kubectl(
        "patch", "application", "podinfo-prod", "-n", "argocd", "--type", "merge",
        "-p", json.dumps({"operation": operation}),
    )  # fmt: skip
    wait_for("podinfo-prod synced", lambda: state(demo.apps()["podinfo-prod"]) == HEALTHY)
    pdb = demo.get("poddisruptionbudget", "podinfo", "podinfo-prod")
    assert pdb is not None
    assert pdb["spec"]["maxUnavailable"] == 1
    deployment = demo.get("deployment", "podinfo", "podinfo-prod")
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 3


def flag(demo: Demo, key: str) -> str | None:
    config_map = demo.get("configmap", "feature-flags", "settings") or {}
    value: str | None = (config_map.get("data") or {}).get(key)
    return value


def test_a_commit_reaches_the_cluster(demo: Demo) -> None:
    path = demo.work_tree / "platform/settings/configmap.yaml"
    path.write_text(path.read_text().replace('checkout.v2: "false"', 'checkout.v2: "true"'))
    demo.git("commit", "--quiet", "-am", "feat(settings): enable the new checkout")
    demo.git("push", "--quiet")
    demo.refresh("settings")
    wait_for("the committed flag", lambda: flag(demo, "checkout.v2") == "true")


def test_self_heal_reverts_a_manual_edit(demo: Demo) -> None:
    demo.kubectl(
        "patch", "configmap", "feature-flags", "-n", "settings", "--type", "merge",
        "-p", '{"data": {"search.suggestions": "false"}}',
    )  # fmt: skip
    wait_for("self-heal", lambda: flag(demo, "search.suggestions") == "true")


def test_moving_an_app_to_apps_disabled_prunes_it(demo: Demo) -> None:
    assert demo.get("statefulset", "redis", "redis") is not None
    demo.git("mv", "apps-enabled/app-redis.yaml", "apps-disabled/")
    demo.git("commit", "--quiet", "-m", "chore: disable redis")
    demo.git("push", "--quiet")
    demo.refresh("enabled-apps")
    wait_for("redis pruned", lambda: "redis" not in demo.apps())
    wait_for("its objects pruned", lambda: demo.get("statefulset", "redis", "redis") is None)


def image_of(demo: Demo, namespace: str) -> str:
    deployment = demo.get("deployment", "podinfo", namespace) or {}
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return str(containers[0]["image"])


def test_promote_an_image_then_revert_it(demo: Demo) -> None:
    said = demo.tether("image", "set", "podinfo-dev", f"{IMAGE}=6.5.2", "--push")
    assert f"images[{IMAGE}].newTag 6.5.1 -> 6.5.2" in said
    demo.refresh("podinfo-dev")
    wait_for("dev on 6.5.2", lambda: image_of(demo, "podinfo-dev") == f"{IMAGE}:6.5.2")

    said = demo.tether("promote", "podinfo", "--from", "dev", "--to", "staging", "--push")
    assert "chore(podinfo-staging): promote images from dev to staging" in said
    demo.refresh("podinfo-staging")
    wait_for("staging on 6.5.2", lambda: image_of(demo, "podinfo-staging") == f"{IMAGE}:6.5.2")

    demo.git("revert", "--no-edit", "HEAD")
    demo.git("push", "--quiet")
    demo.refresh("podinfo-staging")
    wait_for("staging back on 6.5.0", lambda: image_of(demo, "podinfo-staging") == f"{IMAGE}:6.5.0")
    wait_for("staging healthy", lambda: state(demo.apps()["podinfo-staging"]) == HEALTHY)


def test_a_second_up_resumes_the_same_demo(demo: Demo) -> None:
    history = demo.git("log", "--format=%H")
    before = {name: state(app) for name, app in demo.apps().items()}
    demo.stop()
    demo.start()
    assert demo.git("log", "--format=%H") == history  # the user's commits are kept
    expected = {**INTENDED, "podinfo-prod": HEALTHY}
    del expected["redis"]  # disabled above
    assert before == expected
    assert {name: state(app) for name, app in demo.apps().items()} == expected
