"""The UI's pure modules (diff, YAML, tree layout) run in the real browser on known cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from .conftest import Tether


def call(page: Page, module: str, expression: str, *args: Any) -> Any:
    """Evaluate ``expression`` (a function of the module ``m`` and ``args``) in the page."""
    return page.evaluate(
        f"async (args) => {{ const m = await import('/assets/js/{module}.js'); "
        f"return ({expression})(m, ...args); }}",
        list(args),
    )


@pytest.fixture(scope="module")
def blank(browser: Browser, tether: Tether) -> Iterator[Page]:
    """One page on the UI's origin (the login page), so its modules can be imported."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{tether.url}/login")
    yield page
    context.close()


@pytest.mark.parametrize(
    ("before", "after", "script"),
    [
        (["a", "b"], ["a", "b"], "  "),
        (["a", "c"], ["a", "b", "c"], " + "),
        (["a", "b", "c"], ["a", "c"], " - "),
        (["a", "x", "c"], ["a", "y", "c"], " -+ "),
        ([], ["a"], "+"),
        (["a"], [], "-"),
    ],
)
def test_line_diff_is_minimal(
    blank: Page, before: list[str], after: list[str], script: str
) -> None:
    ops = call(
        blank, "diff", "(m, a, b) => m.diffLines(a, b).map(o => o.op).join('')", before, after
    )
    assert ops == script
    rebuilt = call(
        blank,
        "diff",
        "(m, a, b) => m.diffLines(a, b).filter(o => o.op !== '-').map(o => o.text)",
        before,
        after,
    )
    assert rebuilt == after


@pytest.mark.parametrize(
    ("value", "yaml"),
    [
        ({"a": "true"}, 'a: "true"\n'),
        ({"a": "01"}, 'a: "01"\n'),
        ({"a": "x: y"}, 'a: "x: y"\n'),
        ({"a": ""}, 'a: ""\n'),
        ({"a": 3, "b": False, "c": None}, "a: 3\nb: false\nc: null\n"),
        ({"a": {}, "b": []}, "a: {}\nb: []\n"),
        ({"a": [{"b": 1, "c": 2}, "d"]}, "a:\n- b: 1\n  c: 2\n- d\n"),
        ({"s": "one\ntwo\n"}, "s: |\n  one\n  two\n"),
        ({"a: b": "++++++++ 1"}, '"a: b": ++++++++ 1\n'),
    ],
)
def test_yaml_writer_quotes_what_yaml_would_misread(
    blank: Page, value: dict[str, Any], yaml: str
) -> None:
    assert call(blank, "yaml", "(m, v) => m.toYaml(v)", value) == yaml


def test_tree_places_children_right_of_their_parent_and_adds_missing_objects(
    blank: Page,
) -> None:
    app = {
        "metadata": {"name": "web"},
        "status": {
            "resources": [
                {"group": "apps", "kind": "Deployment", "namespace": "n", "name": "web"},
                {"kind": "ConfigMap", "namespace": "n", "name": "gone", "status": "OutOfSync"},
            ]
        },
    }
    tree = {
        "nodes": [
            {"group": "apps", "kind": "Deployment", "namespace": "n", "name": "web", "uid": "d"},
            {
                "group": "apps",
                "kind": "ReplicaSet",
                "namespace": "n",
                "name": "web-1",
                "uid": "r",
                "parentRefs": [{"uid": "d"}],
            },
            {
                "kind": "Pod",
                "namespace": "n",
                "name": "web-1-a",
                "uid": "p",
                "parentRefs": [{"uid": "r"}],
            },
        ]
    }
    placed = call(
        blank,
        "tree",
        "(m, app, tree) => { const nodes = m.treeNodes(app, tree); const l = m.layout(nodes);"
        " return nodes.map(n =>"
        " [n.kind, n.health && n.health.status, l.positions.get(m.nodeKey(n)).x]); }",
        app,
        tree,
    )
    columns = {kind: x for kind, _, x in placed}
    assert columns["Deployment"] < columns["ReplicaSet"] < columns["Pod"]
    assert ["ConfigMap", "Missing", columns["Deployment"]] in placed


