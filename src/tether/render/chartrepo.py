"""Charts from Helm repositories: HTTP repositories (``index.yaml``) and OCI registries.

An Application whose source has ``chart`` set names a chart in the Helm repository
``repoURL`` and a version in ``targetRevision``: an exact version (``1.2.3``), a
constraint (``^1.2``, ``>=1.0 <2``, ``1.2.*``; Masterminds semantics, as Argo CD), or
empty / ``*`` for the latest release. :class:`ChartFetcher` resolves that version,
downloads the chart archive, checks it and unpacks it into a cache; the Helm renderer
then runs ``helm template`` on the unpacked folder.

HTTP repositories: ``<repoURL>/index.yaml`` is fetched with httpx and kept for a TTL
(``index_ttl``, 3 minutes by default, as Argo CD caches it), the entry picked with the
``semver`` package, the archive downloaded from the entry's first URL (resolved
against ``repoURL``) and its SHA-256 compared with the entry's ``digest`` when there is
one.

OCI registries (``oci://host/path``, or ``repoURL`` without scheme as Argo CD accepts
for OCI Helm sources): spoken to directly over the OCI distribution API with httpx
rather than through ``helm pull``. One HTTP client, one set of limits and one digest
check serve both kinds of repository, and no registry login state has to be written
anywhere. Tags come from ``/v2/<name>/tags/list`` (Helm stores ``+`` in versions as
``_``), the manifest's Helm chart layer
(``application/vnd.cncf.helm.chart.content.v1.tar+gzip``) is fetched by digest and
verified. Registries that answer 401 with a ``Bearer`` challenge get the usual token
exchange; basic credentials are used for it or directly.

Credentials (:class:`RepoCredentials`) are given by the caller and never logged or put
in messages; they are sent only to the repository's own host unless
``pass_credentials`` (Argo CD's ``passCredentials``) allows archives on other hosts.

Archives are hostile: one larger than ``max_archive`` is refused while downloading,
and unpacking refuses absolute paths, ``..``, entries outside the chart's single top
folder, links, devices and FIFOs, more than ``max_files`` entries and a declared total
size above ``max_expanded`` (checked from the headers before a byte is written, so a
gzip bomb never expands). Unpacked charts are cached under
``(repository, chart, version, digest)``; concurrent fetches of one chart share one
download, and a chart appears in the cache only complete (unpacked aside, then renamed).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import time
import weakref
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import semver

from tether.render.errors import RenderError
from tether.render.yamlio import YamlLimits, load_documents
from tether.source.semver_constraint import parse_constraint, parse_version

MiB = 1024 * 1024
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_BEARER = re.compile(r'(\w+)="([^"]*)"')


class ChartRepositoryError(RenderError):
    """A chart could not be resolved, downloaded or unpacked; ``subject`` names it."""


class ChartArchiveError(ChartRepositoryError):
    """A chart archive is unsafe or malformed (paths, links, sizes); nothing was kept."""


@dataclass(frozen=True, slots=True)
class RepoCredentials:
    """Basic credentials for a repository; the password never appears in ``repr``."""

    username: str
    password: str = field(repr=False)

    @property
    def auth(self) -> httpx.BasicAuth:
        """The httpx authentication object."""
        return httpx.BasicAuth(self.username, self.password)


@dataclass(frozen=True, slots=True)
class ChartLimits:
    """Bounds on what a repository can make tether download, parse and write."""

    max_index: int = 50 * MiB
    max_archive: int = 20 * MiB
    max_expanded: int = 200 * MiB
    max_files: int = 10_000
    index_ttl: float = 180.0
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class ChartVersion:
    """One resolved chart: where its archive is and the digest it must have."""

    repo_url: str
    chart: str
    version: str
    url: str
    digest: str = ""


@dataclass(frozen=True, slots=True)
class FetchedChart:
    """A chart unpacked in the cache: ``path`` is the chart's folder (with ``Chart.yaml``)."""

    ref: ChartVersion
    path: Path
    downloaded: bool


