"""What every generator gets and gives: the inputs it may read and its result.

Generators never talk to a cluster or a repository directly; they read through the
small interfaces here, so the same code runs in the controller (a cluster, the Git
cache) and offline in ``tether appset generate`` (folders and files on disk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.params import ParamSet
from tether.model.applicationset import ApplicationSet, Generator
from tether.source import EntryKind

#: Argo CD's default requeue for generators that poll (git, clusters): 3 minutes.
DEFAULT_REQUEUE_SECONDS: Final = 180.0
#: Argo CD's default for generators that call hosted APIs (pull requests, SCM, plugins).
DEFAULT_API_REQUEUE_SECONDS: Final = 30 * 60.0


class RepositoryReader(Protocol):
    """Read access to Git repositories: resolve a revision, list paths, read files."""

    async def resolve(self, repo_url: str, revision: str) -> str:
        """The commit (or snapshot id) ``revision`` names now."""
        ...

    async def list_paths(
        self, repo_url: str, commit: str, pattern: str, kind: EntryKind
    ) -> tuple[str, ...]:
        """Paths of ``kind`` matching a glob (``*`` within a segment, ``**`` across)."""
        ...

    async def read_file(self, repo_url: str, commit: str, path: str) -> bytes:
        """A file's content."""
        ...


class ClusterSource(Protocol):
    """The cluster Secrets (``argocd.argoproj.io/secret-type: cluster``) as dicts."""

    async def cluster_secrets(self) -> Sequence[Mapping[str, Any]]:
        """Every cluster Secret."""
        ...


class SecretSource(Protocol):
    """Values of Secrets and ConfigMaps in the control namespace."""

    async def secret_value(self, name: str, key: str) -> str:
        """One key of a Secret, decoded."""
        ...

    async def config_map(self, name: str) -> Mapping[str, str]:
        """A ConfigMap's data."""
        ...


@dataclass(frozen=True, slots=True)
class GenerationContext:
    """Everything a generator may read, for one ApplicationSet."""

    appset: ApplicationSet
    repositories: RepositoryReader
    clusters: ClusterSource
    secrets: SecretSource
    http_timeout: float = 30.0

    @property
    def go_template(self) -> bool:
        """Whether the ApplicationSet uses Go templates (parameters keep their shape)."""
        return self.appset.spec.go_template

    @property
    def options(self) -> tuple[str, ...]:
        """``goTemplateOptions``."""
        return self.appset.spec.go_template_options


@dataclass(frozen=True, slots=True)
class Generated:
    """A generator's parameter sets and when it wants to run again (None: never)."""

    params: tuple[ParamSet, ...]
    requeue_after: float | None = None
    template: Mapping[str, Any] | None = field(default=None)


def requeue_of(generator: Generator, default: float | None) -> float | None:
    """``requeueAfterSeconds`` of a generator, else ``default``."""
    raw = generator.body.get("requeueAfterSeconds")
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise GeneratorError(generator.type, f"requeueAfterSeconds must be a count, got {raw!r}")
    return float(raw)


def text_field(generator: Generator, body: Mapping[str, Any], key: str, *, required: bool) -> str:
    """A string field of a generator body; a clear error when required and missing."""
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise GeneratorError(generator.type, f"{key} is required")
        return ""
    if not isinstance(value, str):
        raise GeneratorError(generator.type, f"{key} must be a string, got {value!r}")
    return value
