"""Git generators against a real repository served on loopback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from appset_helpers import cluster_secret, params_of, run
from gitserver import GitServer, RemoteRepo

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.sources import GitRepositories, SnapshotRepositories

DEV_CONFIG = {
    "cluster": {"name": "dev", "address": "https://1.2.3.4"},
    "replicas": 3,
    "big": 1000000,
    "ratio": 0.5,
    "tags": ["a", "b"],
    "enabled": True,
    "owners": [{"team": "web"}],
}
FILES = {
    "apps/guestbook/kustomization.yaml": "resources: []\n",
    "apps/Shop_Front/app.yaml": "kind: x\n",
    "apps/legacy/app.yaml": "kind: x\n",
    "apps/team/api/app.yaml": "kind: x\n",
    "apps/team/web/app.yaml": "kind: x\n",
    "apps/.hidden/app.yaml": "kind: x\n",
    "apps/.hidden/inner/app.yaml": "kind: x\n",
    "config/dev/config.json": json.dumps(DEV_CONFIG),
    "config/prod/config.yaml": "- name: prod-eu\n  region: eu\n- name: prod-us\n  region: us\n",
    "config/empty/config.yaml": "",
    "config/broken/bad.yaml": "a: [unclosed\n",
}


@pytest.fixture(scope="module")
def layout(git_server_session: GitServer) -> RemoteRepo:
    return git_server_session.create_repo("appsets-layout", initial=FILES)


def dirs(repo: RemoteRepo, *entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "generators": [{"git": {"repoURL": repo.url_git, "directories": list(entries), **extra}}]
    }


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([{"path": "apps/*"}], ["apps/Shop_Front", "apps/guestbook", "apps/legacy", "apps/team"]),
        ([{"path": "apps/*/*"}], ["apps/team/api", "apps/team/web"]),
        ([{"path": "**/api"}], ["apps/team/api"]),
        (
            [{"path": "apps/*"}, {"path": "apps/legacy", "exclude": True}],
            ["apps/Shop_Front", "apps/guestbook", "apps/team"],
        ),
        (
            # An exclusion wins even over a more specific inclusion.
            [{"path": "apps/team/api"}, {"path": "apps/team/*", "exclude": True}],
            [],
        ),
        ([{"path": "apps/.hidden"}], []),  # hidden folders are never generated
        ([{"path": "nowhere/*"}], []),
    ],
    ids=["star", "star-star-segments", "double-star", "exclude", "exclude-wins", "hidden", "none"],
)
async def test_directory_globs(
    layout: RemoteRepo,
    git_repos: GitRepositories,
    entries: list[dict[str, Any]],
    expected: list[str],
) -> None:
    found = params_of(await run(dirs(layout, *entries), repos=git_repos))
    assert [p["path"] for p in found] == expected


async def test_directory_params_fasttemplate(
    layout: RemoteRepo, git_repos: GitRepositories
) -> None:
    found = params_of(await run(dirs(layout, {"path": "apps/Shop_Front"}), repos=git_repos))
    assert found == [
        {
            "path": "apps/Shop_Front",
            "path.basename": "Shop_Front",
            "path.basenameNormalized": "shop-front",
            "path[0]": "apps",
            "path[1]": "Shop_Front",
        }
    ]


async def test_directory_params_go_template_with_prefix(
    layout: RemoteRepo, git_repos: GitRepositories
) -> None:
    spec = dirs(layout, {"path": "apps/team/*"}, pathParamPrefix="app") | {"goTemplate": True}
    found = params_of(await run(spec, repos=git_repos))
    assert found[0] == {
        "app": {
            "path": {
                "path": "apps/team/api",
                "basename": "api",
                "basenameNormalized": "api",
                "segments": ["apps", "team", "api"],
            }
        }
    }


def files(repo: RemoteRepo, *paths: str, go: bool = False) -> dict[str, Any]:
    entries = [{"path": p} for p in paths]
    return {
        "goTemplate": go,
        "generators": [{"git": {"repoURL": repo.url_git, "revision": "main", "files": entries}}],
    }


async def test_file_flattening_fasttemplate(layout: RemoteRepo, git_repos: GitRepositories) -> None:
    (found,) = params_of(await run(files(layout, "config/dev/*.json"), repos=git_repos))
    assert found == {
        "cluster.name": "dev",
        "cluster.address": "https://1.2.3.4",
        "replicas": "3",
        "big": "1e+06",  # a float64, written as Go's %v writes it
        "ratio": "0.5",
        "tags.0": "a",
        "tags.1": "b",
        "enabled": "true",
        "owners.0.team": "web",
        "path": "config/dev",
        "path.basename": "dev",
        "path.basenameNormalized": "dev",
        "path.filename": "config.json",
        "path.filenameNormalized": "config.json",
        "path[0]": "config",
        "path[1]": "dev",
    }


async def test_file_list_and_empty_files(layout: RemoteRepo, git_repos: GitRepositories) -> None:
    found = params_of(await run(files(layout, "config/*/config.yaml"), repos=git_repos))
    assert [(p.get("name"), p["path"]) for p in found] == [
        (None, "config/empty"),
        ("prod-eu", "config/prod"),
        ("prod-us", "config/prod"),
    ]


async def test_file_params_go_template(layout: RemoteRepo, git_repos: GitRepositories) -> None:
    (found,) = params_of(
        await run(files(layout, "config/dev/config.json", go=True), repos=git_repos)
    )
    assert found["cluster"] == {"name": "dev", "address": "https://1.2.3.4"}
    assert found["replicas"] == 3.0
    assert found["path"]["segments"] == ["config", "dev"]
    assert found["path"]["filename"] == "config.json"


async def test_unparsable_file_fails_the_generator(
    layout: RemoteRepo, git_repos: GitRepositories
) -> None:
    with pytest.raises(GeneratorError, match=r"failed to parse config/broken/bad\.yaml"):
        await run(files(layout, "config/**/*.yaml"), repos=git_repos)


async def test_unknown_revision_fails_the_generator(
    layout: RemoteRepo, git_repos: GitRepositories
) -> None:
    spec = {
        "generators": [
            {
                "git": {
                    "repoURL": layout.url_git,
                    "revision": "no-such-branch",
                    "directories": [{"path": "*"}],
                }
            }
        ]
    }
    with pytest.raises(GeneratorError, match="no-such-branch"):
        await run(spec, repos=git_repos)


def clusters_by_files(repo: RemoteRepo, *, go: bool) -> dict[str, Any]:
    name = "{{ .name }}" if go else "{{name}}"
    return {
        "goTemplate": go,
        "generators": [
            {
                "matrix": {
                    "generators": [
                        {"clusters": {"selector": {"matchLabels": {"tier": "app"}}}},
                        {"git": {"repoURL": repo.url_git, "files": [{"path": f"config/{name}/*"}]}},
                    ]
                }
            }
        ],
    }


SECRETS = [
    cluster_secret("dev", "https://dev.example.com", {"tier": "app"}),
    cluster_secret("prod", "https://prod.example.com", {"tier": "app"}),
    cluster_secret("tools", "https://tools.example.com", {"tier": "ops"}),
]


async def test_matrix_second_child_reads_the_first_ones_params(
    layout: RemoteRepo, git_repos: GitRepositories
) -> None:
    found = params_of(
        await run(clusters_by_files(layout, go=True), repos=git_repos, objects=SECRETS)
    )
    # goTemplate: on a clash (the prod file also sets "name") the first generator wins.
    assert [(p["server"], p["path"]["path"], p["name"], p.get("region")) for p in found] == [
        ("https://dev.example.com", "config/dev", "dev", None),
        ("https://prod.example.com", "config/prod", "prod", "eu"),
        ("https://prod.example.com", "config/prod", "prod", "us"),
    ]


async def test_matrix_clash_is_an_error_with_fasttemplate(
    layout: RemoteRepo, git_repos: GitRepositories
) -> None:
    with pytest.raises(GeneratorError, match="found duplicate key name with different value"):
        await run(clusters_by_files(layout, go=False), repos=git_repos, objects=SECRETS)


async def test_matrix_git_directories_by_clusters(
    layout: RemoteRepo, git_repos: GitRepositories
) -> None:
    spec = {
        "generators": [
            {
                "matrix": {
                    "generators": [
                        {
                            "git": {
                                "repoURL": layout.url_git,
                                "directories": [{"path": "apps/team/*"}],
                            }
                        },
                        {"clusters": {}},
                    ]
                }
            }
        ]
    }
    found = params_of(
        await run(spec, repos=git_repos, objects=[cluster_secret("edge", "https://edge")])
    )
    assert [(p["path.basename"], p["name"]) for p in found] == [
        ("api", "in-cluster"),
        ("api", "edge"),
        ("web", "in-cluster"),
        ("web", "edge"),
    ]


async def test_one_pass_resolves_each_repository_once(
    layout: RemoteRepo, git_repos: GitRepositories, git_server_session: GitServer
) -> None:
    spec = {
        "generators": [
            {
                "matrix": {
                    "generators": [
                        {"list": {"elements": [{"env": e} for e in ("a", "b", "c", "d")]}},
                        {
                            "git": {
                                "repoURL": layout.url_http_with_credentials,
                                "directories": [{"path": "apps/team/*"}],
                            }
                        },
                    ]
                }
            }
        ]
    }
    await run(spec, repos=git_repos)  # the first fetch fills the mirror
    before = git_server_session.http_requests
    assert len(params_of(await run(spec, repos=git_repos))) == 8
    per_resolve = git_server_session.http_requests - before
    before = git_server_session.http_requests
    assert len(params_of(await run(spec, repos=SnapshotRepositories(git_repos)))) == 8
    assert git_server_session.http_requests - before == per_resolve // 4
