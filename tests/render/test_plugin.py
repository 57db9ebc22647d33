"""Config management plugins: declarations, selection, environment, limits, output."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tether.model import PluginSource
from tether.render.errors import ManifestError, RenderError, ToolError, ToolTimeoutError
from tether.render.plugin import (
    ConfigManagementPlugin,
    PluginConfigError,
    PluginRenderer,
    PluginSelectionError,
    load_plugin_folder,
    load_plugin_mapping,
    parameter_environment,
)
from tether.render.process import Limits, ToolOutputLimitError

FIXTURES = Path(__file__).resolve().parents[2] / "testdata" / "render" / "plugin"
BUILD_ENV = {
    "ARGOCD_APP_NAME": "guestbook",
    "ARGOCD_APP_NAMESPACE": "demo",
    "ARGOCD_APP_REVISION": "0123456789abcdef",
    "KUBE_VERSION": "1.35",
}


@pytest.fixture(scope="module")
def plugins() -> tuple[ConfigManagementPlugin, ...]:
    return load_plugin_folder(FIXTURES / "plugins")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "repo", root, symlinks=True)
    return root.resolve()


async def render(
    plugins: tuple[ConfigManagementPlugin, ...],
    repo: Path,
    app: str,
    source: PluginSource,
    limits: Limits | None = None,
) -> list[dict[str, Any]]:
    renderer = PluginRenderer(plugins, limits=limits or Limits(timeout=20))
    return await renderer.render(repo, repo / app, source, build_env=BUILD_ENV)


def test_declarations_are_read_from_a_folder(plugins: tuple[ConfigManagementPlugin, ...]) -> None:
    assert [p.full_name for p in plugins] == [
        "by-command",
        "by-file-name",
        "by-glob",
        "envdump-v1.0",
        "fails",
        "floods",
        "never-exits",
        "preserver",
        "prints-garbage",
    ]
    envdump = next(p for p in plugins if p.name == "envdump")
    assert envdump.init is not None
    assert envdump.init.argv[:2] == ("bash", "-c")
    assert envdump.origin == "envdump.yaml#1"


async def test_init_then_generate_with_the_environment_argo_cd_promises(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_TEST_SECRET", "must-not-reach-plugins")
    source = PluginSource.from_dict(
        {
            "name": "envdump-v1.0",
            "env": [
                {"name": "FOO", "value": "bar"},
                {"name": "REV", "value": "r-$ARGOCD_APP_REVISION"},
            ],
            "parameters": [
                {"name": "values-files", "array": ["values-dev.yaml", "values-eu.yaml"]},
                {"name": "helm-parameters", "map": {"image.tag": "v1.2.3"}},
                {"name": "release.name", "string": "web"},
            ],
        },
        "spec.source.plugin",
    )
    [config] = await render(plugins, repo, "apps/plain", source)
    assert config["metadata"] == {"name": "guestbook", "namespace": "demo"}
    data = config["data"]
    assert data["init"] == "initialised by guestbook"
    assert (data["foo"], data["rev"], data["kubeVersion"]) == ("bar", "r-0123456789abcdef", "1.35")
    assert (data["valuesFile0"], data["valuesFile1"]) == ("values-dev.yaml", "values-eu.yaml")
    assert (data["imageTag"], data["release"]) == ("v1.2.3", "web")
    assert json.loads(data["parameters"]) == [
        {"name": "values-files", "array": ["values-dev.yaml", "values-eu.yaml"]},
        {"name": "helm-parameters", "map": {"image.tag": "v1.2.3"}},
        {"name": "release.name", "string": "web"},
    ]
    assert data["leakedSecret"] == "absent"
    assert data["home"] != str(Path.home())
    assert data["runMode"] == "644"  # modes reset without preserveFileMode


async def test_plugin_works_on_a_copy_and_leaves_the_checkout_alone(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    await render(plugins, repo, "apps/plain", PluginSource(name="envdump-v1.0"))
    assert not (repo / "apps/plain/.init-marker").exists()
    assert (repo / "apps/plain/run.sh").stat().st_mode & 0o777 == 0o755


async def test_preserve_file_mode_keeps_executable_bits(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    [config] = await render(plugins, repo, "apps/plain", PluginSource(name="preserver"))
    assert config["data"]["runMode"] == "755"


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ("apps/cue-app", "by-file-name"),
        ("apps/deep", "by-glob"),
        ("apps/marked", "by-command"),
    ],
)
async def test_discovery_selects_the_matching_plugin(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path, app: str, expected: str
) -> None:
    [config] = await render(plugins, repo, app, PluginSource())
    assert config["metadata"]["name"] == expected


async def test_no_matching_plugin_is_an_error(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    with pytest.raises(PluginSelectionError, match="no configured plugin's discovery rules match"):
        await render(plugins, repo, "apps/bare", PluginSource())


async def test_named_plugin_must_match_its_discovery_rules(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    with pytest.raises(PluginSelectionError, match="does not match the application"):
        await render(plugins, repo, "apps/bare", PluginSource(name="by-glob"))


async def test_unknown_plugin_name_lists_the_known_ones(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    with pytest.raises(
        PluginSelectionError, match=r"plugin envdump is not configured .*envdump-v1\.0"
    ):
        await render(plugins, repo, "apps/plain", PluginSource(name="envdump"))


async def test_a_plugin_that_never_exits_is_killed_at_the_timeout(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(ToolTimeoutError, match=r"timed out after 0\.5s"):
        await render(plugins, repo, "apps/plain", PluginSource(name="never-exits"), Limits(0.5))
    assert time.monotonic() - started < 10


async def test_a_plugin_printing_20_mib_is_cut_off(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    with pytest.raises(ToolOutputLimitError, match="wrote more than 10485760 bytes"):
        await render(plugins, repo, "apps/plain", PluginSource(name="floods"), Limits())


async def test_output_that_is_not_yaml_is_a_clear_error(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    with pytest.raises(ManifestError) as caught:
        await render(plugins, repo, "apps/plain", PluginSource(name="prints-garbage"))
    message = str(caught.value)
    assert message.startswith("failed to render apps/plain: plugin prints-garbage output")
    assert "invalid YAML" in message


async def test_a_failing_plugin_reports_its_exit_code_and_stderr(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path
) -> None:
    with pytest.raises(ToolError) as caught:
        await render(plugins, repo, "apps/plain", PluginSource(name="fails"))
    assert caught.value.exit_code == 3
    assert "kustomization not found" in str(caught.value)


def test_declarations_from_a_settings_mapping() -> None:
    text = (FIXTURES / "plugins" / "discovery.yaml").read_text()
    plugins = load_plugin_mapping({"discovery.yaml": text})
    assert [p.full_name for p in plugins] == ["by-command", "by-file-name", "by-glob"]
    assert plugins[2].discover.glob == "**/render-me.yaml"


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"apiVersion": "v1", "kind": "ConfigMap"}, "expected apiVersion argoproj.io/v1alpha1"),
        (
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "ConfigManagementPlugin", "spec": {}},
            "metadata.name is required",
        ),
        (
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "ConfigManagementPlugin",
                "metadata": {"name": "x"},
                "spec": {"init": {"command": ["sh"]}},
            },
            "spec.generate.command is required",
        ),
        (
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "ConfigManagementPlugin",
                "metadata": {"name": "x"},
                "spec": {"generate": {"command": "sh -c 'echo'"}},
            },
            "spec.generate.command must be a list of strings",
        ),
    ],
)
def test_malformed_declarations_are_refused(declaration: dict[str, Any], message: str) -> None:
    with pytest.raises(PluginConfigError, match=message) as caught:
        load_plugin_mapping({"bad": declaration})
    assert caught.value.subject == "bad#1"


def test_duplicate_plugin_names_are_refused() -> None:
    text = (FIXTURES / "plugins" / "discovery.yaml").read_text()
    with pytest.raises(PluginConfigError, match="also declared in a#"):
        load_plugin_mapping({"a": text, "b": text})


def test_no_parameters_are_passed_as_null() -> None:
    assert parameter_environment([]) == {"ARGOCD_APP_PARAMETERS": "null"}


@pytest.mark.parametrize("name", ["", "A=B", "1ST", "WITH SPACE"])
async def test_invalid_plugin_env_names_are_refused(
    plugins: tuple[ConfigManagementPlugin, ...], repo: Path, name: str
) -> None:
    source = PluginSource(name="envdump-v1.0", env=((name, "x"),))
    with pytest.raises(RenderError, match="is not a valid variable"):
        await render(plugins, repo, "apps/plain", source)
