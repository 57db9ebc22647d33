"""The demo repository ``tether up --demo`` prepares: real git, real Helm and Kustomize."""

from __future__ import annotations

import base64
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tether.cli.demo import EXAMPLES, SOPS_SECRET, Demo, prepare_repository, sops_key_secret
from tether.render.sops import decrypt_document, parse_identities
from tether.tools import find_tool


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    ).stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return prepare_repository(tmp_path_factory.mktemp("data"))


def test_the_repository_is_pushed_once_and_reused(demo: Demo) -> None:
    bare = Path(demo.repo_url.removeprefix("file://"))
    assert git(bare, "log", "--format=%s", "main").splitlines() == ["chore: demo GitOps repository"]
    assert git(demo.work_tree, "status", "--porcelain", "--branch").startswith(
        "## main...origin/main"
    )
    (demo.work_tree / "note.txt").write_text("the user's own work\n")
    again = prepare_repository(demo.work_tree.parents[1])
    assert again == demo
    assert (demo.work_tree / "note.txt").exists()


def test_every_placeholder_points_at_the_demo_repository(demo: Demo) -> None:
    manifests = [
        demo.work_tree / name
        for name in git(demo.work_tree, "ls-files").splitlines()
        if name.endswith((".yaml", ".json"))
    ]
    assert not [path for path in manifests if "REPO_URL" in path.read_text()]
    values = yaml.safe_load((demo.work_tree / "root/values.yaml").read_text())
    assert values["repoURL"] == demo.repo_url


def test_only_ciphertext_of_the_secret_reaches_git(demo: Demo) -> None:
    committed = git(demo.work_tree, "show", "HEAD:platform/secrets/db-credentials.yaml")
    assert "correct-horse-battery-staple" not in committed
    assert (
        "correct-horse-battery-staple"
        in (EXAMPLES / "platform/secrets/db-credentials.yaml").read_text()
    )
    assert stat.S_IMODE(demo.age_key_file.stat().st_mode) == 0o600
    identities = parse_identities(demo.age_key_file.read_text())
    plain = decrypt_document(yaml.safe_load(committed), identities, name="db-credentials")
    assert plain["stringData"] == {"username": "orders", "password": "correct-horse-battery-staple"}
    secret = sops_key_secret(demo, "argocd")
    assert secret["metadata"]["name"] == SOPS_SECRET
    assert base64.b64decode(secret["data"]["demo.agekey"]) == demo.age_key_file.read_bytes()


def test_the_root_chart_renders_one_application_per_platform_service(demo: Demo) -> None:
    rendered = subprocess.run(
        [str(find_tool("helm")), "template", "root", str(demo.work_tree / "root"), "-n", "argocd"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
    values = yaml.safe_load((demo.work_tree / "root/values.yaml").read_text())
    assert [n for k, n in kinds if k == "Application"] == sorted(values["platform"])
    assert ("AppProject", "demo") in kinds
    assert {n for k, n in kinds if k == "ApplicationSet"} == {"categories", "clients"}
    manual = [
        o["metadata"]["name"]
        for o in objects
        if o["kind"] == "Application" and "automated" not in o["spec"]["syncPolicy"]
    ]
    assert manual == ["podinfo-prod"]


@pytest.mark.parametrize(
    ("env", "replicas", "memory", "pdb"),
    [("dev", 1, "64Mi", False), ("staging", 2, "128Mi", False), ("prod", 3, "256Mi", True)],
)
def test_overlays_differ_in_replicas_resources_and_disruption_budget(
    demo: Demo, env: str, replicas: int, memory: str, pdb: bool
) -> None:
    folder = demo.work_tree / "services/podinfo/k8s/overlays" / env
    rendered = subprocess.run(
        [str(find_tool("kubectl")), "kustomize", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    objects = {o["kind"]: o for o in yaml.safe_load_all(rendered) if o}
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] == replicas
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"memory": memory}
    assert ("PodDisruptionBudget" in objects) is pdb
