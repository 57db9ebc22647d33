"""fasttemplate cases, template walking, templatePatch and generator template overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.controller.appsets.errors import RenderError, TemplateError
from tether.controller.appsets.generator import Generated
from tether.controller.appsets.gotemplate import slugify
from tether.controller.appsets.render import DuplicateApplications, render_applications
from tether.controller.appsets.templating import (
    fasttemplate,
    merge_over,
    override_template,
    render_data,
    substitution,
)
from tether.model.applicationset import ApplicationSet

FAST = yaml.safe_load(
    (Path(__file__).parents[2] / "testdata/appsets/fasttemplate.yaml").read_text()
)


@pytest.mark.parametrize("case", FAST, ids=[c["name"] for c in FAST])
def test_fasttemplate(case: dict[str, Any]) -> None:
    assert fasttemplate(case["template"], case["params"]) == case["output"]


def test_render_data_substitutes_values_and_keys_only() -> None:
    data = {"labels": {"{{k}}": "{{v}}"}, "n": 3, "flag": True, "list": ["{{v}}", 1]}
    out = render_data(data, substitution({"k": "team", "v": "web"}, go_template=False))
    assert out == {"labels": {"team": "web"}, "n": 3, "flag": True, "list": ["web", 1]}


def test_missing_key_error_option_fails_rendering() -> None:
    render = substitution({"a": "x"}, go_template=True, options=("missingkey=error",))
    assert render("{{ .a }}") == "x"
    with pytest.raises(TemplateError, match='map has no entry for key "b"'):
        render("{{ .b }}")


def test_override_template_keeps_unset_fields() -> None:
    base = {"metadata": {"name": "{{name}}", "labels": {"a": "1"}}, "spec": {"project": "p"}}
    override = {"metadata": {"labels": {"b": "2"}}, "spec": {"project": "", "x": "y"}}
    assert override_template(base, override) == {
        "metadata": {"name": "{{name}}", "labels": {"a": "1", "b": "2"}},
        "spec": {"project": "p", "x": "y"},
    }


def test_merge_over_replaces_lists_and_drops_nulls() -> None:
    base = {"spec": {"a": [1, 2], "b": {"c": 1, "d": 2}}}
    patch = {"spec": {"a": [3], "b": {"d": None}}}
    assert merge_over(base, patch) == {"spec": {"a": [3], "b": {"c": 1}}}


def appset(**spec: Any) -> ApplicationSet:
    body = {
        "generators": [{"list": {"elements": []}}],
        "template": {
            "metadata": {"name": "{{ .name }}"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://example.com/r.git", "path": "{{ .name }}"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            },
        },
        "goTemplate": True,
        **spec,
    }
    return ApplicationSet.from_dict(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "s", "namespace": "argocd"},
            "spec": body,
        }
    )


def test_template_patch_is_merged_over_the_application() -> None:
    patch = """
spec:
  source:
    targetRevision: {{ .revision | default "HEAD" }}
{{- if .auto }}
  syncPolicy:
    automated: {prune: true}
{{- end }}
"""
    rendered = render_applications(
        appset(templatePatch=patch),
        [Generated(({"name": "a", "auto": True, "revision": "v1"}, {"name": "b"}))],
    )
    a, b = rendered.applications
    assert a["spec"]["source"] == {
        "repoURL": "https://example.com/r.git",
        "path": "a",
        "targetRevision": "v1",
    }
    assert a["spec"]["syncPolicy"] == {"automated": {"prune": True}}
    assert b["spec"]["source"]["targetRevision"] == "HEAD"
    assert "syncPolicy" not in b["spec"]
    assert a["metadata"]["namespace"] == "argocd"


def test_one_invalid_application_does_not_block_the_others() -> None:
    rendered = render_applications(
        appset(goTemplateOptions=["missingkey=error"]),
        [Generated(({"name": "good"}, {"other": "x"}, {"name": "Bad Name!"}))],
    )
    assert rendered.names == {"good"}
    assert len(rendered.failures) == 2
    missing, invalid = rendered.failures
    assert isinstance(missing, RenderError)
    assert missing.application == ""
    assert "map has no entry" in missing.cause
    assert invalid.application == "Bad Name!"
    assert "DNS subdomain" in invalid.cause


def test_duplicate_names_stop_the_pass() -> None:
    with pytest.raises(DuplicateApplications, match="duplicate names: same"):
        render_applications(appset(), [Generated(({"name": "same"}, {"name": "same"}))])


def test_generator_template_override() -> None:
    override = {"spec": {"destination": {"namespace": "override-{{ .name }}"}}}
    rendered = render_applications(appset(), [Generated(({"name": "a"},), None, override)])
    (app,) = rendered.applications
    assert app["spec"]["destination"] == {
        "server": "https://kubernetes.default.svc",
        "namespace": "override-a",
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("Feature/ADD_Login",), "feature-add-login"),
        (("a" * 60,), "a" * 50),
        ((20, True, "release-2024-candidate-build-nightly"), "release-2024"),
        ((20, False, "release-2024-candidate-build-nightly"), "release-2024-candida"),
        (("--Team..Alpha--",), "team-alpha"),
    ],
    ids=["lower-and-dashes", "default-max-50", "smart-truncate", "plain-truncate", "trimmed"],
)
def test_slugify(args: tuple[Any, ...], expected: str) -> None:
    assert slugify(*args) == expected
