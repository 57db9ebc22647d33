"""Application: Argo CD's manifests round-trip, engines get the answers they need."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tether.model import (
    Application,
    HookType,
    OperationPhase,
    ResourceKey,
    ResultCode,
    SpecError,
    SyncPhase,
    SyncStatus,
)
from tether.model.status import ConditionType
from tether.model.syncoptions import PropagationPolicy
from tether.model.wire import format_time, parse_time

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "model"
APPLICATIONS = sorted(p.name for p in TESTDATA.glob("application-*.yaml"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TESTDATA / name).read_text())
    return data


@pytest.mark.parametrize("name", APPLICATIONS)
def test_manifest_round_trips_unchanged(name: str) -> None:
    data = load(name)
    assert Application.from_dict(data).to_dict() == data


def test_fixtures_cover_the_documented_forms() -> None:
    assert len(APPLICATIONS) >= 6


def test_single_and_multi_source_read_the_same_way() -> None:
    single = Application.from_dict(load("application-helm.yaml"))
    assert not single.is_multi_source
    assert [s.chart for s in single.sources] == ["ingress-nginx"]
    assert single.spec.rendered_sources == single.sources

    multi = Application.from_dict(load("application-multisource.yaml"))
    assert multi.is_multi_source
    assert len(multi.sources) == 2
    # The `ref` source only lends its files to the chart; it renders nothing itself.
    assert [s.chart for s in multi.spec.rendered_sources] == ["prometheus"]
    assert multi.spec.ref_sources["values"].repo_url.endswith("value-files.git")
    assert multi.spec.project_name == "monitoring"


def test_automation_follows_the_enabled_flag() -> None:
    assert Application.from_dict(load("application-helm.yaml")).is_automated
    # `automated: {enabled: false}` keeps the options but turns automation off.
    assert not Application.from_dict(load("application-kustomize.yaml")).is_automated
    assert not Application.from_dict(load("application-ignoredifferences.yaml")).is_automated


def test_effective_sync_options_merge_the_list_and_compare_options() -> None:
    app = Application.from_dict(load("application-kustomize.yaml"))
    options = app.sync_options
    assert options.apply_out_of_sync_only
    assert options.prune_last
    assert options.prune_propagation_policy is PropagationPolicy.BACKGROUND
    assert options.server_side_diff  # from the compare-options annotation
    assert options.server_side_apply  # tether's default
    assert options.unknown == ()


def test_retry_durations_default_and_parse() -> None:
    helm = Application.from_dict(load("application-helm.yaml"))
    assert helm.spec.sync_policy is not None
    retry = helm.spec.sync_policy.retry
    assert retry is not None
    assert [retry.delay_seconds(n) for n in range(7)] == [5, 10, 20, 40, 80, 160, 180]
    assert retry.allows_retry(4)
    assert not retry.allows_retry(5)

    requested = Application.from_dict(load("application-operation-requested.yaml"))
    assert requested.operation is not None
    unlimited = requested.operation.retry
    assert unlimited is not None
    assert unlimited.allows_retry(10_000)
    assert unlimited.backoff is not None
    assert unlimited.backoff.duration_seconds == 10  # a bare number is seconds
    assert unlimited.backoff.max_duration_seconds == 5400
    assert unlimited.backoff.factor_value == 2


def test_fields_tether_does_not_type_are_kept() -> None:
    data = load("application-helm.yaml")
    del data["spec"]["source"]
    data["spec"]["sourceHydrator"] = {
        "drySource": {"repoURL": "https://example.com/dry.git", "path": "app"},
        "syncSource": {"targetBranch": "environments/dev", "path": "app"},
    }
    data["status"] = {"sourceHydrator": {"currentOperation": {"phase": "Hydrated"}}}
    app = Application.from_dict(data)
    assert app.sources == ()
    assert set(app.spec.extra) == {"sourceHydrator"}
    assert app.to_dict() == data


def test_history_limit_defaults_to_ten() -> None:
    assert Application.from_dict(load("application-helm.yaml")).spec.history_limit == 10
    assert Application.from_dict(load("application-kustomize.yaml")).spec.history_limit == 3


def test_status_is_typed() -> None:
    app = Application.from_dict(load("application-synced.yaml"))
    status = app.status
    assert status.sync_status is SyncStatus.SYNCED
    assert status.health is not None
    assert status.reconciled_at == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    pruned = [r.key for r in status.resources if r.requires_pruning]
    assert pruned == [ResourceKey("", "ConfigMap", "guestbook", "legacy-settings")]
    assert status.resources[1].sync_wave == 1
    assert [c.type for c in status.conditions] == [ConditionType.SHARED_RESOURCE_WARNING]
    assert status.errors == ()
    assert [h.id for h in status.history] == [0, 1]
    assert status.history[1].initiated_by is not None
    assert status.history[1].initiated_by.automated
    assert app.metadata.generation == 7
    assert app.metadata.extra["managedFields"][0]["manager"] == "tether"


def test_operation_state_resumes_exactly() -> None:
    app = Application.from_dict(load("application-synced.yaml"))
    state = app.status.operation_state
    assert state is not None
    assert state.phase is OperationPhase.SUCCEEDED
    assert state.is_completed
    assert state.finished_at == datetime(2024, 5, 1, 10, 2, 10, 250000, tzinfo=UTC)
    assert state.sync_result is not None
    hook, service, _ = state.sync_result.resources
    assert (hook.hook_type, hook.hook_phase, hook.sync_phase, hook.status) == (
        HookType.PRE_SYNC,
        OperationPhase.SUCCEEDED,
        SyncPhase.PRE_SYNC,
        None,
    )
    assert service.status is ResultCode.SYNCED
    # What a crashed controller persisted is what a restarted one reads back.
    persisted = state.to_dict()
    assert type(state).from_dict(copy.deepcopy(persisted)).to_dict() == persisted
    assert persisted["finishedAt"] == "2024-05-01T10:02:10.25Z"


def test_requested_operation_selects_resources() -> None:
    app = Application.from_dict(load("application-operation-requested.yaml"))
    assert app.operation is not None
    sync = app.operation.sync
    assert sync is not None
    assert sync.sync_strategy is not None
    assert (sync.sync_strategy.kind, sync.sync_strategy.force) == ("apply", True)
    assert sync.selects(ResourceKey("apps", "Deployment", "guestbook", "guestbook-ui"))
    assert not sync.selects(ResourceKey("", "Service", "guestbook", "guestbook-ui"))
    assert app.operation.initiated_by is not None
    assert app.operation.initiated_by.username == "alice"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00.000001Z", "2024-05-01T10:00:00.000001Z"),
        (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), "2024-05-01T10:00:00Z"),
    ],
)
def test_times_are_written_as_utc_z(value: Any, written: str) -> None:
    data = load("application-helm.yaml")
    data["status"] = {"reconciledAt": value}
    assert Application.from_dict(data).to_dict()["status"]["reconciledAt"] == written


@given(st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC)))
def test_any_time_survives_a_write_and_a_read(moment: datetime) -> None:
    written = format_time(moment)
    assert written is not None
    assert written.endswith("Z")
    assert parse_time(written, "t") == moment


def _with(path: str, value: Any, base: str = "application-synced.yaml") -> dict[str, Any]:
    """A fixture with one field replaced (``None`` deletes it); list indexes as ``[n]``."""
    data = load(base)
    node: Any = data
    parts = path.replace("[", ".[").split(".")
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node.setdefault(part, {})
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return data


_SOURCE = {"repoURL": "https://example.com/repo.git", "path": "."}
BAD_FIELDS = [
    ("metadata.name", None, "metadata.name"),
    ("apiVersion", "argoproj.io/v1", "apiVersion"),
    ("kind", "AppProject", "kind"),
    ("metadata.labels", {"team": {}}, "metadata.labels.team"),
    ("metadata.creationTimestamp", "yesterday", "metadata.creationTimestamp"),
    ("spec.destination", None, "spec.destination"),
    ("spec.source", None, "spec.source"),
    ("spec.destination.name", "in-cluster", "spec.destination"),
    ("spec.sources", [_SOURCE, {"path": "x"}], "spec.sources[1].repoURL"),
    ("spec.source.helm", {"valueFiles": "values.yaml"}, "spec.source.helm.valueFiles"),
    ("spec.syncPolicy.automated.prune", "yes", "spec.syncPolicy.automated.prune"),
    ("spec.syncPolicy.syncOptions", "Prune=false", "spec.syncPolicy.syncOptions"),
    ("spec.syncPolicy.syncOptions", ["A=b", {}], "spec.syncPolicy.syncOptions[1]"),
    ("spec.syncPolicy.retry", {"limit": "five"}, "spec.syncPolicy.retry.limit"),
    (
        "spec.syncPolicy.retry",
        {"backoff": {"duration": "soon"}},
        "spec.syncPolicy.retry.backoff.duration",
    ),
    ("spec.syncPolicy.retry", {"backoff": {"factor": 1.5}}, "spec.syncPolicy.retry.backoff.factor"),
    ("spec.ignoreDifferences", [{"group": "apps"}], "spec.ignoreDifferences[0].kind"),
    (
        "spec.ignoreDifferences",
        [{"kind": "Deployment", "jsonPointers": "/spec"}],
        "spec.ignoreDifferences[0].jsonPointers",
    ),
    ("spec.revisionHistoryLimit", -1, "spec.revisionHistoryLimit"),
    ("spec.revisionHistoryLimit", "ten", "spec.revisionHistoryLimit"),
    ("spec.info", ["Docs"], "spec.info[0]"),
    ("status.sync.status", "Green", "status.sync.status"),
    ("status.health.status", "Fine", "status.health.status"),
    ("status.conditions", [{"message": "m"}], "status.conditions[0].type"),
    ("status.history[0].deployedAt", None, "status.history[0].deployedAt"),
    ("status.operationState.phase", None, "status.operationState.phase"),
    ("status.operationState.startedAt", "yesterday", "status.operationState.startedAt"),
    (
        "status.operationState.syncResult.resources[0].hookType",
        "Before",
        "status.operationState.syncResult.resources[0].hookType",
    ),
    (
        "status.operationState.operation.sync.syncStrategy",
        {"apply": {}, "hook": {}},
        "status.operationState.operation.sync.syncStrategy",
    ),
    (
        "status.operationState.operation.sync.resources",
        [{"kind": "Deployment"}],
        "status.operationState.operation.sync.resources[0].name",
    ),
]


@pytest.mark.parametrize(("field", "value", "path"), BAD_FIELDS, ids=[c[2] for c in BAD_FIELDS])
def test_bad_fields_are_reported_by_path(field: str, value: Any, path: str) -> None:
    with pytest.raises(SpecError) as caught:
        Application.from_dict(_with(field, value))
    assert caught.value.path == path
    assert str(caught.value).startswith(f"invalid {path}: ")
