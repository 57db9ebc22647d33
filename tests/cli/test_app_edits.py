"""``app set``, ``app rollback`` and ``app terminate-op``, run in-process on the real command tree.

Run in-process on the real command tree (:func:`clitools.invoke`); the subprocess tests
cover the executable.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from clitools import GitRepo, Tether, invoke


def run(config: Path, *args: str) -> tuple[int, str]:
    result = invoke(config, *args)
    return result.code, result.stdout + result.stderr


def test_set_rollback_and_terminate(tether: Tether, repo: GitRepo, config: Path) -> None:
    code, _ = run(config, "app", "create", "edits", "--repo", repo.url, "--path", "guestbook",
                  "--revision", "main", "--dest-namespace", "edits",
                  "--sync-option", "CreateNamespace=true")  # fmt: skip
    assert code == 0
    code, output = run(config, "app", "sync", "edits", "--timeout", "60")
    assert code == 0, output

    code, output = run(config, "app", "set", "edits", "--sync-policy", "automated", "--self-heal")
    assert (code, output) == (0, "application 'edits' updated\n")
    code, output = run(config, "app", "get", "edits", "-o", "yaml")
    assert yaml.safe_load(output)["spec"]["syncPolicy"]["automated"] == {"selfHeal": True}

    # Argo CD refuses a rollback while auto-sync would undo it at once.
    code, output = run(config, "app", "rollback", "edits", "0")
    assert code == 2
    assert "failed to roll back application edits" in output

    code, _ = run(config, "app", "set", "edits", "--sync-policy", "none")
    assert code == 0
    code, output = run(config, "app", "rollback", "edits", "0", "--timeout", "60")
    assert code == 0, output
    assert output.splitlines()[-1].startswith("operation Succeeded")
    code, output = run(config, "app", "history", "edits", "-o", "name")
    assert output.split() == ["0", "1"]

    code, output = run(config, "app", "manifests", "edits")
    assert code == 0, output
    kinds = [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(output)]
    assert sorted(kinds) == [("ConfigMap", "guestbook-settings"), ("Deployment", "guestbook-ui")]

    code, output = run(config, "app", "terminate-op", "edits")
    assert code == 2
    assert "none is running" in output
