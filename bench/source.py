"""Git source speed: cold clone, warm no-change refresh, checkout, against the git CLI.

A repository of ~2,000 small YAML files is served by ``git daemon`` on loopback. Each
operation runs several times (the median is reported) through tether's GitCache and,
in the same run, through the plain ``git`` program doing the equivalent work:

=====================  ===========================================  =============================
operation              tether                                       git CLI peer
=====================  ===========================================  =============================
cold clone             ``GitCache.refresh`` into an empty cache     ``git clone --mirror``
warm refresh           ``GitCache.refresh`` with nothing new        ``git fetch --prune`` (mirror)
change detection       (same as above: one ls-remote)               ``git ls-remote``
incremental fetch      ``GitCache.refresh`` after one new commit    ``git fetch --prune`` (mirror)
checkout               ``GitCache.checkout`` of the 2,000 files      ``git archive | tar -x``
resolve semver         ``GitCache.resolve("^1", refresh=False)``     ``git tag --sort`` + rev-parse
=====================  ===========================================  =============================

Run: ``.venv/bin/python bench/source.py`` (prints a table, writes
``bench/results/source.json``).
"""

from __future__ import annotations

import asyncio
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "source"))

from gitserver import GIT, GIT_ENV, GitServer, RemoteRepo, git  # noqa: E402

from tether.source import GitCache  # noqa: E402

FILES = 2000
RUNS = 9
RESULTS = ROOT / "bench" / "results" / "source.json"


def build_repository(server: GitServer) -> RemoteRepo:
    repo = server.create_repo("bench")
    for index in range(FILES):
        path = repo.clone / f"apps/app-{index // 50:02d}/cm-{index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "apiVersion: v1\nkind: ConfigMap\n"
            f"metadata:\n  name: cm-{index:04d}\n"
            f"data:\n  value: '{'x' * 200}'\n"
        )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", f"{FILES} config maps")
    repo.git("push", "-q", "origin", "HEAD:refs/heads/main")
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        repo.tag(version, message=version)
    return repo


async def timed_async(run: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await run()
    return (time.perf_counter() - start) * 1000


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def sh(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(args, cwd=cwd, env=GIT_ENV, check=True, capture_output=True, timeout=120)


async def measure(repo: RemoteRepo, work: Path) -> dict[str, tuple[list[float], list[float]]]:
    url = repo.url_git
    sha = repo.head()
    rows: dict[str, tuple[list[float], list[float]]] = {}

    cold, cold_peer = [], []
    for run in range(RUNS):
        cache = GitCache(work / f"cold-{run}", fetch_timeout=120)
        cold.append(await timed_async(lambda cache=cache: cache.refresh(url)))
        target = work / f"peer-cold-{run}"
        cold_peer.append(
            timed(lambda target=target: sh(GIT, "clone", "-q", "--mirror", url, str(target)))
        )
    rows["cold clone"] = (cold, cold_peer)

    cache = GitCache(work / "warm", fetch_timeout=120)
    await cache.refresh(url)
    mirror = work / "peer-warm"
    sh(GIT, "clone", "-q", "--mirror", url, str(mirror))
    warm, warm_peer, lsremote_peer = [], [], []
    fetched: list[bool] = []

    async def refresh() -> None:
        fetched.append((await cache.refresh(url)).fetched)

    for _ in range(RUNS):
        warm.append(await timed_async(refresh))
        warm_peer.append(
            timed(lambda: sh(GIT, "--git-dir", str(mirror), "fetch", "-q", "--prune", "origin"))
        )
        lsremote_peer.append(timed(lambda: sh(GIT, "ls-remote", "-q", url)))
    assert not any(fetched), "a warm refresh of an unchanged repository fetched"
    rows["warm refresh (no change)"] = (warm, warm_peer)
    rows["change detection (ls-remote)"] = (warm, lsremote_peer)

    incremental, incremental_peer = [], []
    for run in range(RUNS):
        # One new commit each time; both sides fetch exactly that commit.
        repo.push({f"apps/app-00/new-{run}.yaml": f"n: {run}\n"}, f"change {run}")
        fetched.clear()
        incremental.append(await timed_async(refresh))
        assert fetched == [True], "a changed repository was not fetched"
        incremental_peer.append(
            timed(lambda: sh(GIT, "--git-dir", str(mirror), "fetch", "-q", "--prune", "origin"))
        )
    rows["incremental fetch (1 new commit)"] = (incremental, incremental_peer)
    sha = repo.head()

    async with cache.checkout(url, sha, refresh=False) as done:
        written = sum(1 for _ in done.path.rglob("*.yaml"))
        assert written == FILES + RUNS, "incomplete checkout"

    async def write() -> None:
        async with cache.checkout(url, sha, refresh=False):
            pass

    checkout, checkout_peer = [], []
    for run in range(RUNS):
        checkout.append(await timed_async(write))
        target = work / f"peer-checkout-{run}"
        target.mkdir()

        def archive(target: Path = target) -> None:
            subprocess.run(
                f"{GIT} --git-dir {mirror} archive {sha} | tar -x -C {target}",
                shell=True,
                env=GIT_ENV,
                check=True,
                timeout=120,
            )
            shutil.rmtree(target)

        checkout_peer.append(timed(archive))
    rows[f"checkout ({written} files, incl. cleanup)"] = (checkout, checkout_peer)

    resolve, resolve_peer = [], []
    for _ in range(RUNS):
        resolve.append(await timed_async(lambda: cache.resolve(url, "^1", refresh=False)))

        def peer_resolve() -> None:
            tags = git("--git-dir", str(mirror), "tag", "--list", "v1.*", "--sort=-v:refname")
            git("--git-dir", str(mirror), "rev-parse", tags.splitlines()[0] + "^{commit}")

        resolve_peer.append(timed(peer_resolve))
    rows["resolve semver '^1'"] = (resolve, resolve_peer)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tether-bench-source-") as temporary:
        base = Path(temporary)
        server = GitServer(base / "server").start()
        try:
            repo = build_repository(server)
            work = base / "work"
            work.mkdir()
            rows = asyncio.run(measure(repo, work))
        finally:
            server.stop()

    report = []
    print(f"{'operation':<36} {'tether ms':>10} {'git CLI ms':>11} {'ratio':>7}")
    for name, (ours, peer) in rows.items():
        ours_ms, peer_ms = statistics.median(ours), statistics.median(peer)
        ratio = ours_ms / peer_ms
        print(f"{name:<36} {ours_ms:>10.1f} {peer_ms:>11.1f} {ratio:>6.2f}x")
        report.append(
            {
                "operation": name,
                "tether_ms": round(ours_ms, 2),
                "git_cli_ms": round(peer_ms, 2),
                "ratio": round(ratio, 3),
                "tether_runs_ms": [round(v, 2) for v in ours],
                "git_cli_runs_ms": [round(v, 2) for v in peer],
            }
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "source",
                "files": FILES,
                "runs": RUNS,
                "statistic": "median",
                "transport": "git daemon on 127.0.0.1",
                "git": git("--version"),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": report,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
