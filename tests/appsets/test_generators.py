"""The list, clusters and merge generators, values, selectors and requeue times."""

from __future__ import annotations

from typing import Any

import pytest
from appset_helpers import appset, cluster_secret, params_of, run

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generate import generate
from tether.controller.appsets.generator import GenerationContext
from tether.controller.appsets.sources import LocalRepositories, StaticInputs

SECRETS = [
    cluster_secret("Prod EU", "https://eu.example.com", {"env": "prod"}, region="eu-west-1"),
    cluster_secret("staging", "https://staging.example.com", {"env": "staging"}),
]


async def test_list_elements_fasttemplate() -> None:
    spec = {"generators": [{"list": {"elements": [{"cluster": "a", "values": {"ns": "x"}}]}}]}
    assert params_of(await run(spec)) == [{"cluster": "a", "values.ns": "x"}]


async def test_list_elements_must_be_strings_without_go_template() -> None:
    spec = {"generators": [{"list": {"elements": [{"replicas": 3}]}}]}
    with pytest.raises(GeneratorError, match=r"elements\[0\]\.replicas must be a string"):
        await run(spec)


async def test_list_elements_yaml_from_a_matrix() -> None:
    spec = {
        "goTemplate": True,
        "generators": [
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": [{"team": "web", "envs": ["dev", "prod"]}]}},
                        {
                            "list": {
                                "elementsYaml": "{{ range .envs }}- env: {{ . }}\n{{ end }}",
                            }
                        },
                    ]
                }
            }
        ],
    }
    found = params_of(await run(spec))
    assert [(p["team"], p["env"]) for p in found] == [("web", "dev"), ("web", "prod")]


async def test_clusters_params_fasttemplate_and_local_cluster() -> None:
    found = params_of(await run({"generators": [{"clusters": {}}]}, objects=SECRETS))
    assert found[0] == {
        "name": "in-cluster",
        "nameNormalized": "in-cluster",
        "server": "https://kubernetes.default.svc",
        "project": "",
    }
    assert found[1] == {
        "name": "Prod EU",
        "nameNormalized": "prod-eu",
        "server": "https://eu.example.com",
        "project": "",
        "metadata.labels.argocd.argoproj.io/secret-type": "cluster",
        "metadata.labels.env": "prod",
        "metadata.annotations.region": "eu-west-1",
    }
    assert len(found) == 3


async def test_clusters_selector_skips_the_local_cluster() -> None:
    spec = {
        "goTemplate": True,
        "generators": [
            {
                "clusters": {
                    "selector": {
                        "matchExpressions": [
                            {"key": "env", "operator": "In", "values": ["prod", "qa"]}
                        ]
                    }
                }
            }
        ],
    }
    (found,) = params_of(await run(spec, objects=SECRETS))
    assert found["metadata"]["labels"]["env"] == "prod"
    assert found["metadata"]["annotations"] == {"region": "eu-west-1"}


async def test_values_are_rendered_with_the_params() -> None:
    spec = {
        "generators": [
            {
                "clusters": {
                    "selector": {"matchLabels": {"env": "staging"}},
                    "values": {"namespace": "team-{{nameNormalized}}", "plain": "x"},
                }
            }
        ]
    }
    (found,) = params_of(await run(spec, objects=SECRETS))
    assert (found["values.namespace"], found["values.plain"]) == ("team-staging", "x")


async def test_values_with_go_template() -> None:
    spec = {
        "goTemplate": True,
        "generators": [{"list": {"elements": [{"name": "a"}], "values": {"ns": "{{ .name }}-ns"}}}],
    }
    assert params_of(await run(spec)) == [{"name": "a", "values": {"ns": "a-ns"}}]


async def test_selector_post_filter_over_params() -> None:
    spec = {
        "generators": [
            {
                "list": {"elements": [{"env": "prod", "n": "1"}, {"env": "dev", "n": "2"}]},
                "selector": {"matchLabels": {"env": "prod"}},
            }
        ]
    }
    assert params_of(await run(spec)) == [{"env": "prod", "n": "1"}]


