"""``tether proj``, ``repo``, ``cluster`` and ``account`` against a real ``tether up``."""

from __future__ import annotations

import json
from pathlib import Path

from clitools import GitRepo, Tether


def test_projects(tether: Tether, config: Path) -> None:
    created = tether.run(
        "proj", "create", "team-a", "--description", "team A",
        "-d", "https://kubernetes.default.svc,team-a", "-s", "*", config=config,
    )  # fmt: skip
    assert (created.code, created.stdout) == (0, "project 'team-a' created\n")

    listed = tether.run("proj", "list", config=config)
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == [
        "NAME",
        "DESCRIPTION",
        "DESTINATIONS",
        "SOURCES",
        "CLUSTER-RESOURCE-WHITELIST",
    ]
    assert ["team-a", "team", "A", "https://kubernetes.default.svc,team-a", "*", "<none>"] in rows

    windows = tether.run("proj", "windows", "list", "team-a", "-o", "json", config=config)
    assert json.loads(windows.stdout) == []

    token = tether.run("proj", "role", "create-token", "team-a", "ci", config=config)
    assert token.code == 2
    assert token.stderr == (
        "error: failed to create a token for role ci of project team-a: "
        "project team-a has no role ci\n"
    )

    deleted = tether.run("proj", "delete", "team-a", config=config)
    assert (deleted.code, deleted.stdout) == (0, "project 'team-a' deleted\n")


def test_repository_credentials_are_write_only(tether: Tether, config: Path, repo: GitRepo) -> None:
    url = repo.url + "-mirror"
    added = tether.run(
        "repo", "add", url, "--username", "ci", "--password", "s3cr3t-value", config=config
    )
    assert added.code == 0, added.stderr

    listed = tether.run("repo", "list", "-o", "json", config=config)
    assert "s3cr3t-value" not in listed.stdout
    assert {"repo": url, "type": "git", "username": "ci", "hasCredentials": True} in json.loads(
        listed.stdout
    )

    assert tether.run("repo", "rm", url, config=config).stdout == f"repository '{url}' removed\n"
    assert url not in tether.run("repo", "list", "-o", "name", config=config).stdout


def test_clusters_and_accounts(tether: Tether, config: Path) -> None:
    clusters = tether.run("cluster", "list", "-o", "name", config=config)
    assert clusters.stdout == "https://kubernetes.default.svc\n"

    accounts = tether.run("account", "list", config=config)
    assert [line.split() for line in accounts.stdout.splitlines()] == [
        ["NAME", "ENABLED", "CAPABILITIES"],
        ["admin", "true", "login"],
    ]

    refused = tether.run("account", "update-password", config=config)
    assert refused.code == 2
    assert "--current-password is required" in refused.stderr
