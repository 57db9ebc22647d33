"""The Renderer: cache behaviour, multiple sources, build environment, wiring of every tool."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tether.model import ApplicationSource, ResourceKey
from tether.render.cache import RenderCache
from tether.render.chartrepo import ChartFetcher
from tether.render.detect import Tool
from tether.render.errors import RenderError
from tether.render.genpaths import needs_render
from tether.render.plugin import PluginRenderer, load_plugin_folder
from tether.render.process import Limits, ProcessResult, run_process
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, SourceCheckout
from tether.render.settings import RenderSettings
from tether.render.sops import parse_identities
from tether.render.toolchain import Toolchain

sys.path.insert(0, str(Path(__file__).parent))

from fixtures_remote import ServerState

DATA = Path(__file__).resolve().parents[2] / "testdata" / "render"
SHA_1, SHA_2 = "1" * 40, "2" * 40
DEFAULT_LIMITS = Limits()


def break_yaml_files(root: Path) -> None:
    """Make every YAML file of ``root`` unparseable."""
    for path in root.rglob("*.yaml"):
        path.write_text(": not yaml [")


class CountingRunner:
    """The real sandboxed runner, counting the commands it runs."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []

    async def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
        check: bool = True,
        subject: str = "",
    ) -> ProcessResult:
        self.commands.append(tuple(argv))
        return await run_process(
            argv, cwd=cwd, env=env, limits=limits, check=check, subject=subject
        )

    @property
    def renders(self) -> int:
        return sum(1 for argv in self.commands if "version" not in argv)


@pytest.fixture
def runner() -> CountingRunner:
    return CountingRunner()


@pytest.fixture
def counted(runner: CountingRunner) -> Renderer:
    return Renderer(toolchain=Toolchain(runner=runner))


def request(
    root: Path, source: dict[str, Any], revision: str = SHA_1, **extra: Any
) -> RenderRequest:
    checkout = SourceCheckout(ApplicationSource.from_dict(source), root, revision)
    return RenderRequest("demo", (checkout,), destination_namespace="prod", **extra)


SOURCES = {
    "directory": {"repoURL": "r", "path": "apps/guestbook"},
    "kustomize": {
        "repoURL": "r",
        "path": "apps/kustomize/overlays/prod",
        "kustomize": {"namePrefix": "a-"},
    },
    "helm": {"repoURL": "r", "path": "charts/demo"},
}


@pytest.mark.parametrize("source", SOURCES.values(), ids=SOURCES.keys())
async def test_refresh_at_an_unchanged_commit_renders_nothing(
    counted: Renderer, runner: CountingRunner, repo: Path, source: dict[str, Any]
) -> None:
    cold = await counted.render(request(repo, source))
    renders = runner.renders
    # Break every file of the checkout: a warm refresh must not read any of them.
    break_yaml_files(repo)
    warm = await counted.render(request(repo, source))
    assert runner.renders == renders
    assert warm.from_cache
    assert not cold.from_cache
    assert warm.cache_key == cold.cache_key
    assert all(a is b for a, b in zip(warm.objects, cold.objects, strict=True))


async def test_hard_refresh_bypasses_the_cache(
    counted: Renderer, runner: CountingRunner, repo: Path
) -> None:
    source = SOURCES["helm"]
    await counted.render(request(repo, source))
    before = runner.renders
    result = await counted.render(request(repo, source, hard_refresh=True))
    assert runner.renders == before + 1
    assert not result.from_cache
    assert (await counted.render(request(repo, source))).from_cache  # stored anew


@pytest.mark.parametrize(
    "change",
    [
        {"revision": SHA_2},
        {"source": {**SOURCES["helm"], "helm": {"releaseName": "other"}}},
        {"kube_version": "1.30.0"},
        {"api_versions": ("monitoring.coreos.com/v1",)},
    ],
    ids=["commit", "options", "kube-version", "api-versions"],
)
async def test_anything_that_changes_output_changes_the_key(
    counted: Renderer, runner: CountingRunner, repo: Path, change: dict[str, Any]
) -> None:
    await counted.render(request(repo, SOURCES["helm"]))
    before = runner.renders
    source = change.pop("source", SOURCES["helm"])
    revision = change.pop("revision", SHA_1)
    result = await counted.render(request(repo, source, revision, **change))
    assert not result.from_cache
    assert runner.renders == before + 1


