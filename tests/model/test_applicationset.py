"""ApplicationSet: round trips, shared generator parts, rollout steps, rendered templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.model import (
    ApplicationSet,
    ApplicationsSync,
    AppSetConditionType,
    RollingSyncStep,
    SpecError,
    application_from_template,
)

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "model"
APPLICATION_SETS = sorted(p.name for p in TESTDATA.glob("applicationset-*.yaml"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TESTDATA / name).read_text())
    return data


@pytest.mark.parametrize("name", APPLICATION_SETS)
def test_manifest_round_trips_unchanged(name: str) -> None:
    data = load(name)
    assert ApplicationSet.from_dict(data).to_dict() == data


def test_generator_independent_parts_are_parsed() -> None:
    (git,) = ApplicationSet.from_dict(load("applicationset-git.yaml")).spec.generators
    assert git.type == "git"
    assert git.values == {"cluster": "in-cluster"}
    assert git.body["revision"] == "HEAD"

    (matrix,) = ApplicationSet.from_dict(load("applicationset-matrix.yaml")).spec.generators
    assert matrix.type == "matrix"
    assert matrix.selector is not None
    assert matrix.selector["matchExpressions"][0]["operator"] == "NotIn"
    assert [child.type for child in matrix.children] == ["git", "clusters"]
    clusters = matrix.children[1]
    assert clusters.template is not None
    assert clusters.template["metadata"]["labels"] == {"tier": "cluster-addon"}


def test_template_stays_raw_with_placeholders() -> None:
    appset = ApplicationSet.from_dict(load("applicationset-git.yaml"))
    assert appset.spec.template["metadata"]["name"] == "{{path.basename}}"
    # Not a boolean yet: only the rendered template is an Application.
    assert appset.spec.template["spec"]["syncPolicy"]["automated"]["prune"] == "{{prune}}"
    assert appset.spec.template_patch.startswith("spec:")
    assert appset.spec.preserved_fields == {"annotations": ("notified-by",)}


def test_fields_tether_does_not_type_are_kept() -> None:
    data = load("applicationset-matrix.yaml")
    data["spec"]["applyNestedSelectors"] = True
    appset = ApplicationSet.from_dict(data)
    assert appset.spec.extra == {"applyNestedSelectors": True}
    assert appset.to_dict() == data


def test_sync_policy() -> None:
    listed = ApplicationSet.from_dict(load("applicationset-list.yaml")).spec
    assert listed.go_template
    assert listed.go_template_options == ("missingkey=error",)
    assert listed.sync_policy is not None
    policy = listed.sync_policy.effective_applications_sync
    assert policy is ApplicationsSync.CREATE_UPDATE
    assert (policy.may_update, policy.may_delete) == (True, False)
    assert listed.sync_policy.preserve_resources_on_deletion
    unrestricted = ApplicationSet.from_dict(load("applicationset-git.yaml")).spec
    assert unrestricted.sync_policy is None
    assert ApplicationsSync.SYNC.may_delete


def test_rolling_sync_steps_select_and_limit() -> None:
    appset = ApplicationSet.from_dict(load("applicationset-rollingsync.yaml"))
    assert appset.spec.is_progressive
    assert appset.spec.strategy is not None
    dev, qa, prod = appset.spec.strategy.steps
    assert dev.selects({"envLabel": "env-dev"})
    assert not dev.selects({"envLabel": "env-qa"})
    assert not dev.selects({})
    assert (dev.max_updates(4), qa.max_updates(4), prod.max_updates(30)) == (4, 0, 3)
    status = appset.status
    assert status.resources_count == 3
    rolling = status.condition(AppSetConditionType.ROLLING_SYNC)
    assert rolling is not None
    assert rolling.reason == "ApplicationSetRolloutProgressing"
    assert [a.status for a in status.application_status] == ["Healthy", "Waiting"]


@pytest.mark.parametrize(
    ("max_update", "total", "allowed"),
    [
        (None, 7, 7),
        (0, 7, 0),
        (2, 7, 2),
        ("0%", 7, 0),
        ("10%", 3, 1),
        ("50%", 5, 2),
        ("100%", 5, 5),
    ],
)
def test_max_updates(max_update: int | str | None, total: int, allowed: int) -> None:
    assert RollingSyncStep(max_update=max_update).max_updates(total) == allowed


def test_not_in_matches_missing_labels() -> None:
    data = load("applicationset-rollingsync.yaml")
    data["spec"]["strategy"]["rollingSync"]["steps"][0]["matchExpressions"][0]["operator"] = "NotIn"
    strategy = ApplicationSet.from_dict(data).spec.strategy
    assert strategy is not None
    step = strategy.steps[0]
    assert step.selects({})
    assert not step.selects({"envLabel": "env-dev"})


def test_a_rendered_template_is_an_application() -> None:
    rendered = {
        "metadata": {"name": "engineering-dev-guestbook", "labels": {"envLabel": "env-dev"}},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://github.com/org/deploy.git", "path": "guestbook/dev"},
            "destination": {"server": "https://1.2.3.4", "namespace": "guestbook"},
            "syncPolicy": {"automated": {"prune": True}},
        },
    }
    app = application_from_template(rendered, namespace="argocd")
    assert app.qualified_name == "argocd/engineering-dev-guestbook"
    assert app.is_automated
    assert app.spec.destination.server == "https://1.2.3.4"


def test_a_bad_rendered_template_names_the_template_field() -> None:
    rendered = {
        "metadata": {"name": "a"},
        "spec": {"source": {"repoURL": "r"}, "syncPolicy": {"automated": {"prune": "{{prune}}"}}},
    }
    with pytest.raises(SpecError) as caught:
        application_from_template(rendered, namespace="argocd")
    assert caught.value.path == "template.spec.destination"
    rendered["spec"]["destination"] = {"server": "https://x"}
    with pytest.raises(SpecError) as caught:
        application_from_template(rendered, namespace="argocd")
    assert caught.value.path == "template.spec.syncPolicy.automated.prune"


def _spec_with(**changes: Any) -> dict[str, Any]:
    data = load("applicationset-list.yaml")
    for key, value in changes.items():
        if value is None:
            data["spec"].pop(key)
        else:
            data["spec"][key] = value
    return data


_LIST = {"list": {"elements": []}}
_GIT = {"git": {"repoURL": "r", "revision": "HEAD"}}
BAD_FIELDS = [
    ({"generators": None}, "spec.generators"),
    ({"generators": []}, "spec.generators"),
    ({"generators": [{"teleport": {}}]}, "spec.generators[0]"),
    ({"generators": [{"list": {}, "git": {}}]}, "spec.generators[0]"),
    ({"generators": [{"selector": {}}]}, "spec.generators[0]"),
    ({"generators": [{"matrix": {"generators": [_LIST]}}]}, "spec.generators[0].matrix.generators"),
    (
        {"generators": [{"matrix": {"generators": [_LIST, {"oops": {}}]}}]},
        "spec.generators[0].matrix.generators[1]",
    ),
    (
        {"generators": [{"merge": {"generators": [_LIST, _GIT]}}]},
        "spec.generators[0].merge.mergeKeys",
    ),
    ({"generators": [{"git": {"values": {"a": []}}}]}, "spec.generators[0].git.values.a"),
    ({"generators": [{"list": {}, "selector": "env=dev"}]}, "spec.generators[0].selector"),
    ({"template": None}, "spec.template"),
    ({"goTemplate": "yes"}, "spec.goTemplate"),
    ({"syncPolicy": {"applicationsSync": "create-all"}}, "spec.syncPolicy.applicationsSync"),
    ({"strategy": {"type": "Canary"}}, "spec.strategy.type"),
    ({"strategy": {"type": "RollingSync"}}, "spec.strategy.rollingSync.steps"),
    (
        {"strategy": {"type": "RollingSync", "rollingSync": {"steps": [{"maxUpdate": "ten"}]}}},
        "spec.strategy.rollingSync.steps[0].maxUpdate",
    ),
    (
        {"strategy": {"type": "RollingSync", "rollingSync": {"steps": [{"maxUpdate": -1}]}}},
        "spec.strategy.rollingSync.steps[0].maxUpdate",
    ),
    (
        {
            "strategy": {
                "type": "RollingSync",
                "rollingSync": {
                    "steps": [{"matchExpressions": [{"key": "env", "operator": "Exists"}]}]
                },
            }
        },
        "spec.strategy.rollingSync.steps[0].matchExpressions[0].operator",
    ),
    ({"preservedFields": {"labels": "team"}}, "spec.preservedFields.labels"),
]


@pytest.mark.parametrize(("changes", "path"), BAD_FIELDS, ids=[c[1] for c in BAD_FIELDS])
def test_bad_fields_are_reported_by_path(changes: dict[str, Any], path: str) -> None:
    with pytest.raises(SpecError) as caught:
        ApplicationSet.from_dict(_spec_with(**changes))
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("status", "path"),
    [
        (
            {"conditions": [{"type": "ErrorOccurred", "status": "Maybe"}]},
            "status.conditions[0].status",
        ),
        ({"conditions": [{"status": "True"}]}, "status.conditions[0].type"),
        ({"applicationStatus": [{"status": "Healthy"}]}, "status.applicationStatus[0].application"),
        ({"resourcesCount": "three"}, "status.resourcesCount"),
    ],
)
def test_bad_status_fields_are_reported_by_path(status: dict[str, Any], path: str) -> None:
    data = load("applicationset-list.yaml") | {"status": status}
    with pytest.raises(SpecError) as caught:
        ApplicationSet.from_dict(data)
    assert caught.value.path == path
