"""Jsonnet rendering: variables, libraries, output shapes, confinement and limits."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tether.model import JsonnetSource
from tether.render.errors import (
    ManifestError,
    ManifestLimitError,
    PathEscapeError,
    ToolTimeoutError,
)
from tether.render.jsonnet import JsonnetLimits, render_jsonnet

FIXTURES = Path(__file__).resolve().parents[2] / "testdata" / "render" / "jsonnet"

GUESTBOOK = JsonnetSource.from_dict(
    {
        "extVars": [
            {"name": "image", "value": "registry.local/$ARGOCD_APP_NAME:${TAG}"},
            {"name": "tier", "value": "frontend"},
            {"name": "debug", "value": "std.length('abc') == 3", "code": True},
        ],
        "tlas": [
            {"name": "name", "value": "guestbook"},
            {"name": "replicas", "value": "1 + 2", "code": True},
        ],
        "libs": ["vendor/kube"],
    },
    "spec.source.directory.jsonnet",
)
NO_OPTIONS = JsonnetSource()
DEFAULT_LIMITS = JsonnetLimits()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES, root)
    return root.resolve()


async def render(
    repo: Path,
    app: str,
    files: list[str],
    options: JsonnetSource = NO_OPTIONS,
    limits: JsonnetLimits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    folder = repo / app
    return await render_jsonnet(
        repo,
        folder,
        [folder / f for f in files],
        options,
        env={"ARGOCD_APP_NAME": "guestbook", "TAG": "v2"},
        limits=limits,
    )


def names(objects: list[dict[str, Any]]) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objects]


async def test_ext_vars_tlas_relative_and_library_imports(repo: Path) -> None:
    deployment, config = await render(repo, "apps/guestbook", ["main.jsonnet"], GUESTBOOK)
    assert deployment["spec"]["replicas"] == 3  # TLA as code
    assert deployment["metadata"]["labels"] == {"app": "guestbook", "tier": "frontend"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "guestbook", "image": "registry.local/guestbook:v2"}
    assert config["metadata"]["name"] == "guestbook-banner"  # built by the library
    assert config["data"] == {"banner": "welcome to the guestbook", "debug": "true"}


async def test_object_array_and_list_outputs_are_flattened_in_file_order(repo: Path) -> None:
    objects = await render(repo, "apps/lists", ["object.jsonnet", "array.jsonnet", "list.jsonnet"])
    assert names(objects) == [
        "ConfigMap/single",
        "Secret/from-array-a",
        "Secret/from-array-b",
        "ConfigMap/from-list-1",
        "ConfigMap/from-list-2",
    ]


async def test_no_files_render_nothing_without_starting_a_worker(repo: Path) -> None:
    assert await render(repo, "apps/lists", []) == []


@pytest.mark.parametrize(
    ("file", "path", "reason"),
    [
        ("etc-passwd.jsonnet", "/etc/passwd", "is an absolute path"),
        ("climb.jsonnet", "../../..", "resolves outside the repository"),
    ],
)
async def test_imports_leaving_the_repository_are_refused(
    repo: Path, file: str, path: str, reason: str
) -> None:
    with pytest.raises(PathEscapeError) as caught:
        await render(repo, "apps/escapes", [file])
    assert caught.value.path == path
    assert reason in str(caught.value)
    assert caught.value.subject == f"apps/escapes/{file}"
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd


async def test_import_through_a_symlink_leaving_the_repository_is_refused(
    repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "hostname").write_text("secret-host\n")
    (repo / "apps/escapes/link").symlink_to(outside)
    with pytest.raises(PathEscapeError) as caught:
        await render(repo, "apps/escapes", ["through-link.jsonnet"])
    assert "leaves the repository" in str(caught.value)
    assert "secret-host" not in str(caught.value)


async def test_library_path_leaving_the_repository_is_refused(repo: Path) -> None:
    options = JsonnetSource(libs=("../..",))
    with pytest.raises(PathEscapeError):
        await render(repo, "apps/lists", ["object.jsonnet"], options)


async def test_missing_import_is_a_clear_error(repo: Path) -> None:
    with pytest.raises(ManifestError, match=r"import 'no-such-file.libsonnet' not found"):
        await render(repo, "apps/escapes", ["missing.jsonnet"])


async def test_plain_runaway_recursion_hits_the_stack_limit(repo: Path) -> None:
    with pytest.raises(ManifestError, match="max stack frames exceeded"):
        await render(repo, "apps/runaway", ["recursion.jsonnet"])


async def test_tailstrict_recursion_is_bounded_by_the_memory_cap(repo: Path) -> None:
    limits = JsonnetLimits(max_memory=256 * 1024 * 1024, timeout=20)
    with pytest.raises(ManifestLimitError, match="evaluation aborted"):
        await render(repo, "apps/runaway", ["tailstrict.jsonnet"], limits=limits)


async def test_long_evaluation_is_killed_at_the_timeout(repo: Path) -> None:
    with pytest.raises(ToolTimeoutError, match=r"jsonnet timed out after 0\.5s"):
        await render(repo, "apps/runaway", ["busy.jsonnet"], limits=JsonnetLimits(timeout=0.5))


async def test_output_over_the_cap_is_refused(repo: Path) -> None:
    with pytest.raises(ManifestLimitError, match="exceeds 64 bytes"):
        await render(repo, "apps/lists", ["array.jsonnet"], limits=JsonnetLimits(max_output=64))


async def test_values_that_are_not_objects_are_refused(repo: Path) -> None:
    with pytest.raises(ManifestError, match="not a Kubernetes object"):
        await render(repo, "apps/invalid", ["not-objects.jsonnet"])