async def test_settings_are_part_of_the_key(repo: Path) -> None:
    shared = RenderCache()
    first = await Renderer(cache=shared).render(request(repo, SOURCES["kustomize"]))
    other = Renderer(cache=shared, settings=RenderSettings(kustomize_build_options="--enable-helm"))
    second = await other.render(request(repo, SOURCES["kustomize"]))
    assert not second.from_cache
    assert second.cache_key != first.cache_key


async def test_unknown_revision_is_never_cached(
    counted: Renderer, runner: CountingRunner, repo: Path
) -> None:
    await counted.render(request(repo, SOURCES["helm"], revision=""))
    again = await counted.render(request(repo, SOURCES["helm"], revision=""))
    assert not again.from_cache
    assert runner.renders == 2
    assert counted.cache.stats.entries == 0


async def test_duplicates_across_sources_are_a_warning_and_the_last_wins(
    renderer: Renderer, repo: Path
) -> None:
    (repo / "apps/override").mkdir()
    (repo / "apps/override/config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook-config\n"
        "  namespace: prod\ndata:\n  greeting: overridden\n"
    )
    sources = tuple(
        SourceCheckout(ApplicationSource.from_dict({"repoURL": "r", "path": path}), repo, SHA_1)
        for path in ("apps/guestbook", "apps/override")
    )
    result = await renderer.render(RenderRequest("demo", sources, destination_namespace="prod"))
    key = ResourceKey("", "ConfigMap", "prod", "guestbook-config")
    assert [(w.key, w.count) for w in result.warnings] == [(key, 2)]
    assert result.warnings[0].message == (
        f"Resource {key} appeared 2 times among application resources."
    )
    configs = [o for o in result.objects if o["kind"] == "ConfigMap"]
    assert [dict(c["data"]) for c in configs] == [{"greeting": "overridden"}]
    assert result.objects.index(configs[0]) == 1  # the first position is kept
    assert result.tools == (Tool.DIRECTORY, Tool.DIRECTORY)


async def test_objects_with_only_generate_name_are_never_repeats(
    renderer: Renderer, repo: Path
) -> None:
    (repo / "apps/hooks").mkdir()
    for phase in ("PreSync", "PostSync"):
        (repo / f"apps/hooks/{phase.lower()}.yaml").write_text(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: hook-\n"
            f"  annotations: {{argocd.argoproj.io/hook: {phase}}}\n"
            "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}\n"
        )
    source = ApplicationSource.from_dict({"repoURL": "r", "path": "apps/hooks"})
    result = await renderer.render(
        RenderRequest("demo", (SourceCheckout(source, repo, SHA_1),), destination_namespace="prod")
    )
    assert result.warnings == ()
    hooks = sorted(o["metadata"]["annotations"]["argocd.argoproj.io/hook"] for o in result.objects)
    assert hooks == ["PostSync", "PreSync"]


async def test_errors_name_the_source_path(renderer: Renderer, repo: Path) -> None:
    (repo / "apps/guestbook/broken.yaml").write_text("a: [\n")
    with pytest.raises(RenderError) as caught:
        await renderer.render(request(repo, SOURCES["directory"]))
    assert str(caught.value).startswith(
        "failed to render apps/guestbook: apps/guestbook/broken.yaml"
    )
    assert caught.value.subject == "apps/guestbook"


async def test_build_environment(repo: Path) -> None:
    source = ApplicationSource.from_dict(
        {"repoURL": "https://git.example.com/r.git", "path": "apps/x", "targetRevision": "main"}
    )
    env = RenderRequest(
        "web", (), app_namespace="team-a", kube_version="1.31.0", api_versions=("v1", "apps/v1")
    ).build_env(SourceCheckout(source, repo, "abcdef0123456789"))
    assert env == {
        "ARGOCD_APP_NAME": "web",
        "ARGOCD_APP_NAMESPACE": "team-a",
        "ARGOCD_APP_REVISION": "abcdef0123456789",
        "ARGOCD_APP_REVISION_SHORT": "abcdef0",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/r.git",
        "ARGOCD_APP_SOURCE_PATH": "apps/x",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.31.0",
        "KUBE_API_VERSIONS": "v1,apps/v1",
    }


