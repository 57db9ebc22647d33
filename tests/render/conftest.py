"""Fixtures for the render tests: a private copy of the test repository, and a renderer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.model import ApplicationSource
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, RenderResult, SourceCheckout

sys.path.insert(0, str(Path(__file__).parent))

from fixtures_remote import ServerState, serve

from tether.tools import find_tool

RENDER_DATA = Path(__file__).resolve().parents[2] / "testdata" / "render"

RenderFn = Callable[..., Awaitable[RenderResult]]


@pytest.fixture
def render_data() -> Path:
    return RENDER_DATA


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of testdata/render/repo that a test may add files and symlinks to."""
    root = tmp_path / "repo"
    shutil.copytree(RENDER_DATA / "repo", root, symlinks=True)
    return root.resolve()


@pytest.fixture
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def render(renderer: Renderer, repo: Path) -> RenderFn:
    """Render one source of ``repo`` (a wire-form dict) for app ``demo`` in ``prod``."""

    async def run(source: dict[str, Any], *, revision: str = "", **request: Any) -> RenderResult:
        checkout = SourceCheckout(ApplicationSource.from_dict(source), repo, revision)
        request.setdefault("destination_namespace", "prod")
        return await renderer.render(RenderRequest("demo", (checkout,), **request))

    return run


def names(result: RenderResult) -> list[str]:
    """``Kind/name`` of each rendered object, in order."""
    return [f"{o['kind']}/{o['metadata']['name']}" for o in result.objects]


@pytest.fixture(scope="session")
def chart_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerState]:
    """The test repository's demo chart (0.3.0, 0.4.0) packaged by the real helm, served
    as a Helm repository under ``<base_url>/stable`` on a loopback server."""
    root = tmp_path_factory.mktemp("charts")
    (root / "stable").mkdir()
    helm = str(find_tool("helm"))
    for version in ("0.3.0", "0.4.0"):
        subprocess.run(
            [helm, "package", str(RENDER_DATA / "repo/charts/demo"), "--version", version],
            cwd=root / "stable",
            check=True,
            capture_output=True,
            timeout=60,
        )
    subprocess.run(
        [helm, "repo", "index", "."],
        cwd=root / "stable",
        check=True,
        capture_output=True,
        timeout=60,
    )
    with serve(root) as state:
        yield state
