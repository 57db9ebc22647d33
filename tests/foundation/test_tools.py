"""The tool lookup finds kubectl and helm the way scripts/setup leaves them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tether.tools import ToolNotFoundError, env_var, find_tool


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho fake\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("name", ["kubectl", "helm"])
def test_real_tools_are_installed_and_run(name: str) -> None:
    path = find_tool(name)
    args = ["version", "--client"] if name == "kubectl" else ["version"]
    result = subprocess.run([str(path), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Version" in result.stdout


def test_kubectl_has_builtin_kustomize(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamePrefix: p-\n")
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    result = subprocess.run(
        [str(find_tool("kubectl")), "kustomize", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "name: p-c" in result.stdout


def test_checkout_tools_dir_comes_before_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "tools"
    ours = make_executable(tools / "helm")
    elsewhere = make_executable(tmp_path / "path" / "helm")
    monkeypatch.delenv("TETHER_HELM", raising=False)
    monkeypatch.setenv("PATH", f"{elsewhere.parent}{os.pathsep}{os.environ['PATH']}")
    assert find_tool("helm", tools_dir=tools) == ours


def test_path_is_used_when_tools_dir_lacks_the_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = make_executable(tmp_path / "path" / "helm")
    monkeypatch.delenv("TETHER_HELM", raising=False)
    monkeypatch.setenv("PATH", str(elsewhere.parent))
    assert find_tool("helm", tools_dir=tmp_path / "empty") == elsewhere


def test_environment_variable_overrides_discovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned = make_executable(tmp_path / "pinned" / "my-kubectl")
    make_executable(tmp_path / "tools" / "kubectl")
    monkeypatch.setenv("TETHER_KUBECTL", str(pinned))
    assert find_tool("kubectl", tools_dir=tmp_path / "tools") == pinned


def test_environment_variable_naming_nothing_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HELM", str(tmp_path / "absent"))
    with pytest.raises(ToolNotFoundError, match=r"TETHER_HELM=.*is not an executable file"):
        find_tool("helm")


def test_missing_tool_error_names_the_tool_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TETHER_HELM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError) as caught:
        find_tool("helm", tools_dir=tmp_path / "empty")
    assert caught.value.name == "helm"
    assert "failed to find tool helm" in str(caught.value)
    assert "scripts/setup" in str(caught.value)


def test_env_var_names() -> None:
    assert env_var("kubectl") == "TETHER_KUBECTL"
    assert env_var("helm") == "TETHER_HELM"
