"""``tether app diff`` against a server started without a renderer: a clear error, exit 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from clitools import TETHER, GitRepo, Tether, invoke, read_until, stop

from tether.cli.client import ApiClient, connect
from tether.cli.contexts import load_config


def test_diff_says_the_server_cannot_render(tether: Tether, repo: GitRepo, config: Path) -> None:
    with ApiClient(connect(config=load_config(config))) as client:
        client.post(
            "/api/v1/applications",
            "create application no-renderer",
            {
                "metadata": {"name": "no-renderer"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo.url, "path": "guestbook", "targetRevision": "main"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
                },
            },
        )
    # ``tether server`` alone has no manifest source; it shares the cluster, hence the
    # signing key, so the session token of ``tether up`` is valid there too.
    server = subprocess.Popen(
        [str(TETHER), "server", "--kubeconfig", str(tether.kubeconfig), "--port", "0",
         "--no-install"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        ready = read_until(server, "tether server ready at", 60)
        url = ready.split("tether server ready at", 1)[1].split()[0]
        token = yaml.safe_load(config.read_text())["users"][0]["auth-token"]
        diff = tether.run(
            "app", "diff", "no-renderer", "--server", url, "--auth-token", token, config=config
        )
        manifests = invoke(
            config, "app", "manifests", "no-renderer", "--server", url, "--auth-token", token
        )
    finally:
        stop(server)
    assert manifests.code == 2
    assert manifests.stderr == (
        "error: failed to get the manifests of application no-renderer: failed to render "
        "application manifests: this server has no manifest source\n"
    )
    assert diff.code == 2
    assert diff.stderr == (
        "error: failed to diff application no-renderer: the server has no renderer, so it "
        "cannot tell the desired state (render offline with tether app manifests --local)\n"
    )
