"""GitCache against real Git servers on loopback: fetching, resolving, change detection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gitserver import GitServer, RemoteRepo, git

from tether.source import (
    GitCache,
    RepositoryState,
    RepositoryUnreachable,
    RevisionKind,
    RevisionNotFound,
    normalize_url,
)

TRANSPORTS = ["url_git", "url_http", "url_file"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_resolves_head_and_branch_over_every_transport(
    git_cache: GitCache, git_repo: RemoteRepo, transport: str
) -> None:
    url = getattr(git_repo, transport)
    sha = git_repo.push({"app/cm.yaml": "kind: ConfigMap\n"}, "add config map")

    for revision in ("HEAD", "", "main", "refs/heads/main"):
        resolved = await git_cache.resolve(url, revision)
        assert resolved.sha == sha
        assert resolved.kind is RevisionKind.BRANCH
        assert resolved.ref == "refs/heads/main"


async def test_unchanged_repository_costs_one_ls_remote(
    git_cache: GitCache, git_repo: RemoteRepo, git_server_session: GitServer
) -> None:
    first = await git_cache.refresh(git_repo.url_http)
    assert first.fetched

    before = git_server_session.http_requests
    again = await git_cache.refresh(git_repo.url_http)
    assert not again.fetched
    # One ref advertisement, no upload-pack POST (the 401 challenge is the other request).
    assert git_server_session.http_requests - before <= 2

    git_repo.push({"b.txt": "b"}, "second")
    changed = await git_cache.refresh(git_repo.url_http)
    assert changed.fetched
    assert changed.refs.head_sha == git_repo.head()


async def test_concurrent_refreshes_share_one_fetch(
    git_cache: GitCache, git_repo: RemoteRepo
) -> None:
    results = await asyncio.gather(*(git_cache.refresh(git_repo.url_git) for _ in range(8)))

    assert all(result is results[0] for result in results)
    assert results[0].fetched


async def test_a_waiter_giving_up_does_not_cancel_the_shared_fetch(
    git_cache: GitCache, git_repo: RemoteRepo
) -> None:
    impatient = asyncio.create_task(git_cache.refresh(git_repo.url_git))
    patient = asyncio.create_task(git_cache.refresh(git_repo.url_git))
    await asyncio.sleep(0)
    impatient.cancel()

    result = await patient

    assert impatient.cancelled()
    assert result.fetched
    assert result.refs.head_sha == git_repo.head()


async def test_tags_lightweight_annotated_and_semver(
    git_cache: GitCache, git_repo: RemoteRepo
) -> None:
    shas = {}
    for version in ("v1.0.0", "v1.2.0", "v1.2.5", "v1.3.0-rc.1", "v2.0.0", "not-a-version"):
        shas[version] = git_repo.push({"version": version}, f"release {version}")
        # Annotated and lightweight tags alternate: both must peel to the commit.
        message = f"release {version}" if version.endswith(("0.0", "2.5")) else None
        git_repo.tag(version, message=message)
    url = git_repo.url_git
    await git_cache.refresh(url)

    cases = {
        "v1.0.0": "v1.0.0",  # annotated tag by name
        "v1.2.0": "v1.2.0",  # lightweight tag by name
        ">=1.2.0 <2": "v1.2.5",
        "1.2.*": "v1.2.5",
        "^1.2": "v1.2.5",
        "~1.2": "v1.2.5",
        "v1.*": "v1.2.5",
        ">=1.2.0-0 <2.0.0-0": "v1.3.0-rc.1",
        "*": "v2.0.0",
        "refs/tags/not-a-version": "not-a-version",
    }
    for revision, tag in cases.items():
        resolved = await git_cache.resolve(url, revision, refresh=False)
        assert resolved.sha == shas[tag], revision
        assert resolved.kind is RevisionKind.TAG
        assert resolved.ref == f"refs/tags/{tag}"


async def test_full_and_short_sha(git_cache: GitCache, git_repo: RemoteRepo) -> None:
    old = git_repo.push({"a": "1"}, "one")
    git_repo.push({"a": "2"}, "two")

    full = await git_cache.resolve(git_repo.url_git, old)
    short = await git_cache.resolve(git_repo.url_git, old[:9])

    assert (full.sha, full.kind) == (old, RevisionKind.COMMIT)
    assert (short.sha, short.kind) == (old, RevisionKind.COMMIT)


@pytest.mark.parametrize("transport", ["url_git", "url_http"])
async def test_commit_reachable_only_by_sha_is_fetched_by_name(
    git_cache: GitCache, git_repo: RemoteRepo, transport: str
) -> None:
    url = getattr(git_repo, transport)
    await git_cache.refresh(url)
    hidden = git_repo.unreferenced_commit({"hidden.txt": "x"}, "not on any ref")

    resolved = await git_cache.resolve(url, hidden)

    assert resolved.sha == hidden
    assert await git_cache.read_file(url, hidden, "hidden.txt") == b"x"


async def test_force_push_moves_the_branch(git_cache: GitCache, git_repo: RemoteRepo) -> None:
    base = git_repo.head()
    ahead = git_repo.push({"a": "1"}, "ahead")
    assert (await git_cache.resolve(git_repo.url_git, "main")).sha == ahead

    git_repo.force_push("main", base)

    assert (await git_cache.resolve(git_repo.url_git, "main")).sha == base
    # The commit that was force-pushed away is still known by SHA.
    assert (await git_cache.resolve(git_repo.url_git, ahead, refresh=False)).sha == ahead


async def test_deleted_branch_is_pruned(git_cache: GitCache, git_repo: RemoteRepo) -> None:
    sha = git_repo.push({"f": "1"}, "feature work", branch="feature")
    assert (await git_cache.resolve(git_repo.url_git, "feature")).sha == sha

    git_repo.delete_branch("feature")

    with pytest.raises(RevisionNotFound) as caught:
        await git_cache.resolve(git_repo.url_git, "feature")
    assert str(caught.value) == (
        f"failed to resolve revision in {git_repo.url_git}: "
        "unable to resolve 'feature' to a commit SHA"
    )
    assert caught.value.revision == "feature"


@pytest.mark.parametrize("revision", ["no-such-branch", "v9.9.9", "^7", "0000000", "0" * 40])
async def test_unknown_revision(git_cache: GitCache, git_repo: RemoteRepo, revision: str) -> None:
    with pytest.raises(RevisionNotFound) as caught:
        await git_cache.resolve(git_repo.url_git, revision)
    assert caught.value.revision == revision
    assert git_repo.url_git in str(caught.value)


async def test_one_mirror_per_normalised_url(
    git_cache: GitCache, git_repo_session: RemoteRepo, tmp_path: Path
) -> None:
    repo = git_repo_session  # shared by the session: read only
    sha = repo.head()
    spellings = [repo.url_git, repo.url_git.removesuffix(".git") + "/"]
    for url in spellings:
        assert (await git_cache.resolve(url, "main")).sha == sha
    assert len(list((tmp_path / "cache" / "mirrors").iterdir())) == 1


async def test_commit_info_and_changed_paths(git_cache: GitCache, git_repo: RemoteRepo) -> None:
    old = git_repo.push({"apps/a/cm.yaml": "a", "apps/b/cm.yaml": "b"}, "add apps")
    new = git_repo.push(
        {"apps/a/cm.yaml": "a2", "apps/b/cm.yaml": None, "apps/c/cm.yaml": "c"},
        "Change a, drop b, add c\n\nLonger explanation.",
    )
    git_repo.tag("v1.0.0", message="first release")

    info = await git_cache.commit_info(git_repo.url_git, new)
    changed = await git_cache.changed_paths(git_repo.url_git, old, new)

    assert info.sha == new
    assert info.author == "Ada Author <ada@example.com>"
    assert info.subject == "Change a, drop b, add c"
    assert info.message == "Change a, drop b, add c\n\nLonger explanation."
    assert info.tags == ("v1.0.0",)
    assert info.date.tzinfo is not None
    assert changed == ("apps/a/cm.yaml", "apps/b/cm.yaml", "apps/c/cm.yaml")
    assert await git_cache.changed_paths(git_repo.url_git, new, new) == ()


async def test_list_and_read_without_checkout(git_cache: GitCache, git_repo: RemoteRepo) -> None:
    from tether.source import EntryKind, PathNotFound

    sha = git_repo.push(
        {
            "apps/one/config.json": '{"name": "one"}',
            "apps/two/config.json": '{"name": "two"}',
            "apps/two/extra/config.json": "{}",
            "README.md": "# hi",
        },
        "layout",
    )
    url = git_repo.url_git

    assert await git_cache.list_paths(url, sha, "apps/*/config.json") == (
        "apps/one/config.json",
        "apps/two/config.json",
    )
    assert await git_cache.list_paths(url, sha, "apps/**/config.json") == (
        "apps/one/config.json",
        "apps/two/config.json",
        "apps/two/extra/config.json",
    )
    assert await git_cache.list_paths(url, sha, "apps/*", kind=EntryKind.DIRECTORY) == (
        "apps/one",
        "apps/two",
    )
    assert await git_cache.read_file(url, sha, "apps/one/config.json") == b'{"name": "one"}'
    with pytest.raises(PathNotFound, match=r"no file 'apps/three/config\.json'"):
        await git_cache.read_file(url, sha, "apps/three/config.json")


class StepClock:
    """A clock that moves one minute each time it is read."""

    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.current += timedelta(minutes=1)
        return self.current


async def test_state_tracks_refreshes_fetches_and_errors(
    tmp_path: Path, git_server: GitServer
) -> None:
    repo = git_server.create_repo()
    clock = StepClock()
    cache = GitCache(tmp_path / "cache", clock=clock, fetch_timeout=10.0)
    url = repo.url_git
    assert cache.state(url) == RepositoryState(url, normalize_url(url))

    await cache.refresh(url)
    fetched_at = clock.current
    await cache.refresh(url)
    checked_at = clock.current

    state = cache.state(url)
    assert (state.last_fetched, state.last_refreshed) == (fetched_at, checked_at)
    assert (state.head_sha, state.last_error) == (repo.head(), "")

    git_server.stop()
    with pytest.raises(RepositoryUnreachable):
        await cache.refresh(url)
    failed = cache.state(url)
    assert (failed.last_fetched, failed.last_refreshed, failed.head_sha) == (
        fetched_at,
        checked_at,
        repo.head(),
    )
    assert failed.last_error.startswith(f"failed to fetch {url}: ")


async def test_deleted_tag_leaves_semver_resolution(
    git_cache: GitCache, git_repo: RemoteRepo
) -> None:
    stable = git_repo.tag("v1.0.0")
    withdrawn = git_repo.push({"v": "1.1"}, "withdrawn release")
    git_repo.tag("v1.1.0", message="soon withdrawn")
    assert (await git_cache.resolve(git_repo.url_git, "^1")).sha == withdrawn

    git_repo.delete_tag("v1.1.0")

    resolved = await git_cache.resolve(git_repo.url_git, "^1")
    assert (resolved.sha, resolved.ref) == (stable, "refs/tags/v1.0.0")


async def test_default_branch_change_and_other_refs(
    git_cache: GitCache, git_repo: RemoteRepo
) -> None:
    development = git_repo.push({"dev": "1"}, "development", branch="develop")
    pull = git_repo.push({"pr": "1"}, "proposed change", branch="proposal")
    git_repo.git("push", "-q", "origin", f"{pull}:refs/pull/7/head")
    git_repo.delete_branch("proposal")
    git("symbolic-ref", "HEAD", "refs/heads/develop", cwd=git_repo.bare)

    head = await git_cache.resolve(git_repo.url_git, "HEAD")
    proposal = await git_cache.resolve(git_repo.url_git, "refs/pull/7/head", refresh=False)

    assert (head.sha, head.ref) == (development, "refs/heads/develop")
    assert (proposal.sha, proposal.kind) == (pull, RevisionKind.REF)


async def test_empty_repository_has_no_head(
    git_cache: GitCache, git_server_session: GitServer
) -> None:
    empty = RemoteRepo(git_server_session, "empty-repo")

    result = await git_cache.refresh(empty.url_git)

    assert not result.fetched
    assert result.refs.head_sha == ""
    with pytest.raises(RevisionNotFound, match="unable to resolve 'HEAD'"):
        await git_cache.resolve(empty.url_git, "HEAD", refresh=False)


async def test_lock_files_left_by_a_killed_fetch_are_cleared(
    git_cache: GitCache, git_repo: RemoteRepo, tmp_path: Path
) -> None:
    await git_cache.refresh(git_repo.url_git)
    (mirror,) = (tmp_path / "cache" / "mirrors").iterdir()
    (mirror / "refs" / "heads" / "main.lock").write_text("stale\n")
    (mirror / "packed-refs.lock").write_text("stale\n")
    sha = git_repo.push({"after": "crash"}, "pushed while the fetcher was dead")

    assert (await git_cache.resolve(git_repo.url_git, "main")).sha == sha
    assert not list(mirror.rglob("*.lock"))


async def test_a_broken_mirror_is_fetched_afresh(
    git_cache: GitCache, git_repo: RemoteRepo, tmp_path: Path
) -> None:
    await git_cache.refresh(git_repo.url_git)
    (mirror,) = (tmp_path / "cache" / "mirrors").iterdir()
    (mirror / "HEAD").write_text("garbage\n")

    result = await git_cache.refresh(git_repo.url_git)

    assert result.fetched
    assert (await git_cache.resolve(git_repo.url_git, "main")).sha == git_repo.head()
    assert (mirror.parent / f"{mirror.name}.broken").is_dir()
