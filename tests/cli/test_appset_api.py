"""``tether appset`` against a real ``tether up``: create, list, get, generate, delete.

The ApplicationSet controller runs inside ``tether up``, so what ``appset get`` shows
about generated applications is what the controller really did. The first use of each
verb runs the ``tether`` executable; repeated checks run the same command tree
in-process (:func:`clitools.invoke`), which saves an interpreter start each.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml
from clitools import TESTDATA, GitRepo, Result, Tether, invoke


def one_line_error(result: Result, *fragments: str) -> None:
    assert result.code == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: failed to "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def fixture(name: str, repo: GitRepo, folder: Path, **changes: Any) -> Path:
    """``testdata/cli/NAME`` pointing at ``repo``, with ``changes`` merged into its spec."""
    document = yaml.safe_load((TESTDATA / name).read_text().replace("REPO_URL", repo.url))
    document["spec"].update(changes)
    path = folder / name
    path.write_text(yaml.safe_dump(document))
    return path


def wait_for_resources(tether: Tether, config: Path, name: str) -> dict[str, Any]:
    """The ApplicationSet once the controller has reported its applications (bounded)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = invoke(config, "appset", "get", name, "-o", "json")
        assert got.code == 0, got.stderr
        obj: dict[str, Any] = json.loads(got.stdout)
        if (obj.get("status") or {}).get("resources"):
            return obj
        time.sleep(0.5)
    raise AssertionError(f"the controller never reported the applications of {name}")


def test_appset_lifecycle(tether: Tether, repo: GitRepo, config: Path, tmp_path: Path) -> None:
    path = fixture("applicationset-guestbooks.yaml", repo, tmp_path)
    created = tether.run("appset", "create", str(path), config=config)
    assert (created.code, created.stdout) == (0, "applicationset 'guestbooks' created\n")
    again = invoke(config, "appset", "create", str(path))
    assert (again.code, again.stdout) == (0, "applicationset 'guestbooks' unchanged\n")

    obj = wait_for_resources(tether, config, "guestbooks")
    generated = sorted(r["name"] for r in obj["status"]["resources"])
    assert generated == ["guestbook-dev", "guestbook-staging"]
    got = tether.run("appset", "get", "guestbooks", config=config)
    assert got.code == 0, got.stderr
    assert "argocd/guestbooks" in got.stdout
    assert "Generators:  list" in got.stdout
    assert "ResourcesUpToDate" in got.stdout
    rows = [line.split() for line in got.stdout.splitlines()]
    assert ["APPLICATION", "STATUS", "HEALTH"] in rows
    assert any(row[:1] == ["guestbook-staging"] for row in rows)

    listed = tether.run("appset", "list", config=config)
    assert listed.code == 0, listed.stderr
    header, *lines = [line.split() for line in listed.stdout.splitlines()]
    assert header == ["NAME", "PROJECT", "SYNCPOLICY", "CONDITIONS", "REPO", "PATH", "TARGET"]
    (row,) = [line for line in lines if line[0] == "guestbooks"]
    assert row[1:3] == ["default", "<none>"]
    assert "ResourcesUpToDate" in row[3]
    assert row[4:] == [repo.url, "guestbook", "main"]
    wide = invoke(config, "appset", "list", "-o", "wide", "-l", "team=web")
    assert wide.stdout.splitlines()[0].split()[-2:] == ["APPS", "STEP"]
    assert wide.stdout.splitlines()[1].split()[-2:] == ["2", "-"]
    names = invoke(config, "appset", "list", "-o", "name", "-p", "default")
    assert "guestbooks" in names.stdout.split()
    as_yaml = invoke(config, "appset", "get", "guestbooks", "-o", "yaml")
    assert yaml.safe_load(as_yaml.stdout)["metadata"]["labels"] == {"team": "web"}

    more = tmp_path / "more"
    more.mkdir()
    envs = [{"env": env} for env in ("dev", "staging", "prod")]
    three = fixture(
        "applicationset-guestbooks.yaml", repo, more, generators=[{"list": {"elements": envs}}]
    )
    refused = invoke(config, "appset", "create", str(three))
    one_line_error(refused, "create applicationset guestbooks", "use upsert flag")
    upserted = tether.run("appset", "create", str(three), "--upsert", config=config)
    assert (upserted.code, upserted.stdout) == (0, "applicationset 'guestbooks' updated\n")

    asked = tether.run("appset", "delete", "guestbooks", config=config)
    one_line_error(asked, "confirm with -y", "not a terminal")
    deleted = tether.run("appset", "delete", "guestbooks", "-y", config=config)
    assert (deleted.code, deleted.stdout) == (0, "applicationset 'guestbooks' deleted\n")
    gone = invoke(config, "appset", "get", "guestbooks")
    one_line_error(gone, "get applicationset guestbooks", "not found")


def test_generate_and_dry_run_through_the_server(
    tether: Tether, repo: GitRepo, config: Path, tmp_path: Path
) -> None:
    path = fixture("applicationset-folders.yaml", repo, tmp_path)
    generated = tether.run("appset", "generate", str(path), "-o", "json", config=config)
    assert generated.code == 0, generated.stderr
    (application,) = json.loads(generated.stdout)
    assert application["metadata"]["name"] == "folder-guestbook"
    assert application["spec"]["source"] == {
        "repoURL": repo.url,
        "path": "guestbook",
        "targetRevision": "main",
    }
    table = invoke(config, "appset", "generate", str(path), "-o", "wide")
    header, row = (line.split() for line in table.stdout.splitlines())
    assert header == ["NAME", "PROJECT", "CLUSTER", "NAMESPACE", "REPO", "PATH", "TARGET"]
    assert row[0] == "folder-guestbook"

    preview = tether.run("appset", "create", str(path), "--dry-run", config=config)
    assert preview.code == 0, preview.stderr
    assert preview.stdout.splitlines() == [
        "applicationset 'folders' would generate 1 applications",
        "APPLICATION",
        "folder-guestbook",
    ]
    missing = invoke(config, "appset", "get", "folders")
    one_line_error(missing, "not found")  # the dry run wrote nothing

    # Offline inputs keep generation on this machine, whatever server is configured.
    offline = tether.run(
        "appset", "generate", str(path), "--local", str(TESTDATA / "repo"), "-o", "name",
        config=config,
    )  # fmt: skip
    assert (offline.code, offline.stdout) == (0, "folder-guestbook\n")


def test_errors_are_one_line(tether: Tether, repo: GitRepo, config: Path, tmp_path: Path) -> None:
    broken = fixture("applicationset-guestbooks.yaml", repo, tmp_path, generators=[])
    refused = tether.run("appset", "create", str(broken), config=config)
    one_line_error(refused, "create applicationset guestbooks", "at least one generator")
    generated = invoke(config, "appset", "generate", str(broken))
    one_line_error(generated, "generate the applications of applicationset guestbooks")
    not_an_appset = invoke(config, "appset", "create", str(TESTDATA / "application-guestbook.yaml"))
    one_line_error(not_an_appset, "expected ApplicationSet documents only")
    anonymous = invoke(tmp_path / "no-config", "appset", "list")
    one_line_error(anonymous, "find a server", "tether login")
