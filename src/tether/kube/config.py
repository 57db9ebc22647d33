"""Loading kubeconfig files: which cluster to reach, and with which credentials.

Contexts, client certificates, bearer tokens and token files are supported as
``kubectl`` supports them. Exec credential plugins run an arbitrary program named in the
kubeconfig, so they are refused unless the caller allows them explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError as _LightkubeConfigError


class ConfigError(Exception):
    """A kubeconfig could not be loaded or does not allow what was asked."""


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """One selected context of a kubeconfig: the server URL and how to authenticate."""

    context: str
    server: str
    namespace: str
    single: SingleConfig

    @classmethod
    def from_single(cls, single: SingleConfig) -> ClusterConfig:
        """Wrap a lightkube context selection."""
        return cls(
            context=single.context_name,
            server=single.cluster.server.rstrip("/"),
            namespace=single.namespace,
            single=single,
        )


def default_kubeconfig_path() -> Path:
    """``$KUBECONFIG`` (its first entry) or ``~/.kube/config``, as kubectl looks."""
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first) if first else Path.home() / ".kube" / "config"


def load_kubeconfig(
    path: Path | None = None, context: str | None = None, *, allow_exec: bool = False
) -> ClusterConfig:
    """Select ``context`` (default: the current one) from the kubeconfig at ``path``."""
    path = path or default_kubeconfig_path()
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"failed to read kubeconfig {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"failed to parse kubeconfig {path}: {error}") from error
    return kubeconfig_from_dict(raw, context, allow_exec=allow_exec, path=path)


def kubeconfig_from_dict(
    raw: Any, context: str | None = None, *, allow_exec: bool = False, path: Path | None = None
) -> ClusterConfig:
    """Select ``context`` from a kubeconfig already parsed into a mapping."""
    where = str(path) if path else "kubeconfig"
    if not isinstance(raw, dict):
        raise ConfigError(f"failed to load {where}: not a kubeconfig mapping")
    try:
        single = KubeConfig.from_dict(raw, fname=path).get(context)
    except (_LightkubeConfigError, KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"failed to load {where}: {error}") from error
    if single is None:  # only when a default is passed, which we never do
        raise ConfigError(f"failed to load {where}: no context selected")
    if single.user is not None and single.user.exec and not allow_exec:
        raise ConfigError(
            f"failed to load {where}: context {single.context_name} uses an exec credential "
            "plugin, which runs a program named in the kubeconfig; allow exec plugins to use it"
        )
    if single.user is not None and single.user.auth_provider:
        raise ConfigError(
            f"failed to load {where}: context {single.context_name} uses an auth-provider, "
            "which is not supported; use a token, a client certificate or an exec plugin"
        )
    return ClusterConfig.from_single(single)
