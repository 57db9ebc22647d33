"""Where generators read from: the cluster and Git cache, or local files offline.

:class:`ClusterInputs` and :class:`GitRepositories` serve the controller;
:class:`LocalRepositories` and :class:`StaticInputs` serve ``tether appset generate``,
where a folder stands in for a repository and cluster Secrets come from files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from tether.controller.appsets.clusters import secret_field
from tether.controller.appsets.generator import RepositoryReader
from tether.kube import KubeClient, KubeError, NotFound
from tether.model import keys
from tether.source import EntryKind, GitCache, PathNotFound, SourceError, match_glob

#: Stand-in "commit" of a local folder: it is read as it is on disk.
LOCAL_SNAPSHOT: Final = "local"


class GitRepositories:
    """Repositories through the shared :class:`GitCache` (fetching on resolve)."""

    def __init__(self, cache: GitCache) -> None:
        self.cache = cache

    async def resolve(self, repo_url: str, revision: str) -> str:
        """Refresh the mirror and resolve ``revision`` to a commit SHA."""
        return (await self.cache.resolve(repo_url, revision)).sha

    async def list_paths(
        self, repo_url: str, commit: str, pattern: str, kind: EntryKind
    ) -> tuple[str, ...]:
        """Paths at ``commit`` matching ``pattern``."""
        return await self.cache.list_paths(repo_url, commit, pattern, kind=kind)

    async def read_file(self, repo_url: str, commit: str, path: str) -> bytes:
        """A file at ``commit``."""
        return await self.cache.read_file(repo_url, commit, path)


class SnapshotRepositories:
    """One pass's view of the repositories: each ``(repoURL, revision)`` resolved once.

    A matrix may run the same git generator once per cluster; resolving once per pass
    saves a remote round trip each time, and every generator of the pass reads the same
    commit, so a push landing mid-pass cannot mix two states into one plan.
    """

    def __init__(self, inner: RepositoryReader) -> None:
        self.inner = inner
        self._resolved: dict[tuple[str, str], str] = {}

    async def resolve(self, repo_url: str, revision: str) -> str:
        """The commit ``revision`` named when this pass first asked."""
        key = (repo_url, revision)
        if key not in self._resolved:
            self._resolved[key] = await self.inner.resolve(repo_url, revision)
        return self._resolved[key]

    async def list_paths(
        self, repo_url: str, commit: str, pattern: str, kind: EntryKind
    ) -> tuple[str, ...]:
        """Paths at ``commit`` matching ``pattern``."""
        return await self.inner.list_paths(repo_url, commit, pattern, kind)

    async def read_file(self, repo_url: str, commit: str, path: str) -> bytes:
        """A file at ``commit``."""
        return await self.inner.read_file(repo_url, commit, path)


class LocalRepositories:
    """Folders standing in for repositories: one per URL, or one for every URL."""

    def __init__(self, folders: Mapping[str, Path], default: Path | None = None) -> None:
        self.folders = {url.rstrip("/"): path for url, path in folders.items()}
        self.default = default

    def _root(self, repo_url: str) -> Path:
        root = self.folders.get(repo_url.rstrip("/"), self.default)
        if root is None:
            raise SourceError(repo_url, "no local folder given for this repository (--local)")
        return root

    async def resolve(self, repo_url: str, revision: str) -> str:
        """Local folders have one state: as they are."""
        if not self._root(repo_url).is_dir():
            raise SourceError(repo_url, f"{self._root(repo_url)} is not a folder")
        return LOCAL_SNAPSHOT

    async def list_paths(
        self, repo_url: str, commit: str, pattern: str, kind: EntryKind
    ) -> tuple[str, ...]:
        """Paths under the folder matching ``pattern`` (``.git`` skipped)."""
        root = self._root(repo_url)
        segments = tuple(s for s in pattern.strip("/").split("/") if s not in ("", "."))
        found: list[str] = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d != ".git"]
            relative = Path(folder).relative_to(root).as_posix()
            prefix = "" if relative == "." else relative + "/"
            names = dirs if kind is EntryKind.DIRECTORY else files
            found.extend(prefix + n for n in names if match_glob(segments, prefix + n))
        return tuple(sorted(found))

    async def read_file(self, repo_url: str, commit: str, path: str) -> bytes:
        """A file under the folder; it may not leave the folder."""
        root = self._root(repo_url).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise PathNotFound(repo_url, f"no file {path!r} in {root}")
        return target.read_bytes()


class ClusterInputs:
    """Cluster Secrets, Secrets and ConfigMaps of the control namespace, read live."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    async def cluster_secrets(self) -> Sequence[Mapping[str, Any]]:
        """Every Secret labelled as a cluster."""
        found = await self.client.list(
            "v1",
            "Secret",
            self.namespace,
            label_selector=f"{keys.SECRET_TYPE_LABEL}={keys.SECRET_TYPE_CLUSTER}",
        )
        return found.items

    async def secret_value(self, name: str, key: str) -> str:
        """One key of a Secret; ``LookupError`` when absent."""
        try:
            secret = await self.client.get("v1", "Secret", name, self.namespace)
        except NotFound as error:
            raise LookupError(f"Secret {self.namespace}/{name} not found") from error
        except KubeError as error:
            raise LookupError(str(error)) from error
        value = secret_field(secret, key)
        if not value:
            raise LookupError(f"Secret {self.namespace}/{name} has no key {key}")
        return value

    async def config_map(self, name: str) -> Mapping[str, str]:
        """A ConfigMap's data; ``LookupError`` when absent."""
        try:
            found = await self.client.get("v1", "ConfigMap", name, self.namespace)
        except KubeError as error:
            raise LookupError(str(error)) from error
        return {str(k): str(v) for k, v in (found.get("data") or {}).items()}


class StaticInputs:
    """Cluster Secrets (and other Secrets) given as objects, for offline generation."""

    def __init__(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self.objects = list(objects)

    def _named(self, kind: str, name: str) -> Mapping[str, Any]:
        for obj in self.objects:
            if obj.get("kind") == kind and (obj.get("metadata") or {}).get("name") == name:
                return obj
        raise LookupError(f"{kind} {name} was not given")

    async def cluster_secrets(self) -> Sequence[Mapping[str, Any]]:
        """The given Secrets labelled as clusters."""
        return [
            obj
            for obj in self.objects
            if obj.get("kind") == "Secret"
            and ((obj.get("metadata") or {}).get("labels") or {}).get(keys.SECRET_TYPE_LABEL)
            == keys.SECRET_TYPE_CLUSTER
        ]

    async def secret_value(self, name: str, key: str) -> str:
        """A key of a given Secret."""
        value = secret_field(self._named("Secret", name), key)
        if not value:
            raise LookupError(f"Secret {name} has no key {key}")
        return value

    async def config_map(self, name: str) -> Mapping[str, str]:
        """A given ConfigMap's data."""
        data = self._named("ConfigMap", name).get("data") or {}
        return {str(k): str(v) for k, v in data.items()}
