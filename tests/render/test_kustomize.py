"""The kustomize renderer against what ``kubectl kustomize`` prints for the same input.

Each Argo CD option is checked by writing, by hand, the kustomization Argo CD's edit
would produce and building it with the real tool: the renderer's output must match.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.model import ApplicationSource, KustomizeSource
from tether.render.errors import PathEscapeError, RefusedSourceError, RenderError, ToolError
from tether.render.kustomize import KustomizeBuild, build_argv
from tether.render.objects import thaw
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, SourceCheckout
from tether.render.settings import RenderSettings
from tether.tools import find_tool

OVERLAY = "apps/kustomize/overlays/prod"


def kubectl_kustomize(folder: Path) -> list[dict[str, Any]]:
    """What the real tool prints for ``folder``, parsed."""
    out = subprocess.run(
        [str(find_tool("kubectl")), "kustomize", str(folder)],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def expected_with(repo: Path, tmp_path: Path, changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Build the overlay after merging ``changes`` into its kustomization, in a copy."""
    copy = tmp_path / "expected"
    shutil.copytree(repo, copy, symlinks=True)
    file = copy / OVERLAY / "kustomization.yaml"
    spec = yaml.safe_load(file.read_text())
    spec.update(changes)
    file.write_text(yaml.safe_dump(spec))
    return kubectl_kustomize(copy / OVERLAY)


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


async def test_plain_overlay_matches_kubectl_kustomize(render: Any, repo: Path) -> None:
    result = await render({"repoURL": "r", "path": OVERLAY})
    assert [thaw(o) for o in result.objects] == kubectl_kustomize(repo / OVERLAY)


PATCH = {
    "target": {"kind": "Deployment", "name": "api"},
    "patch": "- op: add\n  path: /spec/template/spec/priorityClassName\n  value: high\n",
}

# (Application kustomize options, the kustomization fields Argo CD's edit leaves behind)
OPTIONS = {
    "namePrefix": ({"namePrefix": "x-"}, {"namePrefix": "x-"}),
    "nameSuffix": ({"nameSuffix": "-v2"}, {"nameSuffix": "-v2"}),
    "images-rename-and-tag": (
        {"images": ["example.com/team/api=registry.local/api:2.0"]},
        {
            "images": [
                {"name": "example.com/team/api", "newName": "registry.local/api", "newTag": "2.0"}
            ]
        },
    ),
    "images-digest": (
        {"images": ["example.com/team/api@sha256:" + "a" * 64]},
        {"images": [{"name": "example.com/team/api", "digest": "sha256:" + "a" * 64}]},
    ),
    "commonLabels": (
        {"commonLabels": {"team": "payments"}},
        {"commonLabels": {"env": "prod", "team": "payments"}},
    ),
    "forceCommonLabels": (
        {"commonLabels": {"env": "staging"}, "forceCommonLabels": True},
        {"commonLabels": {"env": "staging"}},
    ),
    "labelWithoutSelector": (
        {"commonLabels": {"team": "payments"}, "labelWithoutSelector": True},
        {"labels": [{"pairs": {"team": "payments"}, "includeSelectors": False}]},
    ),
    "commonAnnotations-envsubst": (
        {"commonAnnotations": {"owner": "$ARGOCD_APP_NAME"}, "commonAnnotationsEnvsubst": True},
        {"commonAnnotations": {"owner": "demo"}},
    ),
    "commonAnnotations-literal": (
        {"commonAnnotations": {"owner": "$ARGOCD_APP_NAME"}},
        {"commonAnnotations": {"owner": "$ARGOCD_APP_NAME"}},
    ),
    "forceCommonAnnotations": (
        {"commonAnnotations": {"note": "from-app"}, "forceCommonAnnotations": True},
        {"commonAnnotations": {"note": "from-app"}},
    ),
    "namespace": ({"namespace": "team-a"}, {"namespace": "team-a"}),
    "replicas": (
        {"replicas": [{"name": "api", "count": 4}]},
        {"replicas": [{"name": "api", "count": 4}]},
    ),
    "components": (
        {
            "components": ["../../components/monitoring", "../../components/missing"],
            "ignoreMissingComponents": True,
        },
        {"components": ["../../components/monitoring"]},
    ),
    "patches": ({"patches": [PATCH]}, {"patches": [PATCH]}),
}


