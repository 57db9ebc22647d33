"""``tether app`` against a real ``tether up``: create, list, diff, sync, get, history, delete."""

from __future__ import annotations

import json
from pathlib import Path

from clitools import (
    TESTDATA,
    GitRepo,
    Tether,
    assert_golden,
    free_port,
    normalise_json,
    normalise_text,
)


def one_line_error(stderr: str, *fragments: str) -> None:
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: failed to "), stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


def test_app_lifecycle(tether: Tether, repo: GitRepo, config: Path) -> None:
    sha = repo.head
    names = {repo.url: "<repo>", sha: "<sha>", sha[:7]: "<short>"}
    created = tether.run(
        "app", "create", "guestbook", "--repo", repo.url, "--path", "guestbook",
        "--revision", "main", "--dest-namespace", "guestbook",
        "--sync-option", "CreateNamespace=true", config=config,
    )  # fmt: skip
    assert (created.code, created.stdout) == (0, "application 'guestbook' created\n")

    # Before the first sync, both objects are missing: a difference (exit 1).
    diff = tether.run("app", "diff", "guestbook", config=config)
    assert diff.code == 1, diff.stderr
    assert "===== apps/Deployment guestbook/guestbook-ui ======" in diff.stdout
    assert "missing from the cluster" in diff.stdout
    assert "+  color: blue" in diff.stdout

    synced = tether.run("app", "sync", "guestbook", "--timeout", "60", config=config)
    assert synced.code == 0, synced.stderr
    lines = synced.stdout.splitlines()
    assert lines[0] == "sync of application 'guestbook' requested"
    assert "guestbook: Deployment guestbook/guestbook-ui [Sync] Synced" in synced.stdout
    assert lines[-1].startswith("operation Succeeded")

    assert tether.run("app", "diff", "guestbook", config=config).code == 0

    # The Deployment may still be rolling out: wait for it, as a script would.
    healthy = tether.run("app", "wait", "guestbook", "--health", "--timeout", "60", config=config)
    assert healthy.code == 0, healthy.stdout + healthy.stderr

    listed = tether.run("app", "list", "-o", "json", config=config)
    guestbook = [a for a in json.loads(listed.stdout) if a["metadata"]["name"] == "guestbook"]
    assert_golden("app-list-item.json", normalise_json(json.dumps(guestbook[0]), names))
    got = tether.run("app", "get", "guestbook", config=config)
    assert_golden("app-get.txt", normalise_text(got.stdout, names))

    history = tether.run("app", "history", "guestbook", config=config)
    rows = [line.split() for line in normalise_text(history.stdout, names).splitlines()]
    assert rows == [["ID", "DATE", "REVISION"], ["0", "<time>", "<sha>"]]

    # Drift made behind tether's back shows up in the diff, with the changed field.
    tether.kubectl("-n", "guestbook", "patch", "configmap", "guestbook-settings",
                   "-p", '{"data":{"color":"red"}}')  # fmt: skip
    refreshed = tether.run("app", "get", "guestbook", "--refresh", "-o", "name", config=config)
    assert refreshed.stdout == "guestbook\n"
    drift = tether.run("app", "diff", "guestbook", config=config)
    assert drift.code == 1
    assert "-  color: red\n+  color: blue" in drift.stdout
    assert "guestbook-ui" not in drift.stdout  # unchanged objects are not shown

    refused = tether.run("app", "delete", "guestbook", config=config)
    assert refused.code == 2
    one_line_error(refused.stderr, "confirm with -y", "not a terminal")
    deleted = tether.run("app", "delete", "guestbook", "-y", config=config)
    assert (deleted.code, deleted.stdout) == (0, "application 'guestbook' deleted\n")


def test_app_from_file_waits_until_healthy(
    tether: Tether, repo: GitRepo, config: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "app.yaml"
    text = (TESTDATA / "application-guestbook.yaml").read_text()
    manifest.write_text(text.replace("REPO_URL", repo.url))
    created = tether.run("app", "create", "-f", str(manifest), config=config)
    assert created.code == 0, created.stderr

    started = tether.run("app", "sync", "guestbook-file", "--async", config=config)
    assert started.stdout == "sync of application 'guestbook-file' requested\n"
    waited = tether.run("app", "wait", "guestbook-file", "--timeout", "60", config=config)
    assert waited.code == 0, waited.stdout + waited.stderr
    assert "guestbook-file: sync Synced, health Healthy" in waited.stdout
    assert waited.stdout.endswith("application 'guestbook-file' reached the wanted state\n")

    resources = tether.run("app", "resources", "guestbook-file", "-o", "name", config=config)
    assert sorted(resources.stdout.split()) == [
        "ConfigMap/guestbook-settings",
        "Deployment/guestbook-ui",
    ]


def test_errors_are_one_line_with_exit_code_2(tether: Tether, config: Path) -> None:
    missing = tether.run("app", "get", "absent", config=config)
    assert (missing.code, missing.stdout) == (2, "")
    one_line_error(missing.stderr, "get application absent", "not found")

    bad = tether.run("app", "sync", "absent", "--resource", "Deployment", config=config)
    assert bad.code == 2
    one_line_error(bad.stderr, "GROUP:KIND:NAME")

    unreachable = tether.run(
        "app", "list", "--server", f"http://127.0.0.1:{free_port()}", config=config
    )
    assert unreachable.code == 2
    one_line_error(unreachable.stderr, "list applications", "cannot reach")