async def test_revision_reaches_helm_parameters(renderer: Renderer, repo: Path) -> None:
    source = {
        **SOURCES["helm"],
        "helm": {"parameters": [{"name": "extra", "value": "$ARGOCD_APP_REVISION"}]},
    }
    result = await renderer.render(request(repo, source))
    (config,) = [o for o in result.objects if o["kind"] == "ConfigMap"]
    assert config["data"]["extra"] == SHA_1


async def test_jsonnet_files_render_after_the_yaml_files(renderer: Renderer, repo: Path) -> None:
    (repo / "apps/guestbook/extra.jsonnet").write_text(
        "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: std.extVar('name')}}"
    )
    source = {
        "repoURL": "r",
        "path": "apps/guestbook",
        "directory": {"jsonnet": {"extVars": [{"name": "name", "value": "$ARGOCD_APP_NAME-cm"}]}},
    }
    result = await renderer.render(request(repo, source))
    assert result.objects[-1]["metadata"]["name"] == "demo-cm"
    assert len(result.objects) == 6


async def test_sops_documents_are_decrypted_with_configured_keys(repo: Path) -> None:
    (repo / "apps/secrets").mkdir()
    shutil.copy(DATA / "sops/secret-encrypted.yaml", repo / "apps/secrets/secret.yaml")
    source = {"repoURL": "r", "path": "apps/secrets"}
    with pytest.raises(RenderError, match="failed to render apps/secrets"):
        await Renderer().render(request(repo, source))
    identities = parse_identities((DATA / "sops/age-key.txt").read_text())
    result = await Renderer(settings=RenderSettings(sops_identities=identities)).render(
        request(repo, source)
    )
    (secret,) = result.objects
    assert secret["stringData"]["password"] == "correct-horse-battery-staple"
    assert "sops" not in secret


@pytest.fixture
async def charts(tmp_path: Path) -> AsyncIterator[ChartFetcher]:
    fetcher = ChartFetcher(tmp_path / "chart-cache")
    yield fetcher
    await fetcher.aclose()


async def test_chart_from_a_helm_repository(
    chart_repository: ServerState, charts: ChartFetcher, runner: CountingRunner, tmp_path: Path
) -> None:
    renderer = Renderer(toolchain=Toolchain(runner=runner), charts=charts)
    values = tmp_path / "values"
    (values / "envs").mkdir(parents=True)
    (values / "envs/prod.yaml").write_text("tier: from-ref\n")
    chart = ApplicationSource.from_dict(
        {
            "repoURL": f"{chart_repository.base_url}/stable",
            "chart": "demo",
            "targetRevision": "^0.3",
            "helm": {"valueFiles": ["$values/envs/prod.yaml"]},
        }
    )
    ref = ApplicationSource.from_dict({"repoURL": "https://git.example.com/v.git", "ref": "values"})
    req = RenderRequest(
        "demo",
        (SourceCheckout(chart, None), SourceCheckout(ref, values, SHA_1)),
        destination_namespace="prod",
    )
    result = await renderer.render(req)
    (config,) = [o for o in result.objects if o["kind"] == "ConfigMap"]
    assert config["data"]["tier"] == "from-ref"
    assert result.tools == (Tool.HELM,)
    renders = runner.renders
    assert (await renderer.render(req)).from_cache  # version and digest unchanged
    assert runner.renders == renders


async def test_chart_sources_need_a_fetcher(renderer: Renderer) -> None:
    chart = ApplicationSource.from_dict({"repoURL": "https://charts.example.com", "chart": "redis"})
    with pytest.raises(RenderError, match="charts from Helm repositories are not configured"):
        await renderer.render(RenderRequest("demo", (SourceCheckout(chart, None),)))


