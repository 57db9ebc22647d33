"""Fixtures for the render tests: a private copy of the test repository, and a renderer."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tether.model import ApplicationSource
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, RenderResult, SourceCheckout

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
