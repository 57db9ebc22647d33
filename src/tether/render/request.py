"""What a render is asked for, and what it returns: plain frozen values.

A :class:`RenderRequest` names the application (for its build environment and
defaults), its sources with their checkouts, and facts about the destination cluster
(namespace, Kubernetes version, API versions). A :class:`RenderResult` holds the
frozen objects, the tool each source used, the cache keys and warnings such as
:class:`RepeatedResourceWarning`. An empty result is a value, not an error: the caller
decides whether it is allowed (``allowEmpty``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tether.model import ApplicationSource, ResourceKey
from tether.render.detect import Tool
from tether.render.objects import FrozenObject

if TYPE_CHECKING:  # the chart client (httpx) is loaded only by those who fetch charts
    from tether.render.chartrepo import RepoCredentials


@dataclass(frozen=True, slots=True)
class SourceCheckout:
    """One source of the application and where its files are.

    ``root`` is the checkout of ``source.repo_url`` at ``revision`` (``None`` for a chart
    from a Helm repository). ``revision`` is the resolved commit SHA; an empty revision
    means "unknown", and such renders are never cached. A chart from a Helm repository
    is resolved by the renderer (its version and digest key the cache), using
    ``credentials`` when the repository needs them.
    """

    source: ApplicationSource
    root: Path | None
    revision: str = ""
    credentials: RepoCredentials | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """Render the sources of application ``app_name`` for its destination."""

    app_name: str
    sources: tuple[SourceCheckout, ...]
    app_namespace: str = "argocd"
    destination_namespace: str = ""
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    #: Bypass the render cache (Argo CD's ``hard`` refresh); the result is cached anew.
    hard_refresh: bool = False

    def build_env(self, checkout: SourceCheckout) -> dict[str, str]:
        """The ``ARGOCD_APP_*`` build environment of one source, as Argo CD sets it."""
        source = checkout.source
        return {
            "ARGOCD_APP_NAME": self.app_name,
            "ARGOCD_APP_NAMESPACE": self.app_namespace,
            "ARGOCD_APP_REVISION": checkout.revision,
            "ARGOCD_APP_REVISION_SHORT": checkout.revision[:7],
            "ARGOCD_APP_SOURCE_REPO_URL": source.repo_url,
            "ARGOCD_APP_SOURCE_PATH": source.path,
            "ARGOCD_APP_SOURCE_TARGET_REVISION": source.target_revision,
            "KUBE_VERSION": self.kube_version,
            "KUBE_API_VERSIONS": ",".join(self.api_versions),
        }


@dataclass(frozen=True, slots=True)
class RepeatedResourceWarning:
    """The same object came out more than once; the last occurrence is kept."""

    key: ResourceKey
    count: int

    @property
    def message(self) -> str:
        """The condition message, as Argo CD words it."""
        return f"Resource {self.key} appeared {self.count} times among application resources."


@dataclass(frozen=True, slots=True)
class RenderedSource:
    """The render of one source: its tool, its objects, and whether it came from cache.

    ``from_cache`` means this request ran nothing: the render was in the cache, or was
    shared with a concurrent request for the same render.
    """

    index: int
    tool: Tool
    objects: tuple[FrozenObject, ...]
    cache_key: str
    from_cache: bool = False
    #: The identity of each object (namespace defaulted to the destination's), computed
    #: once at render time so a cached render is merged without re-reading objects.
    keys: tuple[ResourceKey, ...] = ()


@dataclass(frozen=True, slots=True)
class RenderResult:
    """The desired objects of an application, in a stable order."""

    objects: tuple[FrozenObject, ...]
    sources: tuple[RenderedSource, ...]
    warnings: tuple[RepeatedResourceWarning, ...]
    cache_key: str

    @property
    def tools(self) -> tuple[Tool, ...]:
        """The tool of each rendered source (``ref``-only sources are not rendered)."""
        return tuple(source.tool for source in self.sources)

    @property
    def from_cache(self) -> bool:
        """Whether every source was served from the cache (nothing was rendered)."""
        return all(source.from_cache for source in self.sources)
