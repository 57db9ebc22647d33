"""Charts from Helm repositories served on loopback: versions, cache, auth, hostile archives."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tether.render.chartrepo import (
    HELM_CHART_LAYER,
    ChartArchiveError,
    ChartFetcher,
    ChartLimits,
    ChartRepositoryError,
    RepoCredentials,
)
from tether.render.process import run_process
from tether.tools import find_tool

sys.path.insert(0, str(Path(__file__).parent))

from fixtures_remote import PASSWORD, USERNAME, ServerState, serve

CHART_SOURCE = Path(__file__).resolve().parents[2] / "testdata" / "render" / "chartrepo" / "demo"
VERSIONS = ("1.0.0", "1.2.0", "1.10.0", "2.0.0-rc.1")
CREDENTIALS = RepoCredentials(USERNAME, PASSWORD)
MiB = 1024 * 1024


async def helm(*args: str, cwd: Path) -> bytes:
    result = await run_process([str(find_tool("helm")), *args], cwd=cwd)
    return result.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerState]:
    """A server with the demo chart packaged by the real helm at several versions.

    ``/public/`` and ``/private/`` (basic auth) are Helm repositories indexed by
    ``helm repo index``; ``/v2/charts/demo/...`` is the same chart as an OCI artifact.
    """
    root = tmp_path_factory.mktemp("served")

    async def prepare() -> None:
        for folder in ("public", "private"):
            (root / folder).mkdir()
            for version in VERSIONS:
                await helm("package", str(CHART_SOURCE), "--version", version, cwd=root / folder)
            await helm("repo", "index", ".", cwd=root / folder)

    asyncio.run(prepare())
    with serve(root) as state:
        publish_oci(state, root / "public")
        yield state


def publish_oci(state: ServerState, packages: Path) -> None:
    """Lay the packaged chart out as an OCI registry would serve it."""
    tags = []
    for version in VERSIONS:
        archive = (packages / f"demo-{version}.tgz").read_bytes()
        layer = "sha256:" + hashlib.sha256(archive).hexdigest()
        config = json.dumps({"name": "demo", "version": version}).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.cncf.helm.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
                "size": len(config),
            },
            "layers": [{"mediaType": HELM_CHART_LAYER, "digest": layer, "size": len(archive)}],
        }
        tag = version.replace("+", "_")
        tags.append(tag)
        state.oci[f"/v2/charts/demo/manifests/{tag}"] = json.dumps(manifest).encode()
        state.oci[f"/v2/charts/demo/blobs/{layer}"] = archive
    state.oci["/v2/charts/demo/tags/list"] = json.dumps(
        {"name": "charts/demo", "tags": tags}
    ).encode()
    state.oci["/v2/"] = b"{}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fetcher(tmp_path: Path, clock: FakeClock) -> AsyncIterator[ChartFetcher]:
    chart_fetcher = ChartFetcher(tmp_path / "charts", clock=clock)
    yield chart_fetcher
    await chart_fetcher.aclose()


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        ("1.2.0", "1.2.0"),
        ("1.0.0", "1.0.0"),
        ("^1.0", "1.10.0"),
        ("~1.2", "1.2.0"),
        ("1.*", "1.10.0"),
        (">=1.0 <1.5", "1.2.0"),
        ("", "1.10.0"),
        ("*", "1.10.0"),
        (">=2.0.0-0", "2.0.0-rc.1"),
    ],
)
async def test_versions_and_constraints(
    fetcher: ChartFetcher, served: ServerState, revision: str, expected: str
) -> None:
    chart = await fetcher.fetch(f"{served.base_url}/public", "demo", revision)
    assert chart.ref.version == expected
    assert yaml.safe_load((chart.path / "Chart.yaml").read_text())["version"] == expected
    assert chart.ref.digest.startswith("sha256:")


async def test_fetched_chart_renders_with_helm(fetcher: ChartFetcher, served: ServerState) -> None:
    chart = await fetcher.fetch(f"{served.base_url}/public", "demo", "1.2.0")
    out = await helm("template", "shop", str(chart.path), cwd=chart.path)
    [configmap] = list(yaml.safe_load_all(out))
    assert configmap["metadata"]["name"] == "shop-demo"
    assert configmap["data"] == {"greeting": "hello", "chartVersion": "1.2.0"}


async def test_unknown_version_and_chart_are_clear_errors(
    fetcher: ChartFetcher, served: ServerState
) -> None:
    with pytest.raises(ChartRepositoryError, match=r"version 9\.9\.9 not found \(latest: "):
        await fetcher.fetch(f"{served.base_url}/public", "demo", "9.9.9")
    with pytest.raises(ChartRepositoryError, match="no version satisfies '>=3'"):
        await fetcher.fetch(f"{served.base_url}/public", "demo", ">=3")
    with pytest.raises(ChartRepositoryError, match="has no such chart"):
        await fetcher.fetch(f"{served.base_url}/public", "nope", "1.0.0")


async def test_cache_reuse_downloads_once_and_refreshes_the_index_after_its_ttl(
    fetcher: ChartFetcher, served: ServerState, clock: FakeClock
) -> None:
    url = f"{served.base_url}/public"
    index_before = served.requests["/public/index.yaml"]
    archive_before = served.requests["/public/demo-1.0.0.tgz"]
    first = await fetcher.fetch(url, "demo", "1.0.0")
    second = await fetcher.fetch(url, "demo", "1.0.0")
    assert (first.downloaded, second.downloaded) == (True, False)
    assert first.path == second.path
    assert served.requests["/public/demo-1.0.0.tgz"] - archive_before == 1
    assert served.requests["/public/index.yaml"] - index_before == 1
    clock.now += 181  # past the index TTL: the index is read again, the chart is not
    third = await fetcher.fetch(url, "demo", "1.0.0")
    assert not third.downloaded
    assert served.requests["/public/index.yaml"] - index_before == 2
    assert served.requests["/public/demo-1.0.0.tgz"] - archive_before == 1


async def test_concurrent_fetches_of_one_chart_share_one_download(
    fetcher: ChartFetcher, served: ServerState
) -> None:
    before = served.requests["/public/demo-1.2.0.tgz"]
    results = await asyncio.gather(
        *(fetcher.fetch(f"{served.base_url}/public", "demo", "~1.2") for _ in range(4))
    )
    assert sum(r.downloaded for r in results) == 1
    assert len({r.path for r in results}) == 1
    assert served.requests["/public/demo-1.2.0.tgz"] - before == 1


async def test_basic_auth(fetcher: ChartFetcher, served: ServerState) -> None:
    url = f"{served.base_url}/private"
    with pytest.raises(ChartRepositoryError, match="returned HTTP 401"):
        await fetcher.fetch(url, "demo", "1.0.0")
    wrong = RepoCredentials(USERNAME, "guess")
    with pytest.raises(ChartRepositoryError) as caught:
        await fetcher.fetch(url, "demo", "1.0.0", credentials=wrong)
    assert "guess" not in str(caught.value)
    chart = await fetcher.fetch(url, "demo", "1.0.0", credentials=CREDENTIALS)
    assert (chart.path / "Chart.yaml").is_file()
    assert PASSWORD not in repr(CREDENTIALS)


async def test_credentials_are_not_sent_to_another_host(
    fetcher: ChartFetcher, served: ServerState, tmp_path: Path
) -> None:
    """An index on 127.0.0.1 pointing its archive at localhost (another origin)."""
    folder = served.root / "private" / "elsewhere"
    folder.mkdir(exist_ok=True)
    index = yaml.safe_load((served.root / "private" / "index.yaml").read_text())
    port = served.base_url.rsplit(":", 1)[1]
    for entry in index["entries"]["demo"]:
        entry["urls"] = [f"http://localhost:{port}/public/demo-{entry['version']}.tgz"]
    (folder / "index.yaml").write_text(yaml.safe_dump(index))
    url = f"{served.base_url}/private/elsewhere"
    before = served.authorized["/public/demo-1.2.0.tgz"]
    await fetcher.fetch(url, "demo", "1.2.0", credentials=CREDENTIALS)
    assert served.authorized["/public/demo-1.2.0.tgz"] == before
    other = ChartFetcher(tmp_path / "other-cache")
    try:
        await other.fetch(url, "demo", "1.2.0", credentials=CREDENTIALS, pass_credentials=True)
    finally:
        await other.aclose()
    assert served.authorized["/public/demo-1.2.0.tgz"] == before + 1


# --- hostile archives ----------------------------------------------------------------


def tar_gz(add: Callable[[tarfile.TarFile], None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        add(tar)
    return buffer.getvalue()


def add_file(tar: tarfile.TarFile, name: str, data: bytes = b"x: 1\n") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_special(tar: tarfile.TarFile, name: str, kind: bytes, target: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def gigabyte_bomb() -> bytes:
    """A 1 MiB download whose single entry declares, and really expands to, 1 GiB.

    Built from concatenated gzip members (valid gzip) so the test never compresses a
    gigabyte: one member for the tar header, then one compressed MiB of zeros repeated.
    """
    info = tarfile.TarInfo("demo/templates/huge.yaml")
    info.size = 1024 * MiB
    zeros = gzip.compress(bytes(MiB), compresslevel=9)
    header = gzip.compress(add_chart_yaml_header() + info.tobuf(format=tarfile.GNU_FORMAT))
    return header + zeros * 1024 + gzip.compress(bytes(1024))


def add_chart_yaml_header() -> bytes:
    data = b"apiVersion: v2\nname: demo\nversion: 6.6.6\n"
    info = tarfile.TarInfo("demo/Chart.yaml")
    info.size = len(data)
    padding = bytes(-len(data) % 512)
    return info.tobuf(format=tarfile.GNU_FORMAT) + data + padding


HOSTILE = {
    "climbs": (
        lambda t: (add_file(t, "demo/Chart.yaml"), add_file(t, "demo/../../escaped.yaml")),
        "climbs out with '..'",
    ),
    "absolute": (
        lambda t: (add_file(t, "demo/Chart.yaml"), add_file(t, "/etc/cron.d/evil")),
        "absolute or invalid path",
    ),
    "symlink": (
        lambda t: (
            add_file(t, "demo/Chart.yaml"),
            add_special(t, "demo/templates/passwd", tarfile.SYMTYPE, "/etc/passwd"),
        ),
        "is a link",
    ),
    "hardlink": (
        lambda t: (
            add_file(t, "demo/Chart.yaml"),
            add_special(t, "demo/templates/passwd", tarfile.LNKTYPE, "/etc/passwd"),
        ),
        "is a link",
    ),
    "device": (
        lambda t: (add_file(t, "demo/Chart.yaml"), add_special(t, "demo/null", tarfile.CHRTYPE)),
        "is a special file",
    ),
    "two-charts": (
        lambda t: (add_file(t, "demo/Chart.yaml"), add_file(t, "other/Chart.yaml")),
        "outside the chart folder",
    ),
    "no-chart-yaml": (lambda t: add_file(t, "demo/values.yaml"), "no <chart>/Chart.yaml"),
}


@pytest.fixture(scope="module")
def hostile_repo(served: ServerState) -> str:
    """``/evil/``: a repository whose archives are hostile, with correct digests."""
    folder = served.root / "evil"
    folder.mkdir()
    archives = {name: tar_gz(build) for name, (build, _) in HOSTILE.items()}
    archives["gigabyte"] = gigabyte_bomb()
    archives["not-gzip"] = b"this is not an archive"
    entries = {}
    for name, archive in archives.items():
        (folder / f"{name}-1.0.0.tgz").write_bytes(archive)
        digest = hashlib.sha256(archive).hexdigest()
        entries[name] = [{"version": "1.0.0", "urls": [f"{name}-1.0.0.tgz"], "digest": digest}]
    (folder / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": entries}))
    return f"{served.base_url}/evil"


@pytest.mark.parametrize(
    ("chart", "message"),
    [(name, message) for name, (_, message) in HOSTILE.items()]
    + [
        ("gigabyte", f"expands to more than {200 * MiB} bytes"),
        ("not-gzip", "not a valid chart archive"),
    ],
)
async def test_hostile_archives_are_refused_and_leave_nothing(
    fetcher: ChartFetcher, hostile_repo: str, chart: str, message: str
) -> None:
    with pytest.raises(ChartArchiveError, match=message):
        await fetcher.fetch(hostile_repo, chart, "1.0.0")
    leftovers = list(fetcher.cache_dir.iterdir()) if fetcher.cache_dir.exists() else []
    assert leftovers == []
    assert not (fetcher.cache_dir.parent / "escaped.yaml").exists()


async def test_too_many_entries_are_refused(tmp_path: Path, served: ServerState) -> None:
    folder = served.root / "many"
    folder.mkdir(exist_ok=True)
    archive = tar_gz(
        lambda t: (
            [add_file(t, "demo/Chart.yaml")]
            + [add_file(t, f"demo/templates/f{i}.yaml") for i in range(20)]
        )
    )
    (folder / "demo-1.0.0.tgz").write_bytes(archive)
    index = {"entries": {"demo": [{"version": "1.0.0", "urls": ["demo-1.0.0.tgz"]}]}}
    (folder / "index.yaml").write_text(yaml.safe_dump(index))
    fetcher = ChartFetcher(tmp_path / "cache", limits=ChartLimits(max_files=10))
    try:
        with pytest.raises(ChartArchiveError, match="more than 10 entries"):
            await fetcher.fetch(f"{served.base_url}/many", "demo", "1.0.0")
    finally:
        await fetcher.aclose()


async def test_archive_over_the_download_cap_is_refused(
    tmp_path: Path, served: ServerState
) -> None:
    fetcher = ChartFetcher(tmp_path / "cache", limits=ChartLimits(max_archive=100))
    try:
        with pytest.raises(ChartRepositoryError, match="is over 100 bytes"):
            await fetcher.fetch(f"{served.base_url}/public", "demo", "1.0.0")
    finally:
        await fetcher.aclose()


async def test_digest_mismatch_is_refused(fetcher: ChartFetcher, served: ServerState) -> None:
    folder = served.root / "tampered"
    folder.mkdir(exist_ok=True)
    shutil.copy(served.root / "public" / "demo-1.0.0.tgz", folder / "demo-1.0.0.tgz")
    digest = hashlib.sha256(b"something else").hexdigest()
    entry = {"version": "1.0.0", "urls": ["demo-1.0.0.tgz"], "digest": digest}
    (folder / "index.yaml").write_text(yaml.safe_dump({"entries": {"demo": [entry]}}))
    with pytest.raises(ChartRepositoryError, match="does not match the expected sha256:"):
        await fetcher.fetch(f"{served.base_url}/tampered", "demo", "1.0.0")
    assert not fetcher.cache_dir.exists() or list(fetcher.cache_dir.iterdir()) == []


# --- OCI ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("revision", "expected"), [("1.2.0", "1.2.0"), ("^1", "1.10.0")])
async def test_oci_registry_with_token_auth(
    fetcher: ChartFetcher, served: ServerState, revision: str, expected: str
) -> None:
    repo_url = "oci://" + served.base_url.removeprefix("http://") + "/charts"
    chart = await fetcher.fetch(repo_url, "demo", revision, credentials=CREDENTIALS)
    assert chart.ref.version == expected
    assert yaml.safe_load((chart.path / "Chart.yaml").read_text())["version"] == expected
    again = await fetcher.fetch(repo_url, "demo", revision, credentials=CREDENTIALS)
    assert not again.downloaded


async def test_oci_registry_refuses_wrong_credentials(
    fetcher: ChartFetcher, served: ServerState
) -> None:
    repo_url = "oci://" + served.base_url.removeprefix("http://") + "/charts"
    with pytest.raises(ChartRepositoryError, match="token request returned HTTP 401") as caught:
        await fetcher.fetch(
            repo_url, "demo", "1.2.0", credentials=RepoCredentials("x", "wrong-secret-value")
        )
    assert "wrong-secret-value" not in str(caught.value)


async def test_oci_missing_tag_is_a_clear_error(fetcher: ChartFetcher, served: ServerState) -> None:
    repo_url = "oci://" + served.base_url.removeprefix("http://") + "/charts"
    with pytest.raises(ChartRepositoryError, match="returned HTTP 404"):
        await fetcher.fetch(repo_url, "demo", "3.0.0", credentials=CREDENTIALS)
