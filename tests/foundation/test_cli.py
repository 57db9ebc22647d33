"""The console script works as installed, through a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tether

TETHER = Path(sys.executable).with_name("tether")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TETHER), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_version_flag_prints_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tether {tether.__version__}"
    assert tether.__version__ != "0.0.0+unknown"


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: tether" in result.stdout
    assert "version" in result.stdout


def test_no_arguments_shows_help_without_prompting() -> None:
    result = subprocess.run(
        [str(TETHER)], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert "Usage: tether" in result.stdout + result.stderr


def test_version_command_reports_the_tools_it_uses() -> None:
    result = run("version")
    assert result.returncode == 0, result.stderr
    assert "kubectl" in result.stdout
    assert "helm" in result.stdout
