from __future__ import annotations

import copy
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.localcluster.fieldmanager import (
    ApplyConflictError,
    ConfigurationError,
    FieldManagerError,
    ManagedFieldsError,
    Scope,
    managed_fields_of,
    record_update,
    server_side_apply,
)
from tether.localcluster.fieldset import FieldSet, format_path
from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.strategic import json_merge_patch

CASES = Path(__file__).resolve().parents[3] / "testdata" / "localcluster" / "merge" / "apply"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def owners(obj: dict[str, Any]) -> dict[str, list[str]]:
    """Each owned path, printed as the server prints it, with its managers."""
    found: dict[str, list[str]] = defaultdict(list)
    for entry in obj["metadata"].get("managedFields", []):
        for path in FieldSet.from_fields_v1(entry["fieldsV1"]).paths():
            found[format_path(path)].append(entry["manager"])
    return {path: sorted(managers) for path, managers in found.items()}


def assert_contains(actual: Any, expected: Any, where: str = "") -> None:
    """Objects match key by key (extra keys allowed); lists and scalars exactly."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} is missing"
            assert_contains(actual[key], value, f"{where}.{key}")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def lookup(obj: Any, dotted: str) -> bool:
    for name in dotted.split("."):
        if not isinstance(obj, dict) or name not in obj:
            return False
        obj = obj[name]
    return True


def run_step(
    step: dict[str, Any], current: dict[str, Any] | None, registry: SchemaRegistry, schema: Any
) -> dict[str, Any]:
    scope = Scope(step.get("scope", "object"))
    if step["operation"] == "Seed":
        return copy.deepcopy(step["config"])
    if step["operation"] == "Apply":
        return server_side_apply(
            current,
            step["config"],
            manager=step["manager"],
            schema=schema,
            now=NOW,
            force=step.get("force", False),
            scope=scope,
        )
    new = json_merge_patch(current or {}, step["patch"])
    return record_update(
        current,
        new,
        manager=step["manager"],
        schema=schema,
        now=NOW,
        scope=scope,
        subresource=step.get("subresource"),
    )


@pytest.mark.parametrize("path", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_server_side_apply_scenario(path: Path, registry: SchemaRegistry) -> None:
    case = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    schema = registry.lookup(case["apiVersion"], case["kind"])
    current: dict[str, Any] | None = None
    for number, step in enumerate(case["steps"], 1):
        expect = step.get("expect", {})
        if "conflict" in expect:
            with pytest.raises(ApplyConflictError) as raised:
                run_step(step, current, registry, schema)
            assert str(raised.value) == expect["conflict"], f"step {number}"
        else:
            current = run_step(step, current, registry, schema)
        assert current is not None
        assert_contains(current, expect.get("object", {}), f"step {number}")
        for dotted in expect.get("absent", []):
            assert not lookup(current, dotted), f"step {number}: {dotted} should be gone"
        found = owners(current)
        for field, managers in expect.get("owners", {}).items():
            assert found.get(field, []) == managers, f"step {number}: owners of {field}"
        if "managers" in expect:
            assert (
                sorted(e["manager"] for e in current["metadata"]["managedFields"])
                == expect["managers"]
            )
        if "managedFields" in expect:
            entries = [
                {k: v for k, v in e.items() if k != "time"}
                for e in current["metadata"]["managedFields"]
            ]
            assert entries == expect["managedFields"], f"step {number}"


def deployment(replicas: int = 2, image: str = "nginx:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}
                    ]
                },
            },
        },
    }


def test_conflict_error_carries_the_status_causes(registry: SchemaRegistry) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live = server_side_apply(None, deployment(), manager="a", schema=schema, now=NOW)
    with pytest.raises(ApplyConflictError) as raised:
        server_side_apply(
            live, deployment(replicas=9, image="nginx:2"), manager="b", schema=schema, now=NOW
        )
    assert raised.value.causes() == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "a"',
            "field": ".spec.replicas",
        },
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "a"',
            "field": '.spec.template.spec.containers[name="nginx"].image',
        },
    ]


def test_reapplying_an_unchanged_configuration_keeps_the_entry_time(
    registry: SchemaRegistry,
) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    first = server_side_apply(None, deployment(), manager="kubectl", schema=schema, now=NOW)
    again = server_side_apply(
        first, deployment(), manager="kubectl", schema=schema, now=NOW + timedelta(hours=1)
    )
    assert again == first


def test_update_that_changes_nothing_keeps_managed_fields(registry: SchemaRegistry) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live = record_update(None, deployment(), manager="kubectl-create", schema=schema, now=NOW)
    same = record_update(
        live, live, manager="kubectl-edit", schema=schema, now=NOW + timedelta(hours=1)
    )
    assert same["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_update_removing_a_field_takes_it_from_every_owner(registry: SchemaRegistry) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live = server_side_apply(None, deployment(), manager="kubectl", schema=schema, now=NOW)
    edited = copy.deepcopy(live)
    del edited["metadata"]["labels"]
    result = record_update(live, edited, manager="kubectl-edit", schema=schema, now=NOW)
    assert ".metadata.labels.app" not in owners(result)
    assert [e["manager"] for e in result["metadata"]["managedFields"]] == ["kubectl"], (
        "an editor that only removed owns nothing"
    )


def test_requested_managed_fields_replace_the_recorded_ones(registry: SchemaRegistry) -> None:
    schema = registry.lookup("v1", "ConfigMap")
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "1"},
    }
    live = server_side_apply(None, config, manager="kubectl", schema=schema, now=NOW)
    cleared = copy.deepcopy(live)
    cleared["metadata"]["managedFields"] = [{}]
    assert (
        "managedFields"
        not in record_update(live, cleared, manager="x", schema=schema, now=NOW)["metadata"]
    )
    unchanged = copy.deepcopy(live)
    unchanged["metadata"]["managedFields"] = []
    kept = record_update(live, unchanged, manager="x", schema=schema, now=NOW)
    assert kept["metadata"]["managedFields"] == live["metadata"]["managedFields"]


@pytest.mark.parametrize(
    ("managed_fields", "message"),
    [
        ("yes", "must be a list"),
        (["entry"], r"managedFields\[0\] must be an object"),
        ([{"manager": "a", "operation": "Delete", "fieldsV1": {}}], "unsupported value 'Delete'"),
        ([{"manager": "a", "operation": "Apply", "fieldsType": "FieldsV2"}], "must be FieldsV1"),
        (
            [{"manager": "a", "operation": "Apply", "fieldsV1": {"x:spec": {}}}],
            "unknown path element",
        ),
    ],
)
def test_malformed_managed_fields_are_refused(managed_fields: Any, message: str) -> None:
    with pytest.raises(ManagedFieldsError, match=message):
        managed_fields_of({"metadata": {"managedFields": managed_fields}})


def test_apply_refuses_managed_fields_and_a_missing_manager(registry: SchemaRegistry) -> None:
    schema = registry.lookup("v1", "ConfigMap")
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "managedFields": []},
    }
    with pytest.raises(ManagedFieldsError, match="must be nil"):
        server_side_apply(None, config, manager="kubectl", schema=schema, now=NOW)
    with pytest.raises(FieldManagerError, match="fieldManager is required"):
        server_side_apply(
            None, {"apiVersion": "v1", "kind": "ConfigMap"}, manager="", schema=schema, now=NOW
        )


def test_custom_resource_without_schema_merges_maps_and_replaces_lists() -> None:
    first = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"a": 1, "items": [1, 2]},
    }
    live = server_side_apply(None, first, manager="a", schema=None, now=NOW)
    second = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"b": 2},
    }
    merged = server_side_apply(live, second, manager="b", schema=None, now=NOW)
    assert merged["spec"] == {"a": 1, "items": [1, 2], "b": 2}
    assert owners(merged)[".spec.items"] == ["a"]


# -- properties ---------------------------------------------------------------------

_labels = st.dictionaries(
    st.sampled_from(["app", "tier", "team"]), st.sampled_from(["a", "b"]), max_size=3
)
_containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["web", "proxy", "log"])},
        optional={
            "image": st.sampled_from(["x:1", "x:2"]),
            "args": st.lists(st.sampled_from(["-a", "-b"]), max_size=2),
            "env": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["A", "B"]), "value": st.sampled_from(["1", "2"])}
                ),
                max_size=2,
                unique_by=lambda e: e["name"],
            ),
        },
    ),
    max_size=3,
    unique_by=lambda c: c["name"],
)
_configs = st.builds(
    lambda labels, replicas, containers, finalizers: {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels, "finalizers": finalizers},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}},
    },
    _labels,
    st.integers(0, 3),
    _containers,
    st.lists(st.sampled_from(["f/a", "f/b"]), max_size=2, unique=True),
)


@settings(max_examples=60, deadline=None)
@given(first=_configs, second=_configs)
def test_applying_the_same_configuration_twice_is_a_no_op(
    first: dict[str, Any], second: dict[str, Any], registry: SchemaRegistry
) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live = server_side_apply(None, first, manager="a", schema=schema, now=NOW)
    once = server_side_apply(live, second, manager="a", schema=schema, now=NOW)
    twice = server_side_apply(
        once, second, manager="a", schema=schema, now=NOW + timedelta(seconds=5)
    )
    assert twice == once


@settings(max_examples=60, deadline=None)
@given(first=_configs, second=_configs)
def test_a_sole_applier_ends_with_exactly_its_configuration(
    first: dict[str, Any], second: dict[str, Any], registry: SchemaRegistry
) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live = server_side_apply(None, first, manager="a", schema=schema, now=NOW)
    result = server_side_apply(live, second, manager="a", schema=schema, now=NOW)
    expected = server_side_apply(None, second, manager="a", schema=schema, now=NOW)
    assert result == expected


def test_null_in_an_applied_configuration_unsets_the_field_but_is_owned(
    registry: SchemaRegistry,
) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    config = deployment()
    config["spec"]["template"]["metadata"]["creationTimestamp"] = None
    live = server_side_apply(None, config, manager="kubectl", schema=schema, now=NOW)
    assert "creationTimestamp" not in live["spec"]["template"]["metadata"]
    assert owners(live)[".spec.template.metadata.creationTimestamp"] == ["kubectl"]
    unset = deployment()
    unset["spec"]["replicas"] = None
    result = server_side_apply(live, unset, manager="kubectl", schema=schema, now=NOW)
    assert "replicas" not in result["spec"]


def test_map_list_item_without_its_key_is_refused(registry: SchemaRegistry) -> None:
    config = deployment()
    config["spec"]["template"]["spec"]["containers"].append({"image": "sidecar"})
    with pytest.raises(ConfigurationError) as raised:
        server_side_apply(
            None,
            config,
            manager="kubectl",
            schema=registry.lookup("apps/v1", "Deployment"),
            now=NOW,
        )
    assert str(raised.value) == (
        "failed to apply: .spec.template.spec.containers: element 1: associative list "
        'with keys has an element that omits key field "name" (and doesn\'t have default value)'
    )


def test_port_protocol_defaults_when_identifying_list_items(registry: SchemaRegistry) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live = server_side_apply(None, deployment(), manager="kubectl", schema=schema, now=NOW)
    stored = copy.deepcopy(live)
    stored["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"
    again = server_side_apply(stored, deployment(), manager="kubectl", schema=schema, now=NOW)
    assert again["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP"}
    ]
    path = '.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]'
    assert owners(again)[path] == ["kubectl"]


def assert_applied(obj: Any, config: Any, schema: Any) -> None:
    """Every value ``config`` sets is in ``obj``, list items found by their identity."""
    if isinstance(config, dict) and (schema is None or schema.map_type == "granular"):
        assert isinstance(obj, dict)
        for name, value in config.items():
            assert name in obj, name
            assert_applied(obj[name], value, schema.field(name) if schema is not None else None)
    elif isinstance(config, list) and schema is not None and schema.list_type == "map":
        by_key = {tuple(item.get(k) for k in schema.list_map_keys): item for item in obj}
        for item in config:
            assert_applied(
                by_key[tuple(item.get(k) for k in schema.list_map_keys)], item, schema.items()
            )
    elif isinstance(config, list) and schema is not None and schema.list_type == "set":
        assert set(config) <= set(obj)
    else:
        assert obj == config


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), _configs, st.booleans()),
        min_size=1,
        max_size=5,
    )
)
def test_an_accepted_apply_always_leaves_its_configuration_in_place(
    steps: list[tuple[str, dict[str, Any], bool]], registry: SchemaRegistry
) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live: dict[str, Any] | None = None
    for manager, config, force in steps:
        before = copy.deepcopy(live)
        try:
            live = server_side_apply(
                live, config, manager=manager, schema=schema, now=NOW, force=force
            )
        except ApplyConflictError:
            assert not force
            assert live == before, "a refused apply changes nothing"
            continue
        body = {k: v for k, v in config.items() if k != "metadata"}
        assert_applied(live, body, schema)
        assert_applied(live["metadata"], config["metadata"], schema.field("metadata"))
        assert all(entry["fieldsV1"] for entry in live["metadata"].get("managedFields", []))


def test_crd_list_key_defaults_identify_items_that_omit_them() -> None:
    crd = yaml.load(
        (CASES.parent / "customresourcedefinition-widgets.yaml").read_text(),
        Loader=yaml.CSafeLoader,
    )
    registry = SchemaRegistry()
    registry.register_crd(crd)
    schema = registry.lookup("example.com/v1", "Widget")
    config = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"ports": [{"port": 53}]},
    }
    live = server_side_apply(None, config, manager="a", schema=schema, now=NOW)
    assert owners(live)['.spec.ports[port=53,protocol="UDP"].port'] == ["a"]


def resolves(obj: Any, path: tuple[str, ...]) -> bool:
    """True when ``path`` (FieldsV1 elements) names something present in ``obj``."""
    for element in path:
        kind, body = element[0], element[2:]
        if kind == "f":
            if not isinstance(obj, dict) or body not in obj:
                return False
            obj = obj[body]
        elif kind == "k":
            wanted = json.loads(body)
            matches = [
                item
                for item in obj
                if isinstance(item, dict)
                and all(
                    item.get(k, "TCP" if k == "protocol" else None) == v for k, v in wanted.items()
                )
            ]
            if not matches:
                return False
            obj = matches[0]
        elif kind == "v":
            if json.loads(body) not in obj:
                return False
        else:
            return False
    return True


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "editor"]), st.sampled_from(["Apply", "Update"]), _configs
        ),
        min_size=1,
        max_size=6,
    )
)
def test_every_owned_field_exists_after_any_sequence_of_writes(
    steps: list[tuple[str, str, dict[str, Any]]], registry: SchemaRegistry
) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    live: dict[str, Any] | None = None
    for manager, operation, config in steps:
        if operation == "Apply":
            live = server_side_apply(
                live, config, manager=manager, schema=schema, now=NOW, force=True
            )
        else:
            # An editor replaces what it sends wholesale (kubectl replace / edit).
            new = {**(live or {}), **copy.deepcopy(config)}
            new["metadata"] = {
                **config["metadata"],
                "managedFields": (live or {}).get("metadata", {}).get("managedFields"),
            }
            live = record_update(live, new, manager=manager, schema=schema, now=NOW)
        for entry in live["metadata"].get("managedFields", []):
            for path in FieldSet.from_fields_v1(entry["fieldsV1"]).paths():
                assert resolves(live, path), f"{entry['manager']} owns missing {format_path(path)}"
