"""``tether proj``, ``repo``, ``cluster`` and ``account`` against a real ``tether up``.

Run in-process on the real command tree; the subprocess tests cover the executable.
"""

from __future__ import annotations

import json
from pathlib import Path

from clitools import GitRepo, invoke


def test_projects(config: Path) -> None:
    created = invoke(
        config, "proj", "create", "team-a", "--description", "team A",
        "-d", "https://kubernetes.default.svc,team-a", "-s", "*",
    )  # fmt: skip
    assert (created.code, created.stdout) == (0, "project 'team-a' created\n")

    listed = invoke(config, "proj", "list")
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert rows[0] == [
        "NAME",
        "DESCRIPTION",
        "DESTINATIONS",
        "SOURCES",
        "CLUSTER-RESOURCE-WHITELIST",
    ]
    assert ["team-a", "team", "A", "https://kubernetes.default.svc,team-a", "*", "<none>"] in rows

    windows = invoke(config, "proj", "windows", "list", "team-a", "-o", "json")
    assert json.loads(windows.stdout) == []

    token = invoke(config, "proj", "role", "create-token", "team-a", "ci")
    assert token.code == 2
    assert token.stderr == (
        "error: failed to create a token for role ci of project team-a: "
        "project team-a has no role ci\n"
    )

    deleted = invoke(config, "proj", "delete", "team-a")
    assert (deleted.code, deleted.stdout) == (0, "project 'team-a' deleted\n")


def test_repository_credentials_are_write_only(config: Path, repo: GitRepo) -> None:
    url = repo.url + "-mirror"
    added = invoke(config, "repo", "add", url, "--username", "ci", "--password", "s3cr3t-value")
    assert added.code == 0, added.stderr

    listed = invoke(config, "repo", "list", "-o", "json")
    assert "s3cr3t-value" not in listed.stdout
    assert {"repo": url, "type": "git", "username": "ci", "hasCredentials": True} in json.loads(
        listed.stdout
    )

    assert invoke(config, "repo", "rm", url).stdout == f"repository '{url}' removed\n"
    assert url not in invoke(config, "repo", "list", "-o", "name").stdout


def test_clusters_and_accounts(config: Path) -> None:
    clusters = invoke(config, "cluster", "list", "-o", "name")
    assert clusters.stdout == "https://kubernetes.default.svc\n"

    accounts = invoke(config, "account", "list")
    assert [line.split() for line in accounts.stdout.splitlines()] == [
        ["NAME", "ENABLED", "CAPABILITIES"],
        ["admin", "true", "login"],
    ]

    refused = invoke(config, "account", "update-password")
    assert refused.code == 2
    assert "--current-password is required" in refused.stderr
