"""ApplicationSet tests: real Git servers on loopback, the local cluster, local folders."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "source"))

from gitfixtures import git_repo, git_server, git_server_session  # noqa: E402, F401

from tether.controller.appsets.generate import generate  # noqa: E402
from tether.controller.appsets.generator import GenerationContext, Generated  # noqa: E402
from tether.controller.appsets.sources import (  # noqa: E402
    GitRepositories,
    LocalRepositories,
    StaticInputs,
)
from tether.controller.install import install  # noqa: E402
from tether.kube import KubeClient, load_kubeconfig  # noqa: E402
from tether.model.applicationset import ApplicationSet  # noqa: E402
from tether.source import GitCache  # noqa: E402

TESTDATA = Path(__file__).parents[2] / "testdata/appsets"
_namespaces = itertools.count()


def load(name: str) -> dict[str, Any]:
    """A fixture document from ``testdata/appsets``."""
    data: dict[str, Any] = yaml.safe_load((TESTDATA / name).read_text())
    return data


def appset(spec: Mapping[str, Any], name: str = "set", namespace: str = "argocd") -> ApplicationSet:
    """An ApplicationSet around ``spec`` (a template is added when missing)."""
    body = {
        "template": {
            "metadata": {"name": "unused"},
            "spec": {
                "project": "default",
                "destination": {"server": "https://kubernetes.default.svc"},
            },
        },
        **spec,
    }
    return ApplicationSet.from_dict(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": name, "namespace": namespace},
            "spec": body,
        }
    )


def cluster_secret(
    name: str, server: str, labels: Mapping[str, str] | None = None, **annotations: str
) -> dict[str, Any]:
    """An Argo CD cluster Secret."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"cluster-{name}",
            "labels": {"argocd.argoproj.io/secret-type": "cluster", **(labels or {})},
            "annotations": dict(annotations),
        },
        "stringData": {"name": name, "server": server},
    }


async def run(
    spec: Mapping[str, Any],
    *,
    repos: Any = None,
    objects: Sequence[Mapping[str, Any]] = (),
) -> list[Generated]:
    """Run the generators of an ApplicationSet with ``spec`` and return their results."""
    inputs = StaticInputs(objects)
    ctx = GenerationContext(appset(spec), repos or LocalRepositories({}), inputs, inputs)
    results, _ = await generate(ctx)
    return results


def params_of(results: Sequence[Generated]) -> list[dict[str, Any]]:
    """Every parameter set of every generator, in order."""
    return [dict(p) for r in results for p in r.params]


@pytest.fixture
def git_repos(tmp_path: Path) -> GitRepositories:
    return GitRepositories(GitCache(tmp_path / "git-cache", fetch_timeout=5.0))


@pytest.fixture
async def client(local_cluster_session: Any) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig(local_cluster_session.kubeconfig)) as kube:
        yield kube


@pytest.fixture
async def namespace(client: KubeClient) -> str:
    name = f"appsets-{next(_namespaces)}-{datetime.now(UTC).strftime('%H%M%S%f')}"
    async with asyncio.timeout(30):
        await install(client, name)
    return name
