"""The Go template engine against outputs produced by Go's own text/template.

``testdata/appsets/gotemplate/golden.yaml`` was written by
``testdata/appsets/gotemplate/generate/main.go`` (Go + Sprig) from ``cases.yaml``;
every case must print exactly what Go printed, or fail where Go failed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.controller.appsets.errors import TemplateError
from tether.controller.appsets.gotemplate import GoTemplate
from tether.controller.appsets.params import as_go_data

GOLDEN = Path(__file__).parents[2] / "testdata/appsets/gotemplate/golden.yaml"


class GoYamlLoader(yaml.SafeLoader):
    """Reads the fixture as Go's YAML library wrote it: ``1e+21`` is a float there."""


GoYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)
CASES: list[dict[str, Any]] = yaml.load(GOLDEN.read_text(), Loader=GoYamlLoader)


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_go(case: dict[str, Any]) -> None:
    data = as_go_data(case.get("data") or {})

    def run() -> str:
        template = GoTemplate(case["template"], options=case.get("options") or ())
        return template.render(data)

    if "error" in case:
        with pytest.raises(TemplateError):
            run()
    else:
        assert run() == case["output"]