@pytest.mark.parametrize("case", OPTIONS.values(), ids=OPTIONS.keys())
async def test_option_matches_the_edited_kustomization(
    render: Any, repo: Path, tmp_path: Path, case: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    options, changes = case
    before = tree_digest(repo)
    result = await render({"repoURL": "r", "path": OVERLAY, "kustomize": options})
    assert [thaw(o) for o in result.objects] == expected_with(repo, tmp_path, changes)
    assert tree_digest(repo) == before  # edits happen in a scratch copy only


async def test_existing_label_without_force_is_an_error(render: Any) -> None:
    with pytest.raises(RenderError, match="label env already in kustomization file"):
        await render({"repoURL": "r", "path": OVERLAY, "kustomize": {"commonLabels": {"env": "x"}}})


async def test_missing_component_is_an_error(render: Any) -> None:
    with pytest.raises(RenderError, match=r"kustomize component '\.\./nope' does not exist"):
        await render({"repoURL": "r", "path": OVERLAY, "kustomize": {"components": ["../nope"]}})


def write_app(repo: Path, resources: list[str], extra: str = "") -> None:
    app = repo / "apps" / "evil"
    app.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"  - {item}\n" for item in resources)
    (app / "kustomization.yaml").write_text(f"resources:\n{listed}{extra}")


async def test_resources_climbing_out_of_the_repository_are_refused(
    render: Any, repo: Path
) -> None:
    write_app(repo, ["../../.."])
    with pytest.raises(PathEscapeError) as caught:
        await render({"repoURL": "r", "path": "apps/evil"})
    assert str(caught.value) == (
        "failed to render apps/evil: path '../../..' resolves outside the repository"
    )


async def test_a_base_reaching_outside_is_refused_transitively(render: Any, repo: Path) -> None:
    write_app(repo, ["../../apps/kustomize/base", "../../apps/nested"])
    (repo / "apps" / "nested").mkdir()
    (repo / "apps" / "nested" / "kustomization.yaml").write_text("resources:\n  - /../../x\n")
    with pytest.raises(PathEscapeError, match=r"'/\.\./\.\./x' resolves outside"):
        await render({"repoURL": "r", "path": "apps/evil"})


@pytest.mark.parametrize(
    "base",
    [
        "github.com/argoproj/argo-cd//manifests/cluster-install?ref=v2.0.0",
        "https://github.com/kubernetes-sigs/kustomize.git//examples/helloWorld",
        "git::https://example.com/repo.git//base",
        "git@github.com:org/repo.git//base",
    ],
)
async def test_remote_bases_are_refused_before_the_tool_runs(
    render: Any, repo: Path, base: str
) -> None:
    write_app(repo, [base])
    with pytest.raises(RefusedSourceError) as caught:
        await render({"repoURL": "r", "path": "apps/evil"})
    assert caught.value.location == base
    assert "remote bases are not allowed" in str(caught.value)


async def test_files_outside_the_app_folder_are_refused_by_the_load_restrictor(
    render: Any, repo: Path
) -> None:
    (repo / "shared.txt").write_text("token")
    write_app(
        repo, [], "configMapGenerator:\n  - name: leak\n    files:\n      - ../../shared.txt\n"
    )
    with pytest.raises(ToolError) as caught:
        await render({"repoURL": "r", "path": "apps/evil"})
    assert "is not in or below" in caught.value.stderr


