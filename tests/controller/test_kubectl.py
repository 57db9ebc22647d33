"""End to end with the real kubectl: apply an Application, scale what it manages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tether.tools import find_tool

if TYPE_CHECKING:
    from conftest import Harness

TESTDATA = Path(__file__).parents[2] / "testdata" / "controller"


async def kubectl(kubeconfig: Path, *args: str, stdin: str = "") -> str:
    """Run kubectl against the local cluster; fail the test on a non-zero exit."""
    process = await asyncio.create_subprocess_exec(
        str(find_tool("kubectl")),
        "--kubeconfig",
        str(kubeconfig),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_kubectl_applied_app_syncs_and_kubectl_scale_is_healed(
    harness: Harness, local_cluster: Any
) -> None:
    harness.repo.push(
        {"guestbook/app.yaml": (TESTDATA / "deployment-guestbook.yaml").read_text()}, "guestbook"
    )
    manifest = yaml.safe_load((TESTDATA / "application-guestbook.yaml").read_text())
    manifest["spec"]["source"]["repoURL"] = harness.repo.url_git
    await kubectl(local_cluster.kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump(manifest))

    app = await harness.wait_app("guestbook", harness.settled, seconds=60)
    assert app["status"]["summary"]["images"] == ["registry.example/guestbook-ui:0.2"]
    kinds = {(r["kind"], r["health"]["status"]) for r in app["status"]["resources"]}
    assert kinds == {("Deployment", "Healthy"), ("Service", "Healthy")}

    await kubectl(
        local_cluster.kubeconfig,
        "-n",
        "guestbook",
        "scale",
        "deployment/guestbook-ui",
        "--replicas=5",
    )
    await harness.wait_object(
        "apps/v1",
        "Deployment",
        "guestbook-ui",
        "guestbook",
        lambda o: o is not None and o["spec"]["replicas"] == 2 and o["metadata"]["generation"] > 1,
    )
    app = await harness.wait_app(
        "guestbook",
        lambda a: (
            harness.settled(a)
            and a["status"]["operationState"]["operation"]["sync"].get("autoHealAttemptsCount") == 1
        ),
        seconds=60,
    )
