"""``tether app manifests`` through a real subprocess, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from fixtures_remote import ServerState

TETHER = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "tether"


def tether(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TETHER), "app", "manifests", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def application(tmp_path: Path, spec: dict[str, Any], name: str = "guestbook") -> Path:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default", "destination": {"namespace": "web"}, **spec},
    }
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(app))
    return path


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def test_directory_app_prints_a_yaml_stream(tmp_path: Path, repo: Path) -> None:
    app = application(
        tmp_path, {"source": {"repoURL": "https://git.example.com/r.git", "path": "apps/guestbook"}}
    )
    done = tether("--file", app, "--local", repo)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("---\n")
    assert [f"{d['kind']}/{d['metadata']['name']}" for d in documents(done.stdout)] == [
        "Deployment/guestbook-ui",
        "ConfigMap/guestbook-config",
        "ServiceAccount/guestbook",
        "Secret/guestbook-token",
        "Service/guestbook-ui",
    ]
    assert tether("--file", app, "--local", repo).stdout == done.stdout  # stable


def test_multi_source_app_with_url_pairs(tmp_path: Path, repo: Path) -> None:
    values = tmp_path / "values"
    (values / "web").mkdir(parents=True)
    (values / "web/prod.yaml").write_text("tier: from-values-repo\n")
    app = application(
        tmp_path,
        {
            "sources": [
                {
                    "repoURL": "https://git.example.com/charts.git",
                    "path": "charts/demo",
                    "helm": {"valueFiles": ["$values/web/prod.yaml"]},
                },
                {"repoURL": "https://git.example.com/values.git", "ref": "values"},
            ]
        },
    )
    done = tether(
        "--file",
        app,
        "--local",
        f"https://git.example.com/charts.git={repo}",
        "--local",
        f"https://git.example.com/values.git={values}",
        "--kube-version",
        "1.30.2",
    )
    assert done.returncode == 0, done.stderr
    (config,) = [d for d in documents(done.stdout) if d["kind"] == "ConfigMap"]
    assert config["metadata"]["name"] == "guestbook-settings"
    assert (config["data"]["tier"], config["data"]["kubeVersion"]) == (
        "from-values-repo",
        "v1.30.2",
    )


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()


def test_revision_renders_that_commit_of_a_local_repository(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "app").mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=work)
    config = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  release: '{}'\n"
    )
    (work / "app/config.yaml").write_text(config.format("one"))
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "one", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work)
    (work / "app/config.yaml").write_text(config.format("two"))
    git("commit", "-q", "-am", "two", cwd=work)
    (work / "app/config.yaml").write_text(config.format("uncommitted"))
    app = application(
        tmp_path, {"source": {"repoURL": "https://git.example.com/r.git", "path": "app"}}
    )

    def release(*extra: str) -> str:
        done = tether("--file", app, "--local", work, *extra)
        assert done.returncode == 0, done.stderr
        return str(documents(done.stdout)[0]["data"]["release"])

    assert release() == "uncommitted"  # the working tree
    assert release("--revision", "main") == "two"
    assert release("--revision", first) == "one"


@pytest.mark.parametrize(
    ("source", "local", "message"),
    [
        (
            {"path": "charts/demo", "helm": {"valueFiles": ["../../../etc/passwd"]}},
            None,
            "error: failed to render charts/demo: "
            "path '../../../etc/passwd' resolves outside the repository",
        ),
        (
            {"path": "apps/nope"},
            None,
            "error: failed to render apps/nope: application path 'apps/nope' does not exist",
        ),
        (
            {"path": "apps/guestbook"},
            [],
            "error: no --local folder for https://git.example.com/r.git",
        ),
    ],
)
def test_errors_are_one_line_and_exit_code_2(
    tmp_path: Path, repo: Path, source: dict[str, Any], local: list[str] | None, message: str
) -> None:
    app = application(tmp_path, {"source": {"repoURL": "https://git.example.com/r.git", **source}})
    folders = [str(repo)] if local is None else local
    done = tether("--file", app, *[arg for folder in folders for arg in ("--local", folder)])
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == message + "\n"


def test_a_file_that_is_not_an_application_is_refused(tmp_path: Path, repo: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    done = tether("--file", path, "--local", repo)
    assert done.returncode == 2
    assert done.stderr == f"error: failed to read {path}: expected kind Application\n"


def test_chart_from_a_helm_repository(tmp_path: Path, chart_repository: ServerState) -> None:
    app = application(
        tmp_path,
        {
            "source": {
                "repoURL": f"{chart_repository.base_url}/stable",
                "chart": "demo",
                "targetRevision": "0.4.*",
                "helm": {"valuesObject": {"tier": "from-cli"}},
            }
        },
    )
    done = tether("--file", app)
    assert done.returncode == 0, done.stderr
    (config,) = [d for d in documents(done.stdout) if d["kind"] == "ConfigMap"]
    assert config["data"]["tier"] == "from-cli"
    (deployment,) = [d for d in documents(done.stdout) if d["kind"] == "Deployment"]
    assert deployment["metadata"]["namespace"] == "web"


def test_plugins_and_age_keys_from_the_command_line(tmp_path: Path, repo: Path) -> None:
    data = Path(__file__).resolve().parents[2] / "testdata" / "render"
    (repo / "apps/cue").mkdir()
    (repo / "apps/cue/main.cue").write_text("package main\n")
    (repo / "apps/secret").mkdir()
    (repo / "apps/secret/secret.yaml").write_text((data / "sops/secret-encrypted.yaml").read_text())
    app = application(
        tmp_path,
        {
            "sources": [
                {
                    "repoURL": "https://git.example.com/r.git",
                    "path": "apps/cue",
                    "plugin": {"name": "by-file-name"},
                },
                {"repoURL": "https://git.example.com/r.git", "path": "apps/secret"},
            ]
        },
    )
    done = tether(
        "--file",
        app,
        "--local",
        repo,
        "--plugins",
        data / "plugin/plugins",
        "--age-key",
        data / "sops/age-key.txt",
    )
    assert done.returncode == 0, done.stderr
    objects = documents(done.stdout)
    assert [o["metadata"]["name"] for o in objects] == ["by-file-name", "database"]
    assert objects[1]["stringData"]["password"] == "correct-horse-battery-staple"
    missing = tether("--file", app, "--local", repo, "--plugins", tmp_path / "nope")
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"error: failed to read {tmp_path / 'nope'}: ")
