"""Templates run inside the controller: runaway ones fail cleanly instead of hanging it."""

from __future__ import annotations

import pytest

from tether.controller.appsets.errors import TemplateError
from tether.controller.appsets.gotemplate import GoTemplate

DEEP = "(" * 3000 + "1" + ")" * 3000


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ('{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}', "template depth"),
        ("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", "steps"),
        ("{{ until 1000000000 }}", "list of 1000000000 items"),
        ('{{ repeat 100000000 "x" }}', "string of 100000000 characters"),
        ('{{ range until 5000 }}{{ repeat 1000 "x" }}{{ end }}', "output is larger"),
        ("{{ " + DEEP + " }}", "nests too deeply"),
    ],
    ids=["recursion", "steps", "list", "string", "output", "nesting"],
)
def test_runaway_templates_fail(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        GoTemplate(template).render({})
