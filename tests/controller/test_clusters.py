"""Destination clusters: cluster Secrets from kubeconfigs, and syncing to a second cluster."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from appmanifests import application, conditions_of, configmap

from tether.controller.clusters import ConnectionStatus, cluster_config_from_secret
from tether.controller.clustersecret import ClusterSecretError, cluster_secret
from tether.kube import KubeClient, NotFound, load_kubeconfig
from tether.localcluster.launcher import LocalClusterProcess

if TYPE_CHECKING:
    from conftest import Harness

TETHER = str(Path(sys.executable).with_name("tether"))


def kubeconfig(user: dict[str, Any], server: str = "https://10.0.0.5:6443") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": server, "certificate-authority": "ca.crt"}}
        ],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "prod",
    }


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"token": "s3cret"}, {"bearerToken": "s3cret"}),
        (
            {"client-certificate-data": "Q0VSVA==", "client-key": "key.pem"},
            {"certData": "Q0VSVA==", "keyData": base64.b64encode(b"KEY").decode()},
        ),
    ],
    ids=["token", "client-certificate"],
)
def test_a_context_becomes_an_argo_cd_cluster_secret(
    tmp_path: Path, user: dict[str, Any], expected: dict[str, str]
) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "key.pem").write_bytes(b"KEY")
    secret = cluster_secret(kubeconfig(user), "prod", "argocd", base_dir=tmp_path)
    assert secret["metadata"]["labels"] == {"argocd.argoproj.io/secret-type": "cluster"}
    data = secret["stringData"]
    assert (data["name"], data["server"]) == ("prod", "https://10.0.0.5:6443")
    config = json.loads(data["config"])
    tls = config["tlsClientConfig"]
    assert tls["caData"] == base64.b64encode(b"CA").decode()
    for key, value in expected.items():
        assert (config.get(key) or tls.get(key)) == value
    # The controller reads it back.
    name, server, _ = cluster_config_from_secret(
        {"data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
    )
    assert (name, server) == ("prod", "https://10.0.0.5:6443")


@pytest.mark.parametrize(
    ("user", "context", "message"),
    [
        ({"token": "t"}, "staging", "staging: it does not exist"),
        ({"exec": {"command": "aws"}}, "prod", "exec and auth-provider credentials"),
        ({}, "prod", "neither a token nor a client certificate"),
        ({"client-certificate": "missing.pem", "client-key": "k"}, "prod", "missing.pem"),
    ],
)
def test_unusable_contexts_are_refused(
    tmp_path: Path, user: dict[str, Any], context: str, message: str
) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    with pytest.raises(ClusterSecretError, match=message) as caught:
        cluster_secret(kubeconfig(user), context, "argocd", base_dir=tmp_path)
    assert "s3cret" not in str(caught.value)


def merged_kubeconfig(management: Path, second: Path, into: Path) -> Path:
    """One kubeconfig with both local clusters, as contexts ``management`` and ``second``."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "current-context": "management"}
    for label, path in (("management", management), ("second", second)):
        config = yaml.safe_load(path.read_text())
        for section in ("clusters", "users", "contexts"):
            entry = dict(config[section][0])
            entry["name"] = label
            if section == "contexts":
                entry["context"] = {"cluster": label, "user": label}
            merged.setdefault(section, []).append(entry)
    into.write_text(yaml.safe_dump(merged))
    return into


async def test_apps_sync_to_a_second_cluster_added_with_the_cli(
    harness: Harness, local_cluster: Any, tmp_path: Path
) -> None:
    second = LocalClusterProcess(tmp_path / "second").start()
    try:
        merged = merged_kubeconfig(local_cluster.kubeconfig, second.kubeconfig, tmp_path / "merged")
        process = await asyncio.create_subprocess_exec(
            TETHER,
            "cluster",
            "add",
            "second",
            "--kubeconfig",
            str(merged),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        assert "added as 'second'" in out.decode()

        name = harness.new_app_name()
        harness.repo.push({f"{name}/cm.yaml": configmap("remote", "blue")}, "remote")
        manifest = application(
            name, harness.repo.url_file, "remote-ns", path=name, automated={"selfHeal": True}
        )
        manifest["spec"]["destination"] = {"name": "second", "namespace": "remote-ns"}
        await harness.client.apply(manifest)
        await harness.wait_app(name, harness.settled)

        async with KubeClient(load_kubeconfig(second.kubeconfig)) as remote:
            live = await remote.get("v1", "ConfigMap", "remote", "remote-ns")
            assert live["data"] == {"color": "blue"}
            with pytest.raises(NotFound):
                await harness.client.get("v1", "ConfigMap", "remote", "remote-ns")
            # Drift on the second cluster is healed from its own watch.
            await remote.patch("v1", "ConfigMap", "remote", "remote-ns", {"data": {"color": "red"}})
            async with asyncio.timeout(30):
                while True:
                    live = await remote.get("v1", "ConfigMap", "remote", "remote-ns")
                    if live["data"]["color"] == "blue":
                        break
                    await asyncio.sleep(0.05)

        assert harness.controller is not None
        remote_connection = harness.controller.clusters.resolve("", "second")
        assert remote_connection.connection_state().status is ConnectionStatus.SUCCESSFUL

        # A destination no Secret names is refused.
        manifest["metadata"]["name"] = f"{name}-nowhere"
        manifest["spec"]["destination"] = {"name": "third", "namespace": "remote-ns"}
        await harness.client.apply(manifest)
        app = await harness.wait_app(
            f"{name}-nowhere", lambda a: "InvalidSpecError" in conditions_of(a)
        )
        assert (
            "there are no clusters with this name: third" in conditions_of(app)["InvalidSpecError"]
        )
        # The second cluster goes away: its connection is reported as failed.
        second.stop()
        async with asyncio.timeout(30):
            while True:
                state = remote_connection.connection_state()
                if state.status is ConnectionStatus.FAILED:
                    break
                await asyncio.sleep(0.1)
        assert "second" in state.message
    finally:
        second.stop()
