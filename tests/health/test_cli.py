"""``tether admin health`` through the installed console script, against golden output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
TETHER = Path(sys.executable).with_name("tether")
FIXTURES = Path("testdata/health")
GOLDEN = REPO / FIXTURES / "cli" / "admin-health.golden.jsonl"
GOLDEN_CUSTOM = REPO / FIXTURES / "cli" / "admin-health-custom.golden.jsonl"

FILES = [
    "deployment-progressing.yaml",
    "pod-crashloop.yaml",
    "job-degraded.yaml",
    "cronjob-suspended.yaml",
    "configmap-none.yaml",
    "certificate-healthy.yaml",
    "application-degraded.yaml",
]


def tether(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TETHER), "admin", "health", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


def paths(*names: str) -> list[str]:
    return [str(FIXTURES / name) for name in names]


def test_one_json_line_per_file() -> None:
    result = tether(*paths(*FILES))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == GOLDEN.read_text()
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == paths(*FILES)
    assert lines[4] == {"file": paths("configmap-none.yaml")[0], "status": None, "message": None}


def test_settings_and_customizations_directory() -> None:
    result = tether(
        "--settings",
        str(FIXTURES / "settings" / "argocd-cm.yaml"),
        "--customizations",
        str(FIXTURES / "customizations"),
        "--no-generic-conditions",
        *paths(
            "certificate-healthy.yaml",
            "service-progressing.yaml",
            "configmap-none.yaml",
            "application-degraded.yaml",
            "kafka-progressing-generation.yaml",
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == GOLDEN_CUSTOM.read_text()


def test_application_health_flag() -> None:
    result = tether("--application-health", *paths("application-degraded.yaml"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "file": paths("application-degraded.yaml")[0],
        "status": "Degraded",
        "message": 'Deployment "web" exceeded its progress deadline',
    }


def test_bad_files_get_an_error_line_and_exit_2_after_the_rest() -> None:
    result = tether(
        *paths(
            "pod-crashloop.yaml",
            "cli/not-an-object.yaml",
            "cli/two-objects.yaml",
            "absent.yaml",
            "job-degraded.yaml",
        )
    )
    assert result.returncode == 2
    assert [json.loads(line)["file"] for line in result.stdout.splitlines()] == paths(
        "pod-crashloop.yaml", "job-degraded.yaml"
    )
    not_object, two_objects, absent = paths(
        "cli/not-an-object.yaml", "cli/two-objects.yaml", "absent.yaml"
    )
    assert result.stderr.splitlines() == [
        f"error: failed to read {not_object}: not a Kubernetes object (no apiVersion)",
        f"error: failed to read {two_objects}: expected one Kubernetes object, found 2 documents",
        f"error: failed to read {absent}: [Errno 2] No such file or directory: '{absent}'",
    ]


def test_unquoted_timestamps_are_read_as_kubernetes_reads_them() -> None:
    result = tether(*paths("cli/cronjob-unquoted-timestamps.yaml"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "Degraded"


def test_unusable_settings_stop_before_any_file() -> None:
    result = tether("--settings", *paths("deployment-healthy.yaml", "deployment-healthy.yaml"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: failed to read settings {paths('deployment-healthy.yaml')[0]}: "
        "expected a ConfigMap, found a Deployment\n"
    )
    broken = tether("--customizations", str(FIXTURES / "absent"), *paths("deployment-healthy.yaml"))
    assert broken.returncode == 2
    assert broken.stderr == (
        f"error: failed to load health customization {FIXTURES / 'absent'}: not a directory\n"
    )


def test_json_object_files_are_read_too(tmp_path: Path) -> None:
    as_json = tmp_path / "pod.json"
    obj = yaml.safe_load((REPO / FIXTURES / "pod-imagepullbackoff.yaml").read_text())
    as_json.write_text(json.dumps(obj, indent=2))
    result = tether(str(as_json))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "file": str(as_json),
        "status": "Degraded",
        "message": 'Back-off pulling image "ghcr.io/acme/web:1.4.3"',
    }
