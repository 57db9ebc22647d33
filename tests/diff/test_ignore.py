"""ignoreDifferences parsing, matching, bounded jq, and RespectIgnoreDifferences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tether.diff import (
    ComparisonError,
    Differ,
    DiffSettings,
    DiffState,
    IgnoreRuleError,
    JqRunner,
    JqTimeoutError,
    ResourceDiff,
    StatusComparison,
    parse_ignore_differences,
)
from tether.diff.ignore import IgnoreRule
from tether.diff.jq import scrub
from tether.model import ResourceKey, SyncStatus

NoLeak = Callable[[list[str], ResourceDiff | str], None]
RUNAWAY = "last(range(1e18))"  # pure CPU: runs until killed, allocates nothing


def deployment(replicas: int, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": replicas, **extra},
    }


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"kind": "Deployment", "jsonPointers": ["spec/replicas"]}, "spec/replicas"),
        ({"kind": "Deployment", "jsonPointers": ["/spec/~2x"]}, "/spec/~2x"),
        (
            {"kind": "Deployment", "jqPathExpressions": [".spec.containers[ |"]},
            ".spec.containers[ |",
        ),
        ({"kind": "Deployment", "jqPathExpressions": "not-a-list"}, "jqPathExpressions"),
        ({"kind": "Deployment", "managedFieldsManagers": [7]}, "managedFieldsManagers"),
    ],
)
def test_bad_rules_are_rejected_by_name(entry: dict[str, Any], named: str) -> None:
    with pytest.raises(IgnoreRuleError) as caught:
        parse_ignore_differences([{"group": "apps", **entry}])
    assert caught.value.rule == named
    assert caught.value.source == "spec.ignoreDifferences[0]"
    assert str(caught.value).startswith("failed to parse ignore rule")


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"resource.customizations.ignoreDifferences.all": "jsonPointers: [nope]"}, "nope"),
        ({"resource.customizations.ignoreDifferences.apps_Deployment": "- a\n- b"}, "<yaml>"),
        ({"resource.customizations.ignoreDifferences.all": "jsonPointers: [\n"}, "<yaml>"),
        ({"resource.compareoptions": "ignoreResourceStatusField: some"}, "some"),
    ],
)
def test_bad_settings_are_rejected_by_name(data: dict[str, str], named: str) -> None:
    with pytest.raises(IgnoreRuleError) as caught:
        DiffSettings.from_config_map(data)
    assert named in caught.value.rule


def test_settings_keys_map_to_group_and_kind() -> None:
    settings = DiffSettings.from_config_map(
        {
            "resource.customizations.ignoreDifferences.apps_Deployment": "jsonPointers: [/a]",
            "resource.customizations.ignoreDifferences.Service": "jsonPointers: [/b]",
            "resource.customizations.ignoreDifferences.all": "managedFieldsManagers: [m]",
            "resource.compareoptions": "ignoreResourceStatusField: none",
            "unrelated.key": "x",
        }
    )
    assert [(r.group, r.kind) for r in settings.ignore] == [
        ("", "Service"),
        ("*", "*"),
        ("apps", "Deployment"),
    ]
    assert settings.status is StatusComparison.IGNORE_NONE


@pytest.mark.parametrize(
    ("rule", "key", "matches"),
    [
        (IgnoreRule("t", "apps", "Deployment"), ResourceKey("apps", "Deployment", "a", "b"), True),
        (IgnoreRule("t", "", "Deployment"), ResourceKey("apps", "Deployment", "a", "b"), False),
        (IgnoreRule("t", "*", "*"), ResourceKey("", "ConfigMap", "a", "b"), True),
        (IgnoreRule("t", "*.k8s.io", "*"), ResourceKey("rbac.k8s.io", "Role", "", "r"), True),
        (IgnoreRule("t", "", "Service", name="b"), ResourceKey("", "Service", "x", "b"), True),
        (
            IgnoreRule("t", "", "Service", namespace="y"),
            ResourceKey("", "Service", "x", "b"),
            False,
        ),
    ],
)
def test_rule_matching(rule: IgnoreRule, key: ResourceKey, matches: bool) -> None:
    assert rule.matches(key) is matches


def test_runaway_jq_expression_fails_that_object_only() -> None:
    rules = parse_ignore_differences(
        [{"group": "apps", "kind": "Deployment", "name": "web", "jqPathExpressions": [RUNAWAY]}]
    )
    other = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "shop"},
    }
    with JqRunner(timeout=0.3) as runner:
        differ = Differ(ignore=rules, jq=runner)
        with pytest.raises(ComparisonError) as caught:
            differ.compare(deployment(1), deployment(1))
        assert isinstance(caught.value.__cause__, JqTimeoutError)
        assert str(caught.value) == (
            "failed to compare apps/Deployment/shop/web: failed to evaluate jq path "
            f"expression {RUNAWAY!r}: timed out after 0.3s"
        )
        changes = differ.compare_app([deployment(1), other], [deployment(1), other])
        # The worker was replaced after the timeout and still answers.
        assert runner.paths(".spec", {"spec": 1}) == [("spec",)]
    assert changes.sync_status is SyncStatus.UNKNOWN
    assert [f.key.kind for f in changes.failures] == ["Deployment"]
    assert [(r.key.kind, r.state) for r in changes.results] == [("ConfigMap", DiffState.SYNCED)]


def test_jq_runtime_errors_select_nothing_and_never_echo_values(
    jq_runner: JqRunner, assert_no_leak: NoLeak
) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    secret["data"] = {"password": "aHVudGVyMg=="}
    assert jq_runner.paths(".data.password[]", secret) == []
    message = scrub('Cannot iterate over string ("aHVudGVyMg==") and object ({"a":1})')
    assert message == "Cannot iterate over string (…) and object (…)"
    assert_no_leak(["hunter2"], message)


def test_respect_ignore_differences_keeps_live_values(jq_runner: JqRunner) -> None:
    rules = parse_ignore_differences(
        [
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
            {
                "group": "apps",
                "kind": "Deployment",
                "jqPathExpressions": ['.spec.template.metadata.annotations["restartedAt"]'],
            },
        ]
    )
    desired = deployment(2, template={"metadata": {"annotations": {"restartedAt": "git"}}})
    live = deployment(5, template={"metadata": {"labels": {"a": "b"}}})
    applied = Differ(ignore=rules, jq=jq_runner).respect_ignore_differences(desired, live)
    # replicas keeps the live value; the annotation, absent live, is not applied at all.
    assert applied["spec"] == {"replicas": 5}
    assert desired["spec"]["replicas"] == 2, "the input is left untouched"


def test_respect_ignore_differences_with_managers(jq_runner: JqRunner) -> None:
    rules = parse_ignore_differences(
        [{"group": "*", "kind": "*", "managedFieldsManagers": ["hpa-controller"]}]
    )
    live = deployment(6)
    live["metadata"]["managedFields"] = [
        {
            "manager": "hpa-controller",
            "operation": "Update",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    ]
    applied = Differ(ignore=rules, jq=jq_runner).respect_ignore_differences(deployment(2), live)
    assert applied["spec"]["replicas"] == 6
    assert Differ(jq=jq_runner).respect_ignore_differences(deployment(2), live) == deployment(2)


def test_jq_syntax_errors_point_into_the_users_expression() -> None:
    with pytest.raises(IgnoreRuleError) as caught:
        parse_ignore_differences([{"kind": "Deployment", "jqPathExpressions": [".a) | (.b"]}])
    assert str(caught.value) == (
        "failed to parse ignore rule '.a) | (.b' in spec.ignoreDifferences[0]: syntax error, "
        "unexpected INVALID_CHARACTER, expecting end of file at <top-level>, line 1, column 3"
    )


INIT_RULE = [
    {
        "group": "apps",
        "kind": "Deployment",
        "jqPathExpressions": [
            '.spec.template.spec.initContainers[] | select(.name == "istio-init")'
        ],
    }
]


def with_init(*containers: dict[str, str]) -> dict[str, Any]:
    return deployment(1, template={"spec": {"initContainers": list(containers)}})


@pytest.mark.parametrize(
    ("desired", "expected"),
    [
        # Absent from Git: the live item is kept, and the item that sits at its live
        # index in the desired list is not overwritten.
        (
            with_init({"name": "setup"}),
            [{"name": "setup"}, {"name": "istio-init", "image": "proxy:live"}],
        ),
        # Declared at another position: that item takes the live value.
        (
            with_init({"name": "setup"}, {"name": "istio-init", "image": "proxy:git"}),
            [{"name": "setup"}, {"name": "istio-init", "image": "proxy:live"}],
        ),
    ],
)
def test_respect_ignore_differences_matches_list_items_by_key(
    desired: dict[str, Any], expected: list[dict[str, str]], jq_runner: JqRunner
) -> None:
    live = with_init({"name": "istio-init", "image": "proxy:live"}, {"name": "setup"})
    differ = Differ(ignore=parse_ignore_differences(INIT_RULE), jq=jq_runner)
    applied = differ.respect_ignore_differences(desired, live)
    assert applied["spec"]["template"]["spec"]["initContainers"] == expected


def test_respect_ignore_differences_drops_ignored_fields_of_new_objects(
    jq_runner: JqRunner,
) -> None:
    desired = with_init({"name": "setup"}, {"name": "istio-init", "image": "proxy:git"})
    differ = Differ(ignore=parse_ignore_differences(INIT_RULE), jq=jq_runner)
    applied = differ.respect_ignore_differences(desired, None)
    assert applied["spec"]["template"]["spec"]["initContainers"] == [{"name": "setup"}]


def test_jq_slices_name_no_single_field(jq_runner: JqRunner) -> None:
    assert jq_runner.paths(".a[1:2]", {"a": [1, 2, 3]}) == []
    assert jq_runner.paths(".a[1]", {"a": [1, 2, 3]}) == [("a", 1)]