@pytest.mark.parametrize(
    ("generator", "summary"),
    [
        ({"list": {"elements": [{"a": 1}, {"a": 2}]}}, "list (2 elements)"),
        ({"clusters": {}}, "clusters"),
        (
            {"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
            "clusters matching env=prod",
        ),
        (
            {
                "git": {
                    "repoURL": "https://g/r.git",
                    "revision": "main",
                    "files": [{"path": "a/*.json"}],
                }
            },
            "git https://g/r.git @ main: files a/*.json",
        ),
        (
            {
                "matrix": {
                    "generators": [
                        {"clusters": {}},
                        {
                            "git": {
                                "repoURL": "u",
                                "directories": [{"path": "x/*"}, {"path": "x/y", "exclude": True}],
                            }
                        },
                    ]
                }
            },
            "matrix of (clusters) \u00d7 (git u: directories x/*, not x/y)",
        ),
        (
            {
                "merge": {
                    "mergeKeys": ["server"],
                    "generators": [{"clusters": {}}, {"list": {"elements": []}}],
                }
            },
            "merge on server of (clusters) + (list (0 elements))",
        ),
        (
            {"pullRequest": {"github": {"owner": "o", "repo": "r"}}},
            "pull requests of github o/r",
        ),
        ({"scmProvider": {"gitlab": {"group": "platform"}}}, "SCM provider gitlab platform"),
        ({"plugin": {"configMapRef": {"name": "my-plugin"}}}, "plugin my-plugin"),
    ],
)
def test_generator_summaries_say_what_each_generator_reads(
    blank: Page, generator: dict[str, Any], summary: str
) -> None:
    assert call(blank, "applicationsets", "(m, g) => m.generatorSummary(g)", generator) == summary


@pytest.mark.parametrize(
    ("condition", "tone"),
    [
        ({"type": "ErrorOccurred", "status": "True"}, "Degraded"),
        ({"type": "ErrorOccurred", "status": "False"}, "Healthy"),
        ({"type": "ResourcesUpToDate", "status": "False"}, "Degraded"),
        ({"type": "ParametersGenerated", "status": "True"}, "Healthy"),
        ({"type": "RollingSync", "status": "True"}, "Progressing"),
        ({"type": "RollingSync", "status": "False"}, "Healthy"),
        ({"type": "ParametersGenerated", "status": "Unknown"}, "Unknown"),
    ],
)
def test_conditions_read_as_a_status(blank: Page, condition: dict[str, str], tone: str) -> None:
    assert call(blank, "applicationsets", "(m, c) => m.conditionTone(c)", condition) == tone


@pytest.mark.parametrize(
    ("policy", "note"),
    [
        ({}, "Its 2 generated applications are deleted with it."),
        (
            {"applicationsSync": "create-only"},
            "Its 2 generated applications stay (applicationsSync is create-only).",
        ),
        (
            {"preserveResourcesOnDeletion": True},
            "Its 2 generated applications are deleted with it; what they deployed stays in the "
            "cluster (preserveResourcesOnDeletion).",
        ),
    ],
)
def test_the_delete_dialog_says_what_happens_to_generated_apps(
    blank: Page, policy: dict[str, Any], note: str
) -> None:
    appset = {
        "spec": {"syncPolicy": policy},
        "status": {"resources": [{"name": "a"}, {"name": "b"}]},
    }
    assert call(blank, "applicationsets", "(m, a) => m.deletionNote(a)", appset) == note


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("", []),
        ("in-cluster", ["in-cluster", "https://kubernetes.default.svc"]),
        ("https://prod.example.com", ["https://prod.example.com", "prod"]),
        ("elsewhere", ["elsewhere"]),
    ],
)
def test_a_known_cluster_is_asked_for_by_name_and_url(
    blank: Page, typed: str, sent: list[str]
) -> None:
    clusters = [
        {"name": "in-cluster", "server": "https://kubernetes.default.svc"},
        {"name": "prod", "server": "https://prod.example.com"},
    ]
    expression = "(m, typed, clusters) => m.clusterIdentities(typed, clusters)"
    assert call(blank, "applications", expression, typed, clusters) == sent
