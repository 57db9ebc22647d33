"""Fetching over SSH with a key held in memory (skipped where no sshd is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitserver import RemoteRepo, SSHServer, repo_secret

from tether.source import CredentialStore, GitCache, RepositoryUnreachable, StaticSecrets


def ssh_cache(
    tmp_path: Path, url: str, key: str, *, insecure: bool, known_hosts: str | None = None
) -> GitCache:
    options = {"insecure": "true"} if insecure else {}
    secret = repo_secret(url, sshPrivateKey=key, **options)
    store = CredentialStore(StaticSecrets((secret,)))
    return GitCache(
        tmp_path / "cache", credentials=store, fetch_timeout=15.0, ssh_known_hosts=known_hosts
    )


async def test_fetch_and_fetch_by_sha_over_ssh(
    tmp_path: Path, ssh_server: SSHServer, git_repo: RemoteRepo
) -> None:
    url = ssh_server.url(git_repo)
    cache = ssh_cache(tmp_path, url, ssh_server.client_private_key, insecure=True)
    sha = git_repo.push({"app.yaml": "kind: ConfigMap\n"}, "over ssh")

    assert (await cache.resolve(url, "main")).sha == sha
    hidden = git_repo.unreferenced_commit({"hidden": "x"}, "by sha only")
    assert (await cache.resolve(url, hidden)).sha == hidden


async def test_unknown_host_key_is_refused(
    tmp_path: Path, ssh_server: SSHServer, git_repo: RemoteRepo
) -> None:
    url = ssh_server.url(git_repo)
    cache = ssh_cache(tmp_path, url, ssh_server.client_private_key, insecure=False, known_hosts="")

    with pytest.raises(RepositoryUnreachable, match="host key") as caught:
        await cache.refresh(url)
    assert ssh_server.client_private_key not in str(caught.value)


async def test_known_hosts_make_the_host_trusted(
    tmp_path: Path, ssh_server: SSHServer, git_repo: RemoteRepo
) -> None:
    url = ssh_server.url(git_repo)
    cache = ssh_cache(
        tmp_path,
        url,
        ssh_server.client_private_key,
        insecure=False,
        known_hosts=ssh_server.known_hosts,
    )
    sha = git_repo.head()

    assert (await cache.resolve(url, "main")).sha == sha
    hidden = git_repo.unreferenced_commit({"hidden": "y"}, "by sha, host key checked")
    assert (await cache.resolve(url, hidden)).sha == hidden
