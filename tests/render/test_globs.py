from __future__ import annotations

import pytest

from tether.render.globs import glob_match


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.yaml", "deploy.yaml", True),
        ("*.yaml", "sub/dir/deploy.yaml", True),  # no separators: * crosses folders
        ("*.yaml", "deploy.json", False),
        ("**/*.yaml", "a/b.yaml", True),
        ("{config.json,env-usw2/*}", "config.json", True),
        ("{config.json,env-usw2/*}", "env-usw2/app.yaml", True),
        ("{config.json,env-usw2/*}", "env-use1/app.yaml", False),
        ("*{a,b{c,d}}.yaml", "xbd.yaml", True),
        ("?.yaml", "a.yaml", True),
        ("?.yaml", "ab.yaml", False),
        ("[ab]*.yaml", "b1.yaml", True),
        ("[!ab]*.yaml", "a1.yaml", False),
        ("[a-c].yaml", "c.yaml", True),
        (r"\*.yaml", "*.yaml", True),
        (r"\*.yaml", "x.yaml", False),
        ("deploy.yaml", "sub/deploy.yaml", False),  # the whole path must match
    ],
)
def test_argo_cd_glob_dialect(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected
