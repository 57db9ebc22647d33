"""``tether image set`` and ``tether promote`` on a real working copy with a real remote."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tether.cli.demo import EXAMPLES
from tether.cli.main import app as tether

IMAGE = "ghcr.io/stefanprodan/podinfo"
OVERLAYS = Path("services/podinfo/k8s/overlays")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()


def application(name: str, repo_url: str, path: str, **source: object) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": path, "targetRevision": "main", **source},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
        },
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clone of the demo repository (podinfo overlays, tenant chart) with a bare origin."""
    bare, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "--bare", "--quiet", "--initial-branch=main", str(bare))
    shutil.copytree(EXAMPLES / "services", work / "services")
    shutil.copytree(EXAMPLES / "charts", work / "charts")
    url = f"file://{bare}"
    apps = [application(f"podinfo-{env}", url, str(OVERLAYS / env)) for env in ("dev", "staging")]
    apps.append(application("acme", url, "charts/tenant"))
    apps.append(application("elsewhere", "https://example.invalid/other.git", "services"))
    (work / "apps.yaml").write_text(yaml.safe_dump_all(apps))
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "initial")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "--quiet", "origin", "main")
    return work


def run(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(tether, [*args, "--repo", str(repo)])
    return result.exit_code, result.output


def kustomization(repo: Path, env: str) -> str:
    return (repo / OVERLAYS / env / "kustomization.yaml").read_text()


def test_image_set_keeps_comments_order_and_quoting(repo: Path) -> None:
    before = kustomization(repo, "dev")
    code, output = run(repo, "image", "set", "podinfo-dev", f"{IMAGE}=6.6.0")
    assert code == 0, output
    after = kustomization(repo, "dev")
    assert after == before.replace('newTag: "6.5.1"', 'newTag: "6.6.0"')
    assert f"images[{IMAGE}].newTag 6.5.1 -> 6.6.0" in output
    assert "not committed" in output


def test_image_set_commits_and_pushes_to_the_apps_remote(repo: Path) -> None:
    code, output = run(repo, "image", "set", "podinfo-dev", f"{IMAGE}=6.6.0", "--push")
    assert code == 0, output
    remote = repo.parent / "origin.git"
    assert git(remote, "log", "-1", "--format=%s", "main") == (
        f"chore(podinfo-dev): set {IMAGE} to 6.6.0"
    )
    pushed = git(remote, "show", f"main:{OVERLAYS}/dev/kustomization.yaml")
    assert 'newTag: "6.6.0"' in pushed
    assert git(repo, "status", "--porcelain") == ""


def test_promote_copies_the_tags_of_one_overlay_into_another(repo: Path) -> None:
    code, output = run(repo, "promote", "podinfo", "--from", "dev", "--to", "staging", "--commit")
    assert code == 0, output
    staging = kustomization(repo, "staging")
    assert 'newTag: "6.5.1" # the version running in staging' in staging
    assert git(repo, "log", "-1", "--format=%s") == (
        "chore(podinfo-staging): promote images from dev to staging"
    )
    again = run(repo, "promote", "podinfo", "--from", "dev", "--to", "staging", "--commit")
    assert again == (0, "nothing to change: podinfo-staging already has these images\n")


def test_helm_key_sets_a_value_of_the_chart(repo: Path) -> None:
    code, output = run(repo, "image", "set", "acme", f"{IMAGE}=7.0.0", "--helm-key", "image.tag")
    assert code == 0, output
    values = yaml.safe_load((repo / "charts/tenant/values.yaml").read_text())
    assert values["image"] == {"repository": IMAGE, "tag": "7.0.0"}
    assert "charts/tenant/values.yaml: image.tag 6.5.0 -> 7.0.0" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("image", "set", "elsewhere", f"{IMAGE}=1"),
            "is not a Git path of this working copy",
        ),
        (("image", "set", "missing", f"{IMAGE}=1"), "failed to find Application missing"),
        (("image", "set", "podinfo-dev", IMAGE), "expected IMAGE=TAG"),
        (
            ("promote", "podinfo", "--from", "qa", "--to", "staging"),
            "there is no overlay qa",
        ),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    repo: Path, args: tuple[str, ...], message: str
) -> None:
    code, output = run(repo, *args)
    assert (code, message in output) == (2, True), output
    assert git(repo, "status", "--porcelain") == ""


def test_a_dirty_working_copy_is_refused(repo: Path) -> None:
    dirty = repo / OVERLAYS / "dev" / "resources.yaml"
    dirty.write_text(dirty.read_text() + "# local experiment\n")
    before = kustomization(repo, "dev")
    code, output = run(repo, "image", "set", "podinfo-dev", f"{IMAGE}=6.6.0", "--push")
    assert code == 2
    assert "uncommitted changes" in output
    assert kustomization(repo, "dev") == before
    assert git(repo, "log", "-1", "--format=%s") == "initial"