async def test_plugin_sources_need_plugins(renderer: Renderer, repo: Path) -> None:
    source = {"repoURL": "r", "path": "apps/guestbook", "plugin": {"name": "cue"}}
    with pytest.raises(RenderError, match="config management plugins are not configured"):
        await renderer.render(request(repo, source))


async def test_plugin_sources_run_the_named_plugin(repo: Path) -> None:
    plugins = PluginRenderer(load_plugin_folder(DATA / "plugin/plugins"))
    renderer = Renderer(plugins=plugins)
    source = {"repoURL": "r", "path": "apps/guestbook", "plugin": {"name": "by-file-name"}}
    (repo / "apps/guestbook/main.cue").write_text("package main\n")
    result = await renderer.render(request(repo, source))
    assert [o["metadata"]["name"] for o in result.objects] == ["by-file-name"]
    assert result.tools == (Tool.PLUGIN,)


async def test_lookup_needs_no_checkout(
    counted: Renderer, runner: CountingRunner, repo: Path
) -> None:
    without_checkout = RenderRequest(
        "demo",
        (SourceCheckout(ApplicationSource.from_dict(SOURCES["helm"]), None, SHA_1),),
        destination_namespace="prod",
    )
    assert await counted.lookup(without_checkout) is None
    rendered = await counted.render(request(repo, SOURCES["helm"]))
    renders = runner.renders
    found = await counted.lookup(without_checkout)
    assert found is not None
    assert found.objects == rendered.objects
    assert found.from_cache
    assert runner.renders == renders
    assert await counted.lookup(replace(without_checkout, hard_refresh=True)) is None


async def test_unrelated_changes_carry_the_render_forward(
    counted: Renderer, runner: CountingRunner, repo: Path
) -> None:
    old, new = request(repo, SOURCES["helm"], SHA_1), request(repo, SOURCES["helm"], SHA_2)
    assert await counted.carry_forward(old, new) is None  # nothing cached yet
    rendered = await counted.render(old)
    renders = runner.renders
    # The app says its manifests depend on its own folder; the new commit touched another.
    assert not needs_render(".", ["charts/demo"], ["apps/guestbook/deployment.yaml"])
    carried = await counted.carry_forward(old, new)
    assert carried is not None
    assert carried.objects == rendered.objects
    assert runner.renders == renders
    assert (await counted.render(new)).from_cache


async def test_carry_forward_refuses_changed_options(counted: Renderer, repo: Path) -> None:
    old = request(repo, SOURCES["helm"], SHA_1)
    await counted.render(old)
    other = {**SOURCES["helm"], "helm": {"releaseName": "x"}}
    assert await counted.carry_forward(old, request(repo, other, SHA_2)) is None


async def test_file_system_errors_are_render_errors(renderer: Renderer, repo: Path) -> None:
    source = {"repoURL": "r", "path": "x" * 300}  # longer than a file name may be
    with pytest.raises(RenderError, match="file system error: File name too long"):
        await renderer.render(request(repo, source))


async def test_concurrent_identical_renders_run_the_tool_once(
    counted: Renderer, runner: CountingRunner, repo: Path
) -> None:
    results = await asyncio.gather(
        *(counted.render(request(repo, SOURCES["helm"])) for _ in range(3))
    )
    assert runner.renders == 1
    assert [r.from_cache for r in results].count(False) == 1
    assert all(r.objects == results[0].objects for r in results)


class GaugedRunner(CountingRunner):
    """Counts how many commands run at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.peak = 0

    async def __call__(self, argv: Sequence[str], **kwargs: Any) -> ProcessResult:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            return await super().__call__(argv, **kwargs)
        finally:
            self.active -= 1


async def test_parallelism_limit_bounds_concurrent_tools(repo: Path) -> None:
    gauged = GaugedRunner()
    renderer = Renderer(
        settings=RenderSettings(parallelism_limit=1), toolchain=Toolchain(runner=gauged)
    )
    await renderer.toolchain.version("helm")
    await renderer.toolchain.version("kustomize")
    releases = [{**SOURCES["helm"], "helm": {"releaseName": f"r{i}"}} for i in range(3)]
    await asyncio.gather(*(renderer.render(request(repo, source)) for source in releases))
    assert gauged.renders == 3
    assert gauged.peak == 1