class ChartFetcher:
    """Resolves, downloads, verifies and caches charts from Helm repositories.

    ``cache_dir`` holds unpacked charts; ``client`` (an ``httpx.AsyncClient``) and
    ``clock`` (monotonic seconds, for the index TTL) may be injected.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        limits: ChartLimits = ChartLimits(),
    ) -> None:
        """Cache charts under ``cache_dir`` (created if missing)."""
        self.cache_dir = cache_dir
        self.limits = limits
        self._client = client or httpx.AsyncClient(timeout=limits.timeout, follow_redirects=True)
        self._clock = clock
        self._indexes: dict[tuple[str, str], tuple[float, Mapping[str, Any]]] = {}
        # Entries vanish once no fetch holds the lock, so the map does not grow forever.
        self._locks: weakref.WeakValueDictionary[tuple[str, ...], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def fetch(
        self,
        repo_url: str,
        chart: str,
        target_revision: str,
        *,
        credentials: RepoCredentials | None = None,
        pass_credentials: bool = False,
    ) -> FetchedChart:
        """The chart ``chart`` at ``target_revision`` from ``repo_url``, unpacked."""
        subject = f"chart {chart} from {_redact(repo_url)}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", chart) or ".." in chart:
            raise ChartRepositoryError(subject, "invalid chart name")
        oci = _is_oci(repo_url)
        oci_auth: httpx.Auth | None = None
        if oci:
            ref, oci_auth = await self._resolve_oci(
                repo_url, chart, target_revision, credentials, subject
            )
        else:
            ref = await self._resolve_http(repo_url, chart, target_revision, credentials, subject)
        key = (ref.repo_url, ref.chart, ref.version, ref.digest)
        target = self.cache_dir / hashlib.sha256("\0".join(key).encode()).hexdigest()
        async with self._lock(("chart", *key)):
            if await asyncio.to_thread((target / "chart").is_dir):
                return FetchedChart(ref, target / "chart", downloaded=False)
            if oci:
                archive = await self._download_oci(ref, oci_auth, subject)
            else:
                archive = await self._download(ref, credentials, pass_credentials, subject)
            await asyncio.to_thread(self._install, archive, target, subject)
        return FetchedChart(ref, target / "chart", downloaded=True)

    def _lock(self, key: tuple[str, ...]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    # --- HTTP repositories ----------------------------------------------------------

    async def _resolve_http(
        self,
        repo_url: str,
        chart: str,
        revision: str,
        credentials: RepoCredentials | None,
        subject: str,
    ) -> ChartVersion:
        index = await self._index(repo_url, credentials, subject)
        entries = (index.get("entries") or {}).get(chart)
        if not isinstance(entries, list) or not entries:
            raise ChartRepositoryError(subject, "the repository index has no such chart")
        by_version = {
            str(e["version"]): e for e in entries if isinstance(e, Mapping) and "version" in e
        }
        version = select_version(list(by_version), revision, subject)
        entry = by_version[version]
        urls = entry.get("urls") or []
        if not urls or not isinstance(urls[0], str):
            raise ChartRepositoryError(subject, f"index entry {version} has no download URL")
        digest = entry.get("digest") or ""
        return ChartVersion(
            repo_url=repo_url,
            chart=chart,
            version=version,
            url=urljoin(repo_url.rstrip("/") + "/", urls[0]),
            digest=f"sha256:{digest}" if digest and ":" not in digest else str(digest),
        )

    async def _index(
        self, repo_url: str, credentials: RepoCredentials | None, subject: str
    ) -> Mapping[str, Any]:
        key = (repo_url, credentials.username if credentials else "")
        async with self._lock(("index", *key)):
            cached = self._indexes.get(key)
            if cached and self._clock() - cached[0] < self.limits.index_ttl:
                return cached[1]
            url = repo_url.rstrip("/") + "/index.yaml"
            body = await self._get(url, credentials, self.limits.max_index, subject)
            limits = YamlLimits(max_bytes=self.limits.max_index)
            documents = load_documents(body, name=f"{_redact(repo_url)}/index.yaml", limits=limits)
            if len(documents) != 1 or not isinstance(documents[0], Mapping):
                raise ChartRepositoryError(subject, "the repository index is not a mapping")
            self._indexes[key] = (self._clock(), documents[0])
            return documents[0]

    async def _download(
        self,
        ref: ChartVersion,
        credentials: RepoCredentials | None,
        pass_credentials: bool,
        subject: str,
    ) -> bytes:
        same_host = _origin(ref.url) == _origin(ref.repo_url)
        auth = credentials if same_host or pass_credentials else None
        archive = await self._get(ref.url, auth, self.limits.max_archive, subject)
        _check_digest(archive, ref.digest, subject)
        return archive

    async def _get(
        self,
        url: str,
        credentials: RepoCredentials | None,
        limit: int,
        subject: str,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> bytes:
        """GET ``url`` into memory, refusing more than ``limit`` bytes."""
        chosen = auth or (credentials.auth if credentials else None)
        try:
            async with self._client.stream(
                "GET", url, auth=chosen, headers=dict(headers or {})
            ) as response:
                if response.status_code != 200:
                    raise ChartRepositoryError(
                        subject, f"GET {_redact(url)} returned HTTP {response.status_code}"
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise ChartRepositoryError(subject, f"{_redact(url)} is over {limit} bytes")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise ChartRepositoryError(subject, f"{_redact(url)} is over {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as error:
            raise ChartRepositoryError(
                subject, f"GET {_redact(url)} failed: {type(error).__name__}"
            ) from error

    # --- OCI registries --------------------------------------------------------------

    async def _resolve_oci(
        self,
        repo_url: str,
        chart: str,
        revision: str,
        credentials: RepoCredentials | None,
        subject: str,
    ) -> tuple[ChartVersion, httpx.Auth | None]:
        """The chart version and the authentication that reached it (reused to download)."""
        registry, name = _oci_location(repo_url, chart)
        auth = await self._oci_auth(registry, name, credentials, subject)
        exact = parse_constraint(revision) is None and revision not in ("", "*")
        if exact:
            version = revision
        else:
            body = await self._get(
                f"{registry}/v2/{name}/tags/list", None, self.limits.max_index, subject, auth=auth
            )
            tags = _json(body, subject).get("tags") or []
            versions = [t.replace("_", "+") for t in tags if isinstance(t, str)]
            version = select_version(versions, revision, subject)
        tag = version.replace("+", "_")
        manifest = _json(
            await self._get(
                f"{registry}/v2/{name}/manifests/{tag}",
                None,
                MiB,
                subject,
                headers={"Accept": _OCI_MANIFEST},
                auth=auth,
            ),
            subject,
        )
        layers = [
            layer
            for layer in manifest.get("layers") or []
            if isinstance(layer, Mapping) and layer.get("mediaType") == HELM_CHART_LAYER
        ]
        if len(layers) != 1 or not isinstance(layers[0].get("digest"), str):
            raise ChartRepositoryError(subject, f"{tag} is not a Helm chart artifact")
        digest = layers[0]["digest"]
        ref = ChartVersion(
            repo_url=repo_url,
            chart=chart,
            version=version,
            url=f"{registry}/v2/{name}/blobs/{digest}",
            digest=digest,
        )
        return ref, auth

    async def _download_oci(
        self, ref: ChartVersion, auth: httpx.Auth | None, subject: str
    ) -> bytes:
        archive = await self._get(ref.url, None, self.limits.max_archive, subject, auth=auth)
        _check_digest(archive, ref.digest, subject)
        return archive

    async def _oci_auth(
        self, registry: str, name: str, credentials: RepoCredentials | None, subject: str
    ) -> httpx.Auth | None:
        """How to authenticate to the registry: nothing, basic, or a bearer token."""
        try:
            probe = await self._client.get(f"{registry}/v2/", auth=None)
        except httpx.HTTPError as error:
            raise ChartRepositoryError(
                subject, f"registry {_redact(registry)} is unreachable: {type(error).__name__}"
            ) from error
        if probe.status_code != 401:
            return None
        challenge = probe.headers.get("www-authenticate", "")
        if challenge.lower().startswith("basic"):
            if credentials is None:
                raise ChartRepositoryError(subject, "the registry requires credentials")
            return credentials.auth
        if not challenge.lower().startswith("bearer"):
            raise ChartRepositoryError(subject, "the registry asks for an unsupported auth scheme")
        params = dict(_BEARER.findall(challenge))
        if "realm" not in params:
            raise ChartRepositoryError(subject, "the registry's bearer challenge has no realm")
        query = {"service": params.get("service", ""), "scope": f"repository:{name}:pull"}
        try:
            response = await self._client.get(
                params["realm"], params=query, auth=credentials.auth if credentials else None
            )
        except httpx.HTTPError as error:
            raise ChartRepositoryError(
                subject, f"token request failed: {type(error).__name__}"
            ) from error
        if response.status_code != 200:
            raise ChartRepositoryError(
                subject, f"token request returned HTTP {response.status_code}"
            )
        payload = _json(response.content, subject)
        token = payload.get("token") or payload.get("access_token")
        if not isinstance(token, str):
            raise ChartRepositoryError(subject, "the token response holds no token")
        return _BearerAuth(token)

    # --- unpacking -------------------------------------------------------------------

    def _install(self, archive: bytes, target: Path, subject: str) -> None:
        """Unpack ``archive`` aside and rename it to ``target`` (atomic for readers)."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self.cache_dir))
        try:
            top = extract_chart(archive, staging / "files", self.limits, subject)
            (staging / "files" / top).rename(staging / "chart")
            shutil.rmtree(staging / "files")
            try:
                staging.rename(target)
            except OSError:
                # Another process installed the same chart first; theirs is as good.
                if not (target / "chart").is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def select_version(versions: list[str], revision: str, subject: str) -> str:
    """The version ``revision`` picks from ``versions``, as Argo CD picks a chart version.

    An exact version must be present (compared as text, then as semver); a constraint
    picks the highest match; empty or ``*`` picks the highest release (no pre-release).
    """
    revision = revision.strip()
    if revision and revision != "*" and parse_constraint(revision) is None:
        if revision in versions:
            return revision
        wanted = parse_version(revision)
        for version in versions:
            if wanted is not None and parse_version(version) == wanted:
                return version
        raise ChartRepositoryError(
            subject, f"version {revision} not found (latest: {_latest(versions)})"
        )
    constraint = parse_constraint(revision or "*") or parse_constraint(">=0.0.0")
    assert constraint is not None
    best = constraint.best_tag(versions)
    if best is None:
        raise ChartRepositoryError(
            subject, f"no version satisfies {revision or '*'!r} (latest: {_latest(versions)})"
        )
    return best


