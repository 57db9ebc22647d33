"""Operator settings that change how sources render (Argo CD's ``argocd-cm`` keys).

They are injected into the :class:`~tether.render.renderer.Renderer` once and take part
in every cache key (:meth:`RenderSettings.cache_fields`), so changing a setting
re-renders instead of serving output built under the old rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrage import x25519

from tether.render.process import Limits
from tether.render.yamlio import DEFAULT_LIMITS, YamlLimits


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """How renders run. The defaults are the safe ones."""

    #: ``kustomize.buildOptions``: extra flags for every kustomize build, split like a
    #: shell would (``--enable-helm --load-restrictor LoadRestrictionsNone``).
    kustomize_build_options: str = ""
    #: ``kustomize.path.<version>``: standalone kustomize binaries a source may pin with
    #: ``kustomize.version`` (otherwise the default kustomize runs).
    kustomize_versions: Mapping[str, Path] = field(default_factory=dict)
    #: Allow kustomize ``resources`` that are remote (git or http) bases.
    allow_remote_bases: bool = False
    #: Allow Helm ``valueFiles`` that are http(s) URLs (fetched by helm itself).
    allow_remote_value_files: bool = False
    #: Time and output limits for each tool run.
    tool_limits: Limits = field(default_factory=Limits)
    #: Bounds for parsing manifests, values and tool output.
    yaml_limits: YamlLimits = DEFAULT_LIMITS
    #: Largest combined size of the YAML and JSON files of one directory source
    #: (Argo CD's ``reposerver.max.combined.directory.manifests.size``, 10M by default).
    max_directory_bytes: int = 10 * 1024 * 1024
    #: Renders whose tools may run at the same time per renderer (0: no limit).
    parallelism_limit: int = 0
    #: age identities that decrypt SOPS documents of directory sources (secret: never
    #: shown; see :func:`tether.render.sops.parse_identities`).
    sops_identities: tuple[x25519.Identity, ...] = field(default=(), repr=False)

    def cache_fields(self) -> dict[str, Any]:
        """The settings that change render output, for cache keys (no secret among them)."""
        return {
            "kustomizeBuildOptions": self.kustomize_build_options,
            "kustomizeVersions": {k: str(v) for k, v in sorted(self.kustomize_versions.items())},
            "allowRemoteBases": self.allow_remote_bases,
            "allowRemoteValueFiles": self.allow_remote_value_files,
            "sopsRecipients": sorted(str(i.to_public()) for i in self.sops_identities),
        }