async def test_merge_overrides_matching_sets_only() -> None:
    spec = {
        "generators": [
            {
                "merge": {
                    "mergeKeys": ["server"],
                    "generators": [
                        {"clusters": {"values": {"replicas": "1"}}},
                        {
                            "list": {
                                "elements": [
                                    {"server": "https://eu.example.com", "values.replicas": "5"},
                                    {
                                        "server": "https://nowhere.example.com",
                                        "values.replicas": "9",
                                    },
                                ]
                            }
                        },
                    ],
                }
            }
        ]
    }
    found = {p["server"]: p["values.replicas"] for p in params_of(await run(spec, objects=SECRETS))}
    assert found == {
        "https://kubernetes.default.svc": "1",
        "https://eu.example.com": "5",
        "https://staging.example.com": "1",
    }


async def test_merge_keys_must_be_unique() -> None:
    spec = {
        "generators": [
            {
                "merge": {
                    "mergeKeys": ["k"],
                    "generators": [
                        {"list": {"elements": [{"k": "a"}, {"k": "a"}]}},
                        {"list": {"elements": []}},
                    ],
                }
            }
        ]
    }
    with pytest.raises(GeneratorError, match="unique by merge keys"):
        await run(spec)


@pytest.mark.parametrize(
    ("generators", "expected"),
    [
        ([{"list": {"elements": []}}], None),
        ([{"clusters": {}}], None),  # cluster Secrets are watched instead
        ([{"list": {"elements": [], "requeueAfterSeconds": 30}}, {"clusters": {}}], 30.0),
        (
            [
                {
                    "matrix": {
                        "generators": [
                            {"list": {"elements": [{"a": "b"}]}},
                            {"clusters": {"requeueAfterSeconds": 60}},
                        ]
                    }
                }
            ],
            60.0,
        ),
    ],
    ids=["list-never", "clusters-watched", "soonest", "matrix-child"],
)
async def test_requeue_after(generators: list[dict[str, Any]], expected: float | None) -> None:
    inputs = StaticInputs([])
    ctx = GenerationContext(
        appset({"generators": generators}), LocalRepositories({}), inputs, inputs
    )
    _, requeue = await generate(ctx)
    assert requeue == expected


async def test_local_folders_stand_in_for_repositories(tmp_path: Any) -> None:
    (tmp_path / "apps" / "one").mkdir(parents=True)
    (tmp_path / "apps" / "one" / "params.yaml").write_text("replicas: 2\n")
    spec = {
        "generators": [
            {
                "git": {
                    "repoURL": "https://example.com/r.git",
                    "files": [{"path": "apps/*/params.yaml"}],
                }
            }
        ]
    }
    repos = LocalRepositories({"https://example.com/r.git": tmp_path})
    (found,) = params_of(await run(spec, repos=repos))
    assert (found["replicas"], found["path"]) == ("2", "apps/one")
    with pytest.raises(GeneratorError, match="no local folder"):
        await run(spec, repos=LocalRepositories({}))


@pytest.mark.parametrize(
    ("generator", "message"),
    [
        ({"clusterDecisionResource": {"configMapRef": "x"}}, "not supported by tether"),
        ({"list": {"elements": [], "requeueAfterSeconds": "soon"}}, "requeueAfterSeconds"),
        ({"list": {"elements": "not-a-list"}}, "elements must be a list"),
        ({"list": {"elements": [], "elementsYaml": "a: [unclosed"}}, "elementsYaml"),
        ({"git": {"repoURL": "https://example.com/r.git", "directories": []}}, "non-empty list"),
        ({"git": {"directories": [{"path": "*"}]}}, "repoURL is required"),
        (
            {"clusters": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}},
            "operator",
        ),
        ({"pullRequest": {"github": {"owner": "o"}, "gitlab": {}}}, "exactly one of"),
        ({"plugin": {}}, "configMapRef.name is required"),
    ],
    ids=[
        "unsupported",
        "requeue",
        "elements",
        "elements-yaml",
        "no-dirs",
        "no-repo",
        "operator",
        "two-providers",
        "plugin-ref",
    ],
)
async def test_bad_generators_fail_clearly(generator: dict[str, Any], message: str) -> None:
    with pytest.raises(GeneratorError, match=message):
        await run({"generators": [generator]})
