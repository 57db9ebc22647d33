"""What the long-running commands take from the cluster: repository credentials, SOPS keys."""

from __future__ import annotations

import base64
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gitserver import RemoteRepo, repo_secret
from pyrage import x25519

from tether.cli import wiring
from tether.kube import KubeClient, load_kubeconfig
from tether.source import AuthenticationFailed

_namespaces = itertools.count()


@pytest.fixture
async def client(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as kube:
        yield kube


@pytest.fixture
async def namespace(client: KubeClient) -> str:
    name = f"wiring-{next(_namespaces)}"
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


async def test_private_repositories_use_the_cluster_repository_secret(
    client: KubeClient, namespace: str, git_repo: RemoteRepo, tmp_path: Path
) -> None:
    cache, secrets = await wiring.git_cache(client, namespace, tmp_path / "git")
    try:
        with pytest.raises(AuthenticationFailed) as refused:
            await cache.resolve(git_repo.url_http, "main")
        assert git_repo.password not in str(refused.value)
        secret = repo_secret(git_repo.url_http, git_repo.username, git_repo.password)
        secret["metadata"]["namespace"] = namespace
        await client.apply(secret)
        await secrets.refresh()
        revision = await cache.resolve(git_repo.url_http, "main")
        assert len(revision.sha) == 40
    finally:
        await secrets.close()


async def test_sops_keys_come_from_the_tether_sops_age_secret(
    client: KubeClient, namespace: str
) -> None:
    assert (await wiring.sops_settings(client, namespace)).sops_identities == ()
    identity = x25519.Identity.generate()
    key_file = f"# demo key\n{identity}\n"
    await client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": wiring.SOPS_SECRET, "namespace": namespace},
            "data": {"demo.agekey": base64.b64encode(key_file.encode()).decode()},
        }
    )
    settings = await wiring.sops_settings(client, namespace)
    assert [str(i.to_public()) for i in settings.sops_identities] == [str(identity.to_public())]
