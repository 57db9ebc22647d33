"""ApplicationSet specs that cannot be generated or templated: an error, and nothing deleted.

Each case starts from an ApplicationSet whose list generator has produced the
Application ``alpha``, then replaces its spec with a broken one. The reconciler reports
``ErrorOccurred`` with the cause, creates nothing, and neither deletes nor changes
``alpha``: a generator or template error never leads to a deletion (Argo CD's rule, and
tether's first safety rule). Where only one generated Application is invalid (a bad
name), the others are kept as they are and the invalid one is reported.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tether.controller import install
from tether.controller.appsets import ApplicationSetReconciler
from tether.kube import KubeClient
from tether.source import GitCache

pytestmark = pytest.mark.asyncio(loop_scope="session")

API = "argoproj.io/v1alpha1"
_namespaces = itertools.count()


def template(name: str, **spec: Any) -> dict[str, Any]:
    """An Application template named ``name`` (a template expression or a literal)."""
    return {
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://example.com/r.git", "path": "."},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
        }
        | spec,
    }


def elements(*names: str) -> list[dict[str, Any]]:
    """A list generator of one element per name."""
    return [{"list": {"elements": [{"name": name} for name in names]}}]


GOOD = {"generators": elements("alpha"), "template": template("{{name}}")}

CASES = {
    "gotemplate-missing-key": (
        {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": elements("beta"),
            "template": template("{{ .nosuchkey }}"),
        },
        "nosuchkey",
    ),
    "gotemplate-syntax-error": (
        {"goTemplate": True, "generators": elements("beta"), "template": template("{{ .name ")},
        "template",
    ),
    "invalid-application-name": (
        {"generators": elements("alpha", "Not_Valid"), "template": template("{{name}}")},
        "Not_Valid",
    ),
    "duplicate-application-names": (
        {"generators": elements("beta", "beta"), "template": template("{{name}}")},
        "beta",
    ),
    "unknown-generator": (
        {"generators": [{"noSuchGenerator": {}}], "template": template("{{name}}")},
        "generator",
    ),
}


@pytest.mark.parametrize(("spec", "cause"), CASES.values(), ids=CASES.keys())
async def test_broken_applicationset_reports_an_error_and_deletes_nothing(
    kube: KubeClient, tmp_path: Path, spec: dict[str, Any], cause: str
) -> None:
    namespace = f"badinput-appsets-{next(_namespaces)}"
    await install(kube, namespace)
    manifest = {
        "apiVersion": API,
        "kind": "ApplicationSet",
        "metadata": {"name": "set", "namespace": namespace},
        "spec": GOOD,
    }
    await kube.apply(manifest)
    reconciler = ApplicationSetReconciler(kube, namespace, GitCache(tmp_path / "git"))
    assert (await reconciler.reconcile_once("set")).created == ("alpha",)
    alpha = await kube.get(API, "Application", "alpha", namespace)

    await kube.apply(manifest | {"spec": spec})
    result = await reconciler.reconcile_once("set")

    reported = "; ".join((result.error, *result.problems))
    assert cause in reported, reported
    assert result.deleted == ()
    assert result.created == ()
    listed = await kube.list(API, "Application", namespace)
    assert [a["metadata"]["name"] for a in listed.items] == ["alpha"]
    assert listed.items[0]["spec"] == alpha["spec"]
    found = await kube.get(API, "ApplicationSet", "set", namespace)
    conditions = {c["type"]: c for c in (found.get("status") or {}).get("conditions") or []}
    assert conditions["ErrorOccurred"]["status"] == "True"
    assert cause in conditions["ErrorOccurred"]["message"]