def _latest(versions: list[str]) -> str:
    parsed = [(v, parse_version(v)) for v in versions]
    ordered = sorted(
        (p for p in parsed if p[1] is not None), key=lambda p: p[1] or semver.Version(0)
    )
    return ", ".join(v for v, _ in ordered[-3:]) or "none"


def extract_chart(archive: bytes, destination: Path, limits: ChartLimits, subject: str) -> str:
    """Unpack a chart archive into ``destination``; return its single top folder's name.

    Every entry is checked before it is written; see the module documentation.
    """
    destination.mkdir(parents=True)
    top: str | None = None
    files = 0
    expanded = 0
    try:
        # tarfile's own gzip stream reader rejects the FEXTRA header Helm writes (Python
        # 3.11); gzip.GzipFile inflates lazily, and the bounded reader caps the expanded
        # size independently of what the tar headers declare.
        budget = limits.max_expanded + limits.max_files * 1536 + MiB
        stream = _BoundedReader(gzip.GzipFile(fileobj=io.BytesIO(archive)), budget, subject)
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                name = _checked_name(member, subject)
                first = name.split("/", 1)[0]
                if top is None:
                    top = first
                elif first != top:
                    raise ChartArchiveError(subject, f"entry {name!r} is outside the chart folder")
                files += 1
                expanded += member.size
                if files > limits.max_files:
                    raise ChartArchiveError(subject, f"more than {limits.max_files} entries")
                if expanded > limits.max_expanded:
                    raise ChartArchiveError(
                        subject, f"expands to more than {limits.max_expanded} bytes"
                    )
                path = destination.joinpath(*name.split("/"))
                if member.isdir():
                    path.mkdir(mode=0o755, parents=True, exist_ok=True)
                    continue
                path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with source, open(path, "xb") as sink:
                    shutil.copyfileobj(source, sink, 1024 * 1024)
                os.chmod(path, 0o644)
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as error:
        raise ChartArchiveError(subject, f"not a valid chart archive: {error}") from error
    if top is None or not (destination / top / "Chart.yaml").is_file():
        raise ChartArchiveError(subject, "the archive holds no <chart>/Chart.yaml")
    return top


