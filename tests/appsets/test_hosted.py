"""pullRequest, scmProvider and plugin generators against a fake forge on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from appset_helpers import params_of, run
from fakeforge import FakeForge, serve

from tether.controller.appsets.errors import GeneratorError

TOKEN = "s3cr3t-token-value"
TOKEN_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "forge-token"},
    "stringData": {"token": TOKEN},
}
TOKEN_REF = {"secretName": "forge-token", "key": "token"}
SHA = "0123456789abcdef0123456789abcdef01234567"


def github_pull(number: int, branch: str, labels: list[str]) -> dict[str, Any]:
    return {
        "number": number,
        "title": f"PR {number}",
        "head": {"ref": branch, "sha": SHA},
        "base": {"ref": "main"},
        "labels": [{"name": label} for label in labels],
        "user": {"login": "ada"},
    }


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    pulls = [
        github_pull(n, f"feature/Item_{n}", ["preview"] if n % 2 else []) for n in range(1, 102)
    ]
    routes: dict[str, Any] = {
        "/repos/org/shop/pulls": pulls,
        "/api/v1/repos/org/shop/pulls": [github_pull(7, "fix-it", ["preview"])],
        "/api/v4/projects/group%2Fshop/merge_requests": [
            {
                "iid": 3,
                "title": "MR",
                "source_branch": "topic",
                "target_branch": "main",
                "sha": SHA,
                "labels": ["preview"],
                "author": {"username": "bob"},
            }
        ],
        "/orgs/org/repos": [
            {
                "name": "shop",
                "clone_url": "https://git.example/org/shop.git",
                "ssh_url": "git@git.example:org/shop.git",
                "default_branch": "main",
                "topics": ["team-web", "tier-1"],
            },
            {
                "name": "docs",
                "clone_url": "https://git.example/org/docs.git",
                "ssh_url": "git@git.example:org/docs.git",
                "default_branch": "trunk",
                "topics": [],
            },
        ],
        "/repos/org/shop/branches/main": {"name": "main", "commit": {"sha": SHA}},
        "/repos/org/docs/branches/trunk": {"name": "trunk", "commit": {"sha": SHA}},
        "/repos/org/shop/contents/deploy/kustomization.yaml": {"type": "file"},
        "/api/v4/groups/group/projects": [
            {
                "id": 42,
                "path": "shop",
                "namespace": {"full_path": "group"},
                "http_url_to_repo": "https://gitlab.example/group/shop.git",
                "ssh_url_to_repo": "git@gitlab.example:group/shop.git",
                "default_branch": "main",
                "topics": ["web"],
            }
        ],
        "/api/v4/projects/42/repository/tree": lambda query, body: (
            [{"name": "kustomization.yaml", "type": "blob"}]
            if query.get("path") == "deploy"
            else []
        ),
        "/api/v4/projects/42/repository/branches": [
            {"name": "main", "commit": {"id": SHA}},
            {"name": "release/1.0", "commit": {"id": SHA}},
        ],
        "/api/v1/orgs/org/repos": [
            {
                "name": "tea",
                "clone_url": "https://gitea.example/org/tea.git",
                "ssh_url": "git@gitea.example:org/tea.git",
                "default_branch": "main",
            }
        ],
        "/api/v1/repos/org/tea/topics": {"topics": ["brew"]},
        "/api/v1/repos/org/tea/branches/main": {"name": "main", "commit": {"id": SHA}},
        "/api/v1/getparams.execute": lambda query, body: {
            "output": {
                "parameters": [
                    {"cluster": {"name": c}, "app": body["applicationSetName"]}
                    for c in body["input"]["parameters"]["clusters"]
                ]
            }
        },
    }
    with serve(FakeForge(routes)) as running:
        yield running


def pull_requests(provider: str, settings: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"generators": [{"pullRequest": {provider: settings, **extra}}]}


async def test_github_pull_requests_paginated_and_filtered(forge: FakeForge) -> None:
    spec = pull_requests(
        "github",
        {
            "owner": "org",
            "repo": "shop",
            "api": forge.url,
            "tokenRef": TOKEN_REF,
            "labels": ["preview"],
        },
        filters=[{"branchMatch": "Item_(1|10[01])$"}],
    )
    found = params_of(await run(spec, objects=[TOKEN_SECRET]))
    assert [p["number"] for p in found] == ["1", "101"]
    assert found[0] == {
        "number": "1",
        "title": "PR 1",
        "branch": "feature/Item_1",
        "branch_slug": "feature-item-1",
        "target_branch": "main",
        "target_branch_slug": "main",
        "head_sha": SHA,
        "head_short_sha": SHA[:8],
        "head_short_sha_7": SHA[:7],
        "author": "ada",
    }
    pages = [r for r in forge.requests if r.path == "/repos/org/shop/pulls"]
    assert [r.query["page"] for r in pages] == ["1", "2"]
    assert {r.headers["Authorization"] for r in pages} == {f"token {TOKEN}"}


async def test_gitlab_and_gitea_pull_requests(forge: FakeForge) -> None:
    gitlab = pull_requests(
        "gitlab",
        {
            "project": "group/shop",
            "api": forge.url,
            "tokenRef": TOKEN_REF,
            "pullRequestState": "opened",
        },
    )
    (mr,) = params_of(await run(gitlab | {"goTemplate": True}, objects=[TOKEN_SECRET]))
    assert (mr["number"], mr["branch"], mr["author"], mr["labels"]) == (
        "3",
        "topic",
        "bob",
        ["preview"],
    )
    request = next(r for r in forge.requests if "merge_requests" in r.path)
    assert request.headers["PRIVATE-TOKEN"] == TOKEN
    assert request.query["state"] == "opened"
    gitea = pull_requests("gitea", {"owner": "org", "repo": "shop", "api": forge.url})
    (pull,) = params_of(await run(gitea))
    assert (pull["number"], pull["branch_slug"]) == ("7", "fix-it")
    assert "Authorization" not in forge.requests[-1].headers


async def test_api_errors_fail_the_generator_without_the_token(forge: FakeForge) -> None:
    forge.fail_with = 502
    spec = pull_requests(
        "github", {"owner": "org", "repo": "shop", "api": forge.url, "tokenRef": TOKEN_REF}
    )
    with pytest.raises(GeneratorError, match="HTTP 502") as caught:
        await run(spec, objects=[TOKEN_SECRET])
    assert TOKEN not in str(caught.value)
    assert len(str(caught.value)) < 400


async def test_missing_token_secret(forge: FakeForge) -> None:
    spec = pull_requests(
        "github", {"owner": "org", "repo": "shop", "api": forge.url, "tokenRef": TOKEN_REF}
    )
    with pytest.raises(GeneratorError, match="failed to read the token"):
        await run(spec)


async def test_scm_provider_github_with_filters(forge: FakeForge) -> None:
    spec = {
        "generators": [
            {
                "scmProvider": {
                    "github": {"organization": "org", "api": forge.url, "tokenRef": TOKEN_REF},
                    "cloneProtocol": "https",
                    "filters": [
                        {"repositoryMatch": "^sh", "pathsExist": ["deploy/kustomization.yaml"]},
                        {"labelMatch": "^nothing$"},
                    ],
                }
            }
        ]
    }
    (found,) = params_of(await run(spec, objects=[TOKEN_SECRET]))
    assert found == {
        "organization": "org",
        "repository": "shop",
        "url": "https://git.example/org/shop.git",
        "branch": "main",
        "branchNormalized": "main",
        "sha": SHA,
        "short_sha": SHA[:8],
        "short_sha_7": SHA[:7],
        "labels": "team-web,tier-1",
    }


async def test_scm_provider_gitlab_all_branches_and_gitea(forge: FakeForge) -> None:
    gitlab = {
        "generators": [
            {"scmProvider": {"gitlab": {"group": "group", "api": forge.url, "allBranches": True}}}
        ]
    }
    found = params_of(await run(gitlab))
    assert [(p["repository"], p["branch"], p["branchNormalized"], p["url"]) for p in found] == [
        ("shop", "main", "main", "git@gitlab.example:group/shop.git"),
        ("shop", "release/1.0", "release-1.0", "git@gitlab.example:group/shop.git"),
    ]
    gitlab["generators"][0]["scmProvider"]["filters"] = [
        {"branchMatch": "^release/", "pathsExist": ["deploy/kustomization.yaml"]}
    ]
    (release,) = params_of(await run(gitlab))
    assert release["branch"] == "release/1.0"
    listing = [r for r in forge.requests if r.path.endswith("/repository/tree")]
    assert {(r.query["path"], r.query["ref"]) for r in listing} == {
        ("deploy/kustomization.yaml", "release/1.0"),
        ("deploy", "release/1.0"),
    }
    gitea = {"generators": [{"scmProvider": {"gitea": {"owner": "org", "api": forge.url}}}]}
    (tea,) = params_of(await run(gitea))
    assert (tea["repository"], tea["labels"]) == ("tea", "brew")


async def test_plugin_generator(forge: FakeForge) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "my-plugin"},
        "data": {"baseUrl": forge.url, "token": "$forge-token:token"},
    }
    spec = {
        "generators": [
            {
                "plugin": {
                    "configMapRef": {"name": "my-plugin"},
                    "input": {"parameters": {"clusters": ["a", "b"]}},
                }
            }
        ]
    }
    found = params_of(await run(spec, objects=[config, TOKEN_SECRET]))
    assert [(p["cluster.name"], p["app"]) for p in found] == [("a", "set"), ("b", "set")]
    assert found[0]["generator"] == {"input": {"parameters": {"clusters": ["a", "b"]}}}
    request = forge.requests[-1]
    assert (request.method, request.path) == ("POST", "/api/v1/getparams.execute")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    settings_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "argocd-secret"},
        "stringData": {"plugin.my.token": "from-settings"},
    }
    config["data"]["token"] = "$plugin.my.token"
    await run(spec, objects=[config, settings_secret])
    assert forge.requests[-1].headers["Authorization"] == "Bearer from-settings"
    assert request.body == {
        "applicationSetName": "set",
        "input": {"parameters": {"clusters": ["a", "b"]}},
    }
