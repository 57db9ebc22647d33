from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tether.model import ApplicationSource
from tether.render.detect import Tool
from tether.render.errors import ManifestError, ManifestLimitError, PathEscapeError
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, SourceCheckout
from tether.render.settings import RenderSettings

GUESTBOOK = [
    "Deployment/guestbook-ui",
    "ConfigMap/guestbook-config",
    "ServiceAccount/guestbook",
    "Secret/guestbook-token",
    "Service/guestbook-ui",
]


def names(result: Any) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in result.objects]


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        # Top folder only, files in name order; README.md and .hidden/ are skipped.
        ({}, GUESTBOOK),
        (
            {"recurse": True},
            [*GUESTBOOK[:2], "ConfigMap/usw2-config", *GUESTBOOK[2:], "Job/guestbook-migrate"],
        ),
        ({"recurse": True, "include": "*.json"}, ["Service/guestbook-ui"]),
        (
            {"recurse": True, "include": "{service.json,env-usw2/*}"},
            ["ConfigMap/usw2-config", "Service/guestbook-ui"],
        ),
        ({"recurse": True, "exclude": "{*.yaml}"}, ["Service/guestbook-ui"]),
        # exclude wins over include
        (
            {"recurse": True, "include": "*.yaml", "exclude": "sub/*"},
            [*GUESTBOOK[:2], "ConfigMap/usw2-config", *GUESTBOOK[2:4]],
        ),
    ],
)
async def test_directory_options(
    render: Any, directory: dict[str, Any], expected: list[str]
) -> None:
    result = await render({"repoURL": "r", "path": "apps/guestbook", "directory": directory})
    assert names(result) == expected
    assert result.tools == (Tool.DIRECTORY,)


async def test_detected_without_a_directory_block(render: Any) -> None:
    result = await render({"repoURL": "r", "path": "apps/guestbook"})
    assert names(result) == GUESTBOOK


async def test_objects_are_immutable(render: Any) -> None:
    result = await render({"repoURL": "r", "path": "apps/guestbook"})
    with pytest.raises(TypeError):
        result.objects[0]["kind"] = "Secret"  # type: ignore[index]


async def test_a_file_that_is_not_an_object_names_the_file(render: Any, repo: Path) -> None:
    (repo / "apps/guestbook/values.yaml").write_text("replicas: 3\n")
    with pytest.raises(ManifestError) as caught:
        await render({"repoURL": "r", "path": "apps/guestbook"})
    assert str(caught.value) == (
        "failed to render apps/guestbook: apps/guestbook/values.yaml: document 1: "
        "is not a Kubernetes object: missing apiVersion and kind"
    )


async def test_invalid_yaml_names_file_and_line(render: Any, repo: Path) -> None:
    (repo / "apps/guestbook/bad.yaml").write_text("kind: ConfigMap\nmetadata: [\n")
    with pytest.raises(ManifestError, match=r"apps/guestbook/bad.yaml: document 1, line 3"):
        await render({"repoURL": "r", "path": "apps/guestbook"})


async def test_a_manifest_symlinked_outside_is_refused_before_reading(
    render: Any, repo: Path
) -> None:
    os.symlink("/etc/passwd", repo / "apps/guestbook/passwd.yaml")
    with pytest.raises(PathEscapeError, match=r"passwd\.yaml -> /etc/passwd"):
        await render({"repoURL": "r", "path": "apps/guestbook"})


async def test_app_path_outside_the_repository_is_refused(render: Any) -> None:
    with pytest.raises(PathEscapeError, match="resolves outside the repository"):
        await render({"repoURL": "r", "path": "../../.."})


async def test_missing_app_path_is_an_error(render: Any) -> None:
    with pytest.raises(Exception, match="application path 'apps/nope' does not exist"):
        await render({"repoURL": "r", "path": "apps/nope"})


async def test_an_empty_folder_renders_to_an_empty_value(render: Any, repo: Path) -> None:
    (repo / "apps/empty").mkdir()
    result = await render({"repoURL": "r", "path": "apps/empty"})
    assert result.objects == ()
    assert result.tools == (Tool.DIRECTORY,)


async def test_a_symlink_loop_refuses_the_render(render: Any, repo: Path) -> None:
    os.symlink("loop-b.yaml", repo / "apps/guestbook/loop-a.yaml")
    os.symlink("loop-a.yaml", repo / "apps/guestbook/loop-b.yaml")
    with pytest.raises(PathEscapeError, match="is a symlink loop"):
        await render({"repoURL": "r", "path": "apps/guestbook"})


async def test_a_yaml_bomb_in_the_app_is_refused(
    render: Any, repo: Path, render_data: Path
) -> None:
    shutil.copy(render_data / "manifest-bomb.yaml", repo / "apps/guestbook/bomb.yaml")
    with pytest.raises(ManifestLimitError, match=r"apps/guestbook/bomb\.yaml: document 1"):
        await render({"repoURL": "r", "path": "apps/guestbook"})


async def test_combined_size_is_bounded_before_reading(repo: Path) -> None:
    renderer = Renderer(settings=RenderSettings(max_directory_bytes=500))
    source = ApplicationSource.from_dict({"repoURL": "r", "path": "apps/guestbook"})
    with pytest.raises(ManifestLimitError, match=r"more than the limit of 500 bytes"):
        await renderer.render(RenderRequest("demo", (SourceCheckout(source, repo),)))


async def test_a_fifo_is_ignored_not_opened(render: Any, repo: Path) -> None:
    os.mkfifo(repo / "apps/guestbook/pipe.yaml")  # opening it would block forever
    result = await render({"repoURL": "r", "path": "apps/guestbook"})
    assert names(result) == GUESTBOOK
