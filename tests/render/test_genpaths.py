from __future__ import annotations

import pytest

from tether.render.genpaths import needs_render, refresh_paths


@pytest.mark.parametrize(
    ("annotation", "sources", "expected"),
    [
        (".", ["apps/web"], ("apps/web",)),
        ("..", ["apps/web"], ("apps",)),
        ("/shared;.", ["apps/web"], ("shared", "apps/web")),
        ("../common; ;.", ["apps/web", "apps/api"], ("apps/common", "apps/web", "apps/api")),
        ("/", ["apps/web"], (".",)),
        ("/charts/*.yaml", ["apps/web"], ("charts/*.yaml",)),
        ("", ["apps/web"], ()),
    ],
)
def test_refresh_paths(annotation: str, sources: list[str], expected: tuple[str, ...]) -> None:
    assert refresh_paths(annotation, sources) == expected


@pytest.mark.parametrize(
    ("annotation", "changed", "expected"),
    [
        (None, ["README.md"], True),  # no annotation: every change matters
        (".", None, True),  # changed files unknown
        (".", [], False),  # nothing changed
        (".", ["apps/web/deploy.yaml"], True),
        (".", ["apps/web-other/deploy.yaml"], False),  # a sibling with a common prefix
        (".", ["apps/api/deploy.yaml", "README.md"], False),
        ("/shared", ["shared/values.yaml"], True),
        ("/shared", ["/shared/values.yaml"], True),
        ("..", ["apps/api/x.yaml"], True),
        ("/charts/*.yaml", ["charts/a.yaml"], True),
        ("/charts/*.yaml", ["charts/a.json"], False),
        ("/{charts,lib}/*", ["lib/util.libsonnet"], True),
        ("/", ["anything/at/all"], True),
    ],
)
def test_needs_render(annotation: str | None, changed: list[str] | None, expected: bool) -> None:
    assert needs_render(annotation, ["apps/web"], changed) is expected
