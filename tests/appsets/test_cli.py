"""``tether appset generate`` through a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

TETHER = Path(sys.executable).with_name("tether")
TESTDATA = Path(__file__).parents[2] / "testdata/appsets"


def tether(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TETHER), "appset", "generate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_generate_from_a_local_folder(tmp_path: Path) -> None:
    for folder in ("apps/Web_Shop", "apps/payments", "apps/sandbox", "apps/.git-ignored"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "kustomization.yaml").write_text("resources: []\n")
    done = tether(str(TESTDATA / "applicationset-git-directories.yaml"), "--local", str(tmp_path))
    assert done.returncode == 0, done.stderr
    apps = list(yaml.safe_load_all(done.stdout))
    assert [(a["metadata"]["name"], a["metadata"]["labels"]["team"]) for a in apps] == [
        ("payments", "payments"),
        ("web-shop", "Web_Shop"),
    ]
    assert apps[1]["spec"]["source"]["path"] == "apps/Web_Shop"


def test_generate_clusters_as_json() -> None:
    done = tether(
        str(TESTDATA / "applicationset-clusters.yaml"),
        "--clusters",
        str(TESTDATA / "secret-clusters.yaml"),
        "-o",
        "json",
    )
    assert done.returncode == 0, done.stderr
    (app,) = json.loads(done.stdout)
    assert app["metadata"]["name"] == "guestbook-eu-west"
    assert app["spec"]["destination"]["server"] == "https://eu.example.com"


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tether(str(TESTDATA / "applicationset-git-directories.yaml"))
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.count("\n") == 1
    assert missing.stderr.startswith("error: failed to generate parameters with the git generator")
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ApplicationSet\napiVersion: argoproj.io/v1alpha1\nmetadata: {name: x}\n")
    invalid = tether(str(bad))
    assert invalid.returncode == 2
    assert invalid.stderr.startswith(f"error: failed to read {bad}: invalid spec")
