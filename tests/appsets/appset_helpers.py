"""Helpers shared by the ApplicationSet tests: building ApplicationSets, running generators."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tether.controller.appsets.generate import generate
from tether.controller.appsets.generator import Generated, GenerationContext
from tether.controller.appsets.sources import LocalRepositories, StaticInputs
from tether.model.applicationset import ApplicationSet


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