@pytest.mark.parametrize(
    ("build_options", "source", "expected"),
    [
        ("", None, ["--load-restrictor", "LoadRestrictionsRootOnly"]),
        (
            "--load-restrictor LoadRestrictionsNone",
            None,
            ["--load-restrictor", "LoadRestrictionsNone"],
        ),
        (
            "--enable-helm",
            None,
            [
                "--load-restrictor",
                "LoadRestrictionsRootOnly",
                "--helm-command=/bin/helm",
                "--helm-kube-version=1.30.0",
                "--helm-api-versions=v1",
                "--enable-helm",
            ],
        ),
        (
            "--enable-helm",
            {"kubeVersion": "1.28.0", "apiVersions": ["apps/v1", "batch/v1"]},
            [
                "--load-restrictor",
                "LoadRestrictionsRootOnly",
                "--helm-command=/bin/helm",
                "--helm-kube-version=1.28.0",
                "--helm-api-versions=apps/v1",
                "--helm-api-versions=batch/v1",
                "--enable-helm",
            ],
        ),
    ],
)
def test_build_command_line(
    build_options: str, source: dict[str, Any] | None, expected: list[str]
) -> None:
    build = KustomizeBuild(
        env={},
        settings=RenderSettings(kustomize_build_options=build_options),
        kube_version="1.30.0",
        api_versions=("v1",),
    )
    options = None if source is None else KustomizeSource.from_dict(source, "spec.source.kustomize")
    argv = build_argv(["kubectl", "kustomize"], Path("/app"), options, build, "/bin/helm")
    assert argv == ["kubectl", "kustomize", "/app", *expected]


@pytest.mark.parametrize(
    "fields",
    [
        "patches:\n  - path: ../../../../etc/passwd\n",
        "patchesStrategicMerge:\n  - ../../../x.yaml\n",
        "configMapGenerator:\n  - name: leak\n    files:\n      - passwd=/etc/passwd\n",
        "secretGenerator:\n  - name: leak\n    envs:\n      - ../../../../.env\n",
        "helmCharts:\n  - name: x\n    valuesFile: /etc/passwd\n",
        "openapi:\n  path: ../../../schema.json\n",
        "crds:\n  - /etc/crd.yaml\n",
    ],
    ids=[
        "patch",
        "strategic-merge",
        "generator-file",
        "generator-env",
        "helm-values",
        "openapi",
        "crds",
    ],
)
async def test_file_references_outside_the_repository_are_refused_whatever_the_restrictor(
    repo: Path, fields: str
) -> None:
    write_app(repo, [], fields)
    loose = Renderer(
        settings=RenderSettings(kustomize_build_options="--load-restrictor LoadRestrictionsNone")
    )
    source = ApplicationSource.from_dict({"repoURL": "r", "path": "apps/evil"})
    with pytest.raises(PathEscapeError, match="resolves outside the repository"):
        await loose.render(RenderRequest("demo", (SourceCheckout(source, repo),)))


async def test_a_pinned_kustomize_version_runs_its_configured_binary(
    repo: Path, tmp_path: Path
) -> None:
    # A standalone-kustomize stand-in that records its use and delegates to kubectl.
    marker = tmp_path / "used"
    binary = tmp_path / "kustomize-v5.7.1"
    binary.write_text(
        f'#!/bin/sh\ntouch {marker}\nshift\nexec {find_tool("kubectl")} kustomize "$@"\n'
    )
    binary.chmod(0o755)
    renderer = Renderer(settings=RenderSettings(kustomize_versions={"v5.7.1": binary}))
    pinned = {"repoURL": "r", "path": OVERLAY, "kustomize": {"version": "v5.7.1"}}
    source = ApplicationSource.from_dict(pinned)
    result = await renderer.render(RenderRequest("demo", (SourceCheckout(source, repo),)))
    assert [thaw(o) for o in result.objects] == kubectl_kustomize(repo / OVERLAY)
    assert marker.exists()
    unknown = ApplicationSource.from_dict({**pinned, "kustomize": {"version": "v9"}})
    with pytest.raises(RenderError, match=r"kustomize version v9 is not configured \(known: v5"):
        await renderer.render(RenderRequest("demo", (SourceCheckout(unknown, repo),)))
