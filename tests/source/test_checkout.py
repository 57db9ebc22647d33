"""Checkouts: content, symlinks, submodules, size caps, hostile trees, cleanup."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from gitserver import GitServer, RemoteRepo, git

from tether.source import (
    GitCache,
    RepositoryTooLarge,
    UnsafeRepositoryContent,
)


def checkout_cache(tmp_path: Path, **options: int) -> GitCache:
    (tmp_path / "checkouts").mkdir(exist_ok=True)
    return GitCache(
        tmp_path / "cache", checkout_dir=tmp_path / "checkouts", fetch_timeout=10.0, **options
    )


async def test_checkout_writes_files_modes_and_symlinks(
    tmp_path: Path, git_repo: RemoteRepo
) -> None:
    cache = checkout_cache(tmp_path)
    git_repo.push(
        {"apps/cm.yaml": "kind: ConfigMap\n", "bin/run.sh": "#!/bin/sh\n"},
        "content",
        symlinks={"apps/link.yaml": "cm.yaml", "escape": "../../../etc/passwd"},
    )
    git_repo.git("update-index", "--chmod=+x", "bin/run.sh")
    git_repo.git("commit", "-q", "-m", "executable")
    git_repo.git("push", "-q", "origin", "HEAD:refs/heads/main")
    sha = git_repo.head()

    async with cache.checkout(git_repo.url_git, "main") as checkout:
        root = checkout.path
        assert checkout.sha == sha
        assert root.parent == tmp_path / "checkouts"
        assert (root / "apps/cm.yaml").read_text() == "kind: ConfigMap\n"
        assert os.access(root / "bin/run.sh", os.X_OK)
        assert not os.access(root / "apps/cm.yaml", os.X_OK)
        # Symlinks are materialised as links, never followed or resolved.
        assert os.readlink(root / "apps/link.yaml") == "cm.yaml"
        assert os.readlink(root / "escape") == "../../../etc/passwd"
        assert not (root / ".git").exists()
        assert checkout.bytes_written > 0

    assert not root.exists()
    assert list((tmp_path / "checkouts").iterdir()) == []


async def test_folder_removed_on_error_and_on_cancellation(
    tmp_path: Path, git_repo: RemoteRepo
) -> None:
    cache = checkout_cache(tmp_path)
    seen: list[Path] = []

    async def render_and_fail() -> None:
        async with cache.checkout(git_repo.url_git, "main") as checkout:
            seen.append(checkout.path)
            raise RuntimeError("renderer failed")

    with pytest.raises(RuntimeError, match="renderer failed"):
        await render_and_fail()

    inside = asyncio.Event()

    async def render_forever() -> None:
        async with cache.checkout(git_repo.url_git, "main") as checkout:
            seen.append(checkout.path)
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(render_forever())
    await asyncio.wait_for(inside.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(seen) == 2
    assert seen[0] != seen[1]
    assert not any(path.exists() for path in seen)


async def test_checkout_size_cap(tmp_path: Path, git_repo: RemoteRepo) -> None:
    cache = checkout_cache(tmp_path, max_checkout_bytes=64 * 1024)
    git_repo.push({f"big/{i}.txt": "x" * 10_000 for i in range(10)}, "100 kB of files")

    with pytest.raises(RepositoryTooLarge) as caught:
        async with cache.checkout(git_repo.url_git, "main"):
            pytest.fail("a repository over the cap must not be checked out")

    assert str(caught.value) == (
        f"failed to check out {git_repo.url_git}: "
        "the tree exceeds the checkout size limit of 65536 bytes"
    )
    assert list((tmp_path / "checkouts").iterdir()) == []


@pytest.mark.parametrize("name", [".git", ".GIT", ".."])
async def test_hostile_tree_entries_are_refused(
    tmp_path: Path, git_repo: RemoteRepo, name: str
) -> None:
    blob = git("hash-object", "-w", "--stdin", cwd=git_repo.clone, input_text="[core]\n")
    tree = git("mktree", cwd=git_repo.clone, input_text=f"100644 blob {blob}\t{name}\n")
    commit = git("commit-tree", tree, "-m", "hostile", cwd=git_repo.clone)
    git_repo.git("push", "-q", "origin", f"{commit}:refs/heads/hostile")
    cache = checkout_cache(tmp_path)

    with pytest.raises(UnsafeRepositoryContent, match="refusing unsafe path"):
        async with cache.checkout(git_repo.url_git, "hostile"):
            pytest.fail("a hostile tree must not be checked out")

    assert list((tmp_path / "checkouts").iterdir()) == []


async def test_submodules_only_when_asked(
    tmp_path: Path, git_server_session: GitServer, git_repo: RemoteRepo
) -> None:
    library = git_server_session.create_repo(initial={"lib.yaml": "library: true\n"})
    git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        f"../{library.name}.git",
        "vendor/lib",
        cwd=git_repo.clone,
    )
    git_repo.git("commit", "-q", "-m", "add submodule")
    git_repo.git("push", "-q", "origin", "HEAD:refs/heads/main")
    cache = checkout_cache(tmp_path)

    async with cache.checkout(git_repo.url_git, "main") as plain:
        assert (plain.path / "vendor/lib").is_dir()
        assert list((plain.path / "vendor/lib").iterdir()) == []
        assert plain.submodules == ()

    async with cache.checkout(git_repo.url_git, "main", submodules=True) as full:
        assert (full.path / "vendor/lib/lib.yaml").read_text() == "library: true\n"
        assert full.submodules == ("vendor/lib",)


async def test_submodule_may_not_point_at_local_files(
    tmp_path: Path, git_server_session: GitServer, git_repo: RemoteRepo
) -> None:
    library = git_server_session.create_repo()
    git(
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        library.url_file,
        "vendor/lib",
        cwd=git_repo.clone,
    )
    git_repo.git("commit", "-q", "-m", "add a local submodule")
    git_repo.git("push", "-q", "origin", "HEAD:refs/heads/main")
    cache = checkout_cache(tmp_path)

    async with cache.checkout(git_repo.url_git, "main") as plain:
        assert (plain.path / ".gitmodules").exists()
    with pytest.raises(UnsafeRepositoryContent, match="points at a local path"):
        async with cache.checkout(git_repo.url_git, "main", submodules=True):
            pytest.fail("a submodule must not reach into local files")
    assert list((tmp_path / "checkouts").iterdir()) == []
