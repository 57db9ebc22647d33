from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether.model import ApplicationSource
from tether.render.detect import Tool, detect_tool
from tether.render.errors import RenderError


@pytest.mark.parametrize(
    ("path", "extra", "expected"),
    [
        ("charts/demo", {}, Tool.HELM),
        ("apps/kustomize/overlays/prod", {}, Tool.KUSTOMIZE),
        ("apps/guestbook", {}, Tool.DIRECTORY),
        ("charts/demo", {"directory": {"recurse": True}}, Tool.DIRECTORY),  # explicit wins
        ("apps/guestbook", {"kustomize": {}}, Tool.KUSTOMIZE),
        ("apps/guestbook", {"helm": {}}, Tool.HELM),
        ("apps/guestbook", {"plugin": {"name": "cue"}}, Tool.PLUGIN),
    ],
)
def test_detection(repo: Path, path: str, extra: dict[str, Any], expected: Tool) -> None:
    source = ApplicationSource.from_dict({"repoURL": "r", "path": path, **extra})
    assert detect_tool(source, repo / path, subject=path) is expected


@pytest.mark.parametrize("name", ["kustomization.yml", "Kustomization"])
def test_every_kustomization_file_name_counts(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("resources: []\n")
    source = ApplicationSource.from_dict({"repoURL": "r", "path": "."})
    assert detect_tool(source, tmp_path, subject=".") is Tool.KUSTOMIZE


def test_a_chart_from_a_helm_repository_is_helm() -> None:
    source = ApplicationSource.from_dict(
        {"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "1.0.0"}
    )
    assert detect_tool(source, None, subject="redis") is Tool.HELM


def test_two_explicit_blocks_are_an_error(repo: Path) -> None:
    source = ApplicationSource.from_dict(
        {"repoURL": "r", "path": "charts/demo", "helm": {}, "kustomize": {}}
    )
    with pytest.raises(RenderError, match="multiple application sources defined: Helm, Kustomize"):
        detect_tool(source, repo / "charts/demo", subject="charts/demo")


def test_a_kustomization_beside_a_chart_wins(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 1.0.0\n")
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    source = ApplicationSource.from_dict({"repoURL": "r", "path": "."})
    assert detect_tool(source, tmp_path, subject=".") is Tool.KUSTOMIZE


def test_a_missing_folder_is_a_directory_app(tmp_path: Path) -> None:
    source = ApplicationSource.from_dict({"repoURL": "r", "path": "nope"})
    assert detect_tool(source, tmp_path / "nope", subject="nope") is Tool.DIRECTORY