class _BoundedReader:
    """A file wrapper that refuses to deliver more than ``limit`` bytes in total."""

    def __init__(self, raw: gzip.GzipFile, limit: int, subject: str) -> None:
        self._raw, self._limit, self._subject, self._delivered = raw, limit, subject, 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._delivered += len(data)
        if self._delivered > self._limit:
            raise ChartArchiveError(self._subject, f"expands to more than {self._limit} bytes")
        return data


def _checked_name(member: tarfile.TarInfo, subject: str) -> str:
    name = member.name
    if not (member.isfile() or member.isdir()):
        kind = "link" if member.issym() or member.islnk() else "special file"
        raise ChartArchiveError(subject, f"entry {name!r} is a {kind}")
    if name.startswith("/") or "\\" in name or "\0" in name:
        raise ChartArchiveError(subject, f"entry {name!r} has an absolute or invalid path")
    normalised = posixpath.normpath(name)
    if normalised in (".", "..") or normalised.startswith("../") or ".." in name.split("/"):
        raise ChartArchiveError(subject, f"entry {name!r} climbs out with '..'")
    return normalised


def _check_digest(archive: bytes, digest: str, subject: str) -> None:
    if not digest:
        return
    algorithm, _, expected = digest.partition(":")
    if algorithm != "sha256" or not expected:
        raise ChartRepositoryError(subject, f"unsupported digest {digest!r}")
    actual = hashlib.sha256(archive).hexdigest()
    if actual != expected.lower():
        raise ChartRepositoryError(
            subject, f"archive digest sha256:{actual} does not match the expected {digest}"
        )


def _is_oci(repo_url: str) -> bool:
    return repo_url.startswith("oci://") or "://" not in repo_url


def _oci_location(repo_url: str, chart: str) -> tuple[str, str]:
    """The registry base URL and repository name for ``chart`` under ``repo_url``.

    ``oci://`` speaks HTTPS except to loopback hosts, which are plain HTTP (as a local
    ``registry:2`` is).
    """
    rest = repo_url.removeprefix("oci://").rstrip("/")
    host, _, path = rest.partition("/")
    hostname = host.rsplit(":", 1)[0].strip("[]")
    scheme = "http" if hostname in ("localhost", "127.0.0.1", "::1") else "https"
    name = f"{path}/{chart}" if path else chart
    return f"{scheme}://{host}", name


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.rsplit("@", 1)[-1]


def _redact(url: str) -> str:
    """``url`` without any ``user:password@`` part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def _json(body: bytes, subject: str) -> Mapping[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as error:
        raise ChartRepositoryError(subject, "the registry answered with invalid JSON") from error
    if not isinstance(value, Mapping):
        raise ChartRepositoryError(subject, "the registry answered with unexpected JSON")
    return value
