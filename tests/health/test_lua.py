"""Custom Lua health checks: Argo CD's two formats, lookup order, the sandbox."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.health import (
    CustomizationError,
    HealthOverrides,
    Limits,
    LuaSandbox,
    ScriptError,
    assess_health,
    load_overrides,
)
from tether.model import Health, HealthStatus

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "health"
SETTINGS = TESTDATA / "settings" / "argocd-cm.yaml"
CUSTOMIZATIONS = TESTDATA / "customizations"
VIOLATIONS_SETTINGS = TESTDATA / "settings" / "violations.yaml"
VIOLATIONS_DIRECTORY = TESTDATA / "violations"

H, S, P, D, U = (
    HealthStatus.HEALTHY,
    HealthStatus.SUSPENDED,
    HealthStatus.PROGRESSING,
    HealthStatus.DEGRADED,
    HealthStatus.UNKNOWN,
)


def fixture(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((TESTDATA / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def settings_data(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())["data"]
    assert isinstance(data, dict)
    return data


def custom(api_version: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "sample"}, **fields}


@pytest.fixture(scope="module")
def from_settings() -> HealthOverrides:
    return HealthOverrides.from_settings(settings_data(SETTINGS))


@pytest.fixture(scope="module")
def from_directory() -> HealthOverrides:
    return HealthOverrides.from_directory(CUSTOMIZATIONS)


# --- settings ConfigMap --------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        # per-kind key, closed libraries; wins over the nested key for the same kind
        (
            fixture("certificate-healthy.yaml"),
            Health(H, "Certificate is up to date and has not expired"),
        ),
        (
            fixture("certificate-degraded.yaml"),
            Health(D, "Issuing certificate as Secret does not exist"),
        ),
        (fixture("certificate-none.yaml"), Health(P, "Waiting for certificate")),
        # useOpenLibs opens string for one kind ...
        (
            custom(
                "monitoring.coreos.com/v1",
                "Prometheus",
                spec={"replicas": 3},
                status={"availableReplicas": 2},
            ),
            Health(H, "2/3 replicas available"),
        ),
        # ... and only for that kind
        (
            custom("monitoring.coreos.com/v1", "Alertmanager", spec={"replicas": 3}),
            Health(
                U,
                "failed to run health check resource.customizations.health."
                "monitoring.coreos.com_Alertmanager: health.lua:1: attempt to index global "
                "'string' (a nil value)",
            ),
        ),
        # the core group is keyed by the kind alone; a custom check gives kinds without a
        # built-in one a verdict
        (fixture("configmap-none.yaml"), Health(H, "config web-config")),
        # nested key with wildcards, open libraries
        (custom("ec2.aws.upbound.io/v1beta1", "VPC"), Health(D, "all aws resources")),
        (custom("s3.aws.upbound.io/v1beta2", "Bucket"), Health(D, "all aws resources")),
        # Argo CD's documented app-of-apps script, from the nested key
        (
            fixture("application-degraded.yaml"),
            Health(D, 'Deployment "web" exceeded its progress deadline'),
        ),
        (fixture("application-progressing.yaml"), Health(P)),
        # an entry with other customizations only leaves the built-in check in place
        (fixture("deployment-suspended.yaml"), Health(S, "Deployment is paused")),
    ],
    ids=[
        "per-kind-healthy",
        "per-kind-degraded",
        "per-kind-progressing",
        "open-libs",
        "closed-libs",
        "core-kind",
        "nested-wildcard",
        "nested-wildcard-other-kind",
        "nested-application-degraded",
        "nested-application-progressing",
        "no-health-script",
    ],
)
def test_settings_checks(
    from_settings: HealthOverrides, obj: dict[str, Any], expected: Health
) -> None:
    assert assess_health(obj, overrides=from_settings) == expected


def test_all_key_means_every_kind_of_a_named_group() -> None:
    # "all" is the key "*/*", which (as in Argo CD) cannot match a core kind's key "Pod".
    overrides = HealthOverrides.from_settings(
        {"resource.customizations.health.all": 'return {status = "Suspended"}'}
    )
    assert assess_health(fixture("job-healthy.yaml"), overrides=overrides) == Health(S)
    assert assess_health(fixture("pod-healthy.yaml"), overrides=overrides) == Health(H)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"resource.customizations.useOpenLibs.example.com_Widget": "maybe"},
            "failed to load health customization resource.customizations.useOpenLibs."
            "example.com_Widget: 'maybe' is not a boolean",
        ),
        (
            {"resource.customizations.health.a_b_c": "return {}"},
            "failed to load health customization resource.customizations.health.a_b_c: "
            "expected <group>_<Kind> or <Kind> after the type",
        ),
        (
            {"resource.customizations": "example.com/Widget: [unclosed"},
            "failed to load health customization resource.customizations: not valid YAML",
        ),
        (
            {"resource.customizations": "- a list"},
            "failed to load health customization resource.customizations: expected a map",
        ),
        (
            {"resource.customizations": "example.com/Widget:\n  health.lua: 42\n"},
            "failed to load health customization resource.customizations[example.com/Widget]: "
            "health.lua must be a string",
        ),
    ],
)
def test_unusable_settings_are_refused_with_the_key(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(CustomizationError) as caught:
        HealthOverrides.from_settings(data)
    assert str(caught.value).startswith(problem)


# --- customizations directory ---------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        # exact path, open libraries like Argo CD's bundled scripts
        (
            fixture("certificate-healthy.yaml"),
            Health(
                H, "Certificate is up to date and has not expired (renews 2026-05-01T09:14:27Z)"
            ),
        ),
        # `_.crossplane.io/_`: any kind of any group ending in .crossplane.io
        (
            custom(
                "ec2.aws.crossplane.io/v1beta1",
                "VPC",
                status={
                    "conditions": [
                        {"type": "Synced", "status": "True"},
                        {"type": "Ready", "status": "True"},
                    ]
                },
            ),
            Health(H, "Resource is available for use (2 conditions)"),
        ),
        (
            custom(
                "database.gcp.crossplane.io/v1beta1",
                "CloudSQLInstance",
                status={
                    "conditions": [
                        {"type": "Synced", "status": "False", "message": "cannot connect"}
                    ]
                },
            ),
            Health(D, "cannot connect"),
        ),
        # of two matching wildcard paths, the first in sorted order wins
        (
            custom("s3.aws.crossplane.io/v1beta1", "Bucket"),
            Health(S, "bucket sample is managed by hand"),
        ),
        # a custom check replaces the built-in one
        (fixture("service-progressing.yaml"), Health(H, "LOADBALANCER")),
        # kinds without a script keep the built-in check
        (
            fixture("deployment-degraded.yaml"),
            Health(D, 'Deployment "web" exceeded its progress deadline'),
        ),
        # `_` matches within a name, not an empty group: core kinds are not crossplane's
        (fixture("configmap-none.yaml"), None),
    ],
    ids=[
        "exact",
        "wildcard-healthy",
        "wildcard-degraded",
        "first-wildcard",
        "overrides-builtin",
        "builtin",
        "no-match",
    ],
)
def test_directory_checks(
    from_directory: HealthOverrides, obj: dict[str, Any], expected: Health | None
) -> None:
    assert assess_health(obj, overrides=from_directory) == expected


def test_settings_win_over_the_directory() -> None:
    overrides = load_overrides(settings=settings_data(SETTINGS), directory=CUSTOMIZATIONS)
    assert assess_health(fixture("certificate-healthy.yaml"), overrides=overrides) == Health(
        H, "Certificate is up to date and has not expired"
    )
    assert assess_health(fixture("service-progressing.yaml"), overrides=overrides) == Health(
        H, "LOADBALANCER"
    )


def test_a_directory_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CustomizationError, match="not a directory"):
        HealthOverrides.from_directory(tmp_path / "absent")


def test_a_script_linked_from_outside_the_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.lua"
    outside.write_text('return {status = "Healthy"}')
    kind = tmp_path / "root" / "example.com" / "Widget"
    kind.mkdir(parents=True)
    (kind / "health.lua").symlink_to(outside)
    with pytest.raises(CustomizationError, match="resolves outside the customizations directory"):
        HealthOverrides.from_directory(tmp_path / "root")


# --- the sandbox ---------------------------------------------------------------------

VIOLATIONS = {
    "OsExecute": "health.lua:1: attempt to call field 'execute' (a nil value)",
    "OsGetenv": "health.lua:1: attempt to call field 'getenv' (a nil value)",
    "IoOpen": "health.lua:1: attempt to index global 'io' (a nil value)",
    "Require": "health.lua:1: attempt to call global 'require' (a nil value)",
    "LoadString": "health.lua:1: attempt to call global 'loadstring' (a nil value)",
    "DoFile": "health.lua:1: attempt to call global 'dofile' (a nil value)",
    "Debug": "health.lua:1: attempt to index global 'debug' (a nil value)",
    "StringDump": "health.lua:1: attempt to call field 'dump' (a nil value)",
    "InfiniteLoop": "instruction limit exceeded",
    "SwallowedLoop": "instruction limit exceeded",
    "MemoryBomb": "memory limit exceeded",
    "Error": "health.lua:1: certificate store unreachable",
    "SyntaxError": "health.lua:2: '}' expected (to close '{' at line 1) near '<eof>'",
}
BAD_RESULTS = {
    "ReturnString": "expect table output from Lua script, not string",
    "ReturnNothing": "expect table output from Lua script, not nil",
    "BadStatus": "Lua returned an invalid health status",
}


@pytest.fixture(scope="module")
def violation_layouts() -> dict[str, tuple[HealthOverrides, str]]:
    """Both formats, each with the prefix its failure messages carry."""
    return {
        "settings": (
            HealthOverrides.from_settings(settings_data(VIOLATIONS_SETTINGS)),
            "resource.customizations.health.violations.example.com_{kind}",
        ),
        "directory": (
            HealthOverrides.from_directory(VIOLATIONS_DIRECTORY),
            str(VIOLATIONS_DIRECTORY / "violations.example.com" / "{kind}" / "health.lua"),
        ),
    }


@pytest.mark.parametrize("layout", ["settings", "directory"])
@pytest.mark.parametrize(("kind", "cause"), VIOLATIONS.items(), ids=list(VIOLATIONS))
def test_sandbox_violations_are_unknown_with_the_reason(
    violation_layouts: dict[str, tuple[HealthOverrides, str]], layout: str, kind: str, cause: str
) -> None:
    overrides, source = violation_layouts[layout]
    verdict = assess_health(custom("violations.example.com/v1", kind), overrides=overrides)
    expected = f"failed to run health check {source.format(kind=kind)}: {cause}"
    assert verdict == Health(U, expected)


@pytest.mark.parametrize("layout", ["settings", "directory"])
@pytest.mark.parametrize(("kind", "message"), BAD_RESULTS.items(), ids=list(BAD_RESULTS))
def test_bad_results_are_unknown_with_argo_cds_message(
    violation_layouts: dict[str, tuple[HealthOverrides, str]], layout: str, kind: str, message: str
) -> None:
    overrides, _ = violation_layouts[layout]
    verdict = assess_health(custom("violations.example.com/v1", kind), overrides=overrides)
    assert verdict == Health(U, message)


def test_no_violation_touched_the_filesystem() -> None:
    assert not Path("/tmp/tether-pwned").exists()


def run(
    script: str, obj: dict[str, Any], *, open_libs: bool = True, sandbox: LuaSandbox | None = None
) -> Any:
    checks = HealthOverrides.from_settings(
        {
            "resource.customizations.health.example.com_Widget": script,
            "resource.customizations.useOpenLibs.example.com_Widget": str(open_libs).lower(),
        },
        sandbox=sandbox,
    )
    return assess_health(
        {"apiVersion": "example.com/v1", "kind": "Widget", **obj}, overrides=checks
    )


def test_objects_reach_lua_with_argo_cd_semantics() -> None:
    obj = {
        "metadata": {"name": "w", "labels": None},
        "spec": {"ports": [80, 443], "enabled": True, "ratio": 0.5, "nested": [{"a": [1, 2, 3]}]},
    }
    script = """
    local s = obj.spec
    local checks = {
      #s.ports == 2, s.ports[1] == 80, s.ports[2] == 443, s.ports[0] == nil,
      s.enabled == true, s.ratio == 0.5, #s.nested[1].a == 3, s.nested[1].a[3] == 3,
      obj.metadata.labels == nil, obj.status == nil, type(s.ports) == "table",
    }
    for i, ok in ipairs(checks) do
      if not ok then return {status = "Degraded", message = "check " .. i} end
    end
    return {status = "Healthy", message = obj.metadata.name}
    """
    assert run(script, obj) == Health(H, "w")


def test_each_run_gets_a_fresh_environment() -> None:
    sandbox = LuaSandbox()
    polluting = 'leaked = "yes"; table.insert = nil; return {status = "Healthy"}'
    reading = 'return {status = "Healthy", message = tostring(leaked) .. " " .. type(table.insert)}'
    assert run(polluting, {}, sandbox=sandbox) == Health(H)
    assert run(reading, {}, sandbox=sandbox) == Health(H, "nil function")


def test_the_string_metatable_cannot_be_reached() -> None:
    script = 'getmetatable("").__index.upper = nil; return {status = "Healthy"}'
    verdict = run(script, {})
    assert verdict.status is U
    assert "attempt to index a boolean value" in verdict.message


def test_binary_chunks_are_refused() -> None:
    with pytest.raises(ScriptError, match="binary chunks are not accepted"):
        LuaSandbox().compile("\x1bLua\x51\x00")


def test_scripts_compile_once_per_text() -> None:
    sandbox = LuaSandbox(cache_size=2)
    script = 'return {status = "Healthy"}'
    for _ in range(3):
        assert run(script, {}, sandbox=sandbox) == Health(H)
    assert sandbox.cached_scripts == 1
    for index in range(3):
        run(f'return {{status = "Healthy", message = "{index}"}}', {}, sandbox=sandbox)
    assert sandbox.cached_scripts == 2


def test_limits_are_configurable() -> None:
    loop = 'local n = 0; for i = 1, 100000 do n = n + i end; return {status = "Healthy"}'
    assert run(loop, {}, sandbox=LuaSandbox()) == Health(H)
    tight = LuaSandbox(Limits(max_instructions=10_000))
    verdict = run(loop, {}, sandbox=tight)
    assert verdict.status is U
    assert verdict.message.endswith("instruction limit exceeded")


def test_the_sandbox_keeps_working_after_exhausting_its_budgets() -> None:
    sandbox = LuaSandbox(Limits(max_memory=4 * 1024 * 1024))
    bomb = 'local t = {}; while true do t[#t + 1] = "xxxxxxxxxxxxxxxxxxxxxx" .. #t end'
    for _ in range(3):
        assert run(bomb, {}, sandbox=sandbox).message.endswith("memory limit exceeded")
        assert run('return {status = "Healthy"}', {}, sandbox=sandbox) == Health(H)


def test_open_libraries_and_safe_os_functions() -> None:
    script = """
    local year = os.date("!%Y", 0)
    local text = string.format("%s %d %s", year, math.floor(2.7), ("ab"):rep(2))
    return {status = "Healthy", message = text}
    """
    assert run(script, {}) == Health(H, "1970 2 abab")
    unsafe_format = 'return {status = "Healthy", message = os.date("%Ez")}'
    assert "invalid conversion" in run(unsafe_format, {}).message


def test_cpu_time_is_bounded_like_argo_cds_timeout() -> None:
    sandbox = LuaSandbox(Limits(max_instructions=10**12, max_seconds=0.05))
    verdict = run("while true do end", {}, sandbox=sandbox)
    assert verdict.status is U
    assert verdict.message.endswith("time limit exceeded")


class Opaque:
    def __str__(self) -> str:
        return "opaque"


def test_only_json_values_reach_lua() -> None:
    obj = {
        "spec": {
            "when": datetime.datetime(2026, 3, 2, 9, 14, 27, tzinfo=datetime.UTC),
            "thing": Opaque(),
            "pair": (1, 2),
        }
    }
    script = """
    local s = obj.spec
    local parts = {type(s.when), s.when, type(s.thing), s.thing, #s.pair}
    return {status = "Healthy", message = table.concat(parts, " ")}
    """
    assert run(script, obj) == Health(H, "string 2026-03-02T09:14:27Z string opaque 2")


def test_a_metatable_on_the_result_runs_nothing_outside_the_budget() -> None:
    script = """
    local trap = function() while true do end end
    return setmetatable({}, {__index = trap})
    """
    assert run(script, {}) == Health(U, "Lua returned an invalid health status")
    script = 'return setmetatable({status = "Healthy"}, {__index = function() return 1 end})'
    assert run(script, {}) == Health(H)


def test_a_message_that_is_not_a_string_is_unknown() -> None:
    verdict = run('return {status = "Healthy", message = 42}', {})
    assert verdict == Health(U, "Lua returned a health message that is not a string")


def test_integers_beyond_64_bits_reach_lua_as_numbers() -> None:
    script = """
    local size = obj.spec.size
    return {status = "Healthy", message = type(size) .. " " .. tostring(size > 1e20)}
    """
    assert run(script, {"spec": {"size": 2**70}}) == Health(H, "number true")
