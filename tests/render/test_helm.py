"""The Helm renderer against what ``helm template`` prints for the same input."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.model import ApplicationSource
from tether.render.errors import (
    MissingPathError,
    PathEscapeError,
    RefusedSourceError,
    RenderError,
)
from tether.render.objects import thaw
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, RenderResult, SourceCheckout
from tether.tools import find_tool

CHART = "charts/demo"


def helm_template(*args: str, cwd: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(find_tool("helm")), "template", *args],
        check=True,
        capture_output=True,
        timeout=60,
        cwd=cwd,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def objects(result: RenderResult) -> list[dict[str, Any]]:
    return [thaw(o) for o in result.objects]


def settings_of(result: RenderResult) -> dict[str, str]:
    (config,) = [o for o in result.objects if o["kind"] == "ConfigMap"]
    return dict(config["data"])


async def test_defaults_match_helm_template(render: Any, repo: Path) -> None:
    result = await render({"repoURL": "r", "path": CHART})
    expected = helm_template("demo", CHART, "--namespace", "prod", "--include-crds", cwd=repo)
    assert objects(result) == expected


async def test_every_option_matches_helm_template(render: Any, repo: Path) -> None:
    helm = {
        "releaseName": "web",
        "namespace": "web-ns",
        "valueFiles": ["values-prod.yaml"],
        "values": "service:\n  port: 8080\n",
        "parameters": [
            {"name": "image.tag", "value": "1.28"},
            {"name": "tier", "value": "007", "forceString": True},
        ],
        "fileParameters": [{"name": "certificate", "path": "cert.pem"}],
        "kubeVersion": "1.31.0",
        "apiVersions": ["monitoring.coreos.com/v1"],
        "skipCrds": True,
        "skipTests": True,
    }
    result = await render({"repoURL": "r", "path": CHART, "helm": helm})
    (repo / "inline.yaml").write_text(helm["values"])
    expected = helm_template(
        "web",
        CHART,
        "--namespace",
        "web-ns",
        "--kube-version",
        "1.31.0",
        "--api-versions",
        "monitoring.coreos.com/v1",
        "--values",
        f"{CHART}/values-prod.yaml",
        "--values",
        "inline.yaml",
        "--set",
        "image.tag=1.28",
        "--set-string",
        "tier=007",
        "--skip-crds",
        "--skip-tests",
        "--set-file",
        f"certificate={CHART}/cert.pem",
        cwd=repo,
    )
    assert objects(result) == expected
    assert settings_of(result)["hasMonitoring"] == "true"


@pytest.mark.parametrize(
    ("helm", "greeting", "tier", "kind"),
    [
        ({}, "from-chart-defaults", "defaults", "string"),
        ({"valueFiles": ["values-prod.yaml"]}, "from-values-prod", "prod", "string"),
        (
            {"valueFiles": ["values-prod.yaml"], "values": "tier: inline"},
            "from-values-prod",
            "inline",
            "string",
        ),
        (
            {"values": "tier: inline\ngreeting: inline", "valuesObject": {"tier": "object"}},
            "from-chart-defaults",  # valuesObject replaces values entirely
            "object",
            "string",
        ),
        (
            {
                "valueFiles": ["values-prod.yaml"],
                "valuesObject": {"tier": "object"},
                "parameters": [{"name": "tier", "value": "param"}],
            },
            "from-values-prod",
            "param",
            "string",
        ),
        ({"parameters": [{"name": "tier", "value": "42"}]}, "from-chart-defaults", "42", "int64"),
        (
            {"parameters": [{"name": "tier", "value": "42", "forceString": True}]},
            "from-chart-defaults",
            "42",
            "string",
        ),
        (
            {"parameters": [{"name": "tier", "value": "$ARGOCD_APP_NAME"}]},
            "from-chart-defaults",
            "demo",
            "string",
        ),
    ],
)
async def test_value_precedence(
    render: Any, helm: dict[str, Any], greeting: str, tier: str, kind: str
) -> None:
    data = settings_of(await render({"repoURL": "r", "path": CHART, "helm": helm}))
    assert (data["greeting"], data["tier"], data["tierKind"]) == (greeting, tier, kind)


async def test_cluster_facts_default_to_the_destination(render: Any) -> None:
    result = await render(
        {"repoURL": "r", "path": CHART},
        kube_version="1.29.4",
        api_versions=("monitoring.coreos.com/v1",),
    )
    data = settings_of(result)
    assert (data["kubeVersion"], data["hasMonitoring"]) == ("v1.29.4", "true")
    assert {
        o["metadata"].get("namespace") for o in result.objects if o["kind"] == "Deployment"
    } == {"prod"}


async def test_hooks_and_tests_are_kept_with_their_annotations(render: Any) -> None:
    result = await render({"repoURL": "r", "path": CHART})
    hooks = {
        o["metadata"]["name"]: dict(o["metadata"]["annotations"])
        for o in result.objects
        if "annotations" in o["metadata"]
    }
    assert hooks["demo-migrate"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert hooks["demo-migrate"]["helm.sh/hook-weight"] == "-5"
    assert hooks["demo-test-connection"]["helm.sh/hook"] == "test"


async def test_local_file_dependencies_are_built_in_a_scratch_copy(
    render: Any, repo: Path, tmp_path: Path
) -> None:
    result = await render({"repoURL": "r", "path": "charts/umbrella"})
    assert not (repo / "charts/umbrella/charts").exists()  # the checkout is never written
    copy = tmp_path / "expected"
    shutil.copytree(repo, copy)
    helm = str(find_tool("helm"))
    await asyncio.to_thread(
        subprocess.run,
        [helm, "dependency", "build", "--skip-refresh", "charts/umbrella"],
        cwd=copy,
        check=True,
        capture_output=True,
        timeout=60,
    )
    expected = helm_template(
        "demo", "charts/umbrella", "--namespace", "prod", "--include-crds", cwd=copy
    )
    assert objects(result) == expected
    assert [o["metadata"]["name"] for o in result.objects] == ["demo-common", "demo-umbrella"]


async def test_multi_source_ref_value_file(renderer: Renderer, repo: Path, tmp_path: Path) -> None:
    values_repo = tmp_path / "values-repo"  # a different repository: only it has this file
    (values_repo / "teams" / "web").mkdir(parents=True)
    shutil.copy(repo / "values/envs/prod.yaml", values_repo / "teams/web/$ARGOCD_APP_NAME.yaml")
    shutil.copy(repo / "values/envs/prod.yaml", values_repo / "teams/web/demo.yaml")
    chart = ApplicationSource.from_dict(
        {
            "repoURL": "https://git.example.com/charts.git",
            "path": CHART,
            "helm": {"valueFiles": ["values-prod.yaml", "$values/teams/web/$ARGOCD_APP_NAME.yaml"]},
        }
    )
    values = ApplicationSource.from_dict(
        {"repoURL": "https://git.example.com/values.git", "ref": "values"}
    )
    request = RenderRequest(
        "demo",
        (SourceCheckout(chart, repo, "1" * 40), SourceCheckout(values, values_repo, "2" * 40)),
        destination_namespace="prod",
    )
    result = await renderer.render(request)
    assert len(result.sources) == 1  # the ref source lends files only
    assert (settings_of(result)["greeting"], settings_of(result)["tier"]) == (
        "from-ref-source",
        "ref",
    )


@pytest.mark.parametrize(
    "value_file", ["../../../etc/passwd", "/../../etc/passwd", "file:///etc/passwd"]
)
async def test_value_files_outside_the_repository_are_refused(render: Any, value_file: str) -> None:
    with pytest.raises(PathEscapeError) as caught:
        await render({"repoURL": "r", "path": CHART, "helm": {"valueFiles": [value_file]}})
    assert str(caught.value).startswith(f"failed to render {CHART}: path {value_file!r}")


async def test_a_value_file_symlinked_to_etc_passwd_is_refused(render: Any, repo: Path) -> None:
    os.symlink("/etc/passwd", repo / CHART / "values-evil.yaml")
    with pytest.raises(PathEscapeError, match="leaves the repository"):
        await render({"repoURL": "r", "path": CHART, "helm": {"valueFiles": ["values-evil.yaml"]}})


async def test_file_parameter_outside_is_refused(render: Any) -> None:
    helm = {"fileParameters": [{"name": "certificate", "path": "../../../etc/hostname"}]}
    with pytest.raises(PathEscapeError):
        await render({"repoURL": "r", "path": CHART, "helm": helm})


async def test_remote_value_files_are_refused(render: Any) -> None:
    helm = {"valueFiles": ["https://example.com/values.yaml"]}
    with pytest.raises(RefusedSourceError, match="remote value files are not allowed"):
        await render({"repoURL": "r", "path": CHART, "helm": helm})


async def test_missing_value_file_is_an_error_unless_ignored(render: Any) -> None:
    with pytest.raises(MissingPathError, match=r"value file 'nope\.yaml' does not exist"):
        await render({"repoURL": "r", "path": CHART, "helm": {"valueFiles": ["nope.yaml"]}})
    helm = {"valueFiles": ["nope.yaml", "values-prod.yaml"], "ignoreMissingValueFiles": True}
    data = settings_of(await render({"repoURL": "r", "path": CHART, "helm": helm}))
    assert data["tier"] == "prod"


async def test_an_unknown_ref_is_a_variable_as_in_argo_cd(render: Any) -> None:
    with pytest.raises(MissingPathError, match=r"value file '\$other/v.yaml' does not exist"):
        await render({"repoURL": "r", "path": CHART, "helm": {"valueFiles": ["$other/v.yaml"]}})


async def test_a_failing_chart_is_a_tool_error_with_stderr(render: Any, repo: Path) -> None:
    (repo / CHART / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    with pytest.raises(
        Exception,
        match=r"failed to render charts/demo: helm exited with code 1: Error: .*nil pointer",
    ):
        await render({"repoURL": "r", "path": CHART})


async def test_commas_in_parameter_values_are_kept(render: Any) -> None:
    helm = {"parameters": [{"name": "tier", "value": "gold,silver"}]}
    data = settings_of(await render({"repoURL": "r", "path": CHART, "helm": helm}))
    assert data["tier"] == "gold,silver"


@pytest.mark.parametrize("name", ["--post-renderer=/bin/sh", "Web", "-x", "a" * 54])
async def test_release_names_that_could_be_flags_are_refused(render: Any, name: str) -> None:
    with pytest.raises(RenderError, match="invalid release name"):
        await render({"repoURL": "r", "path": CHART, "helm": {"releaseName": name}})
