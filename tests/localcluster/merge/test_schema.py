from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.localcluster.schema import (
    GroupVersionKind,
    ListType,
    MapType,
    Schema,
    SchemaError,
    SchemaRegistry,
)

CRD = (
    Path(__file__).resolve().parents[3]
    / "testdata"
    / "localcluster"
    / "merge"
    / "customresourcedefinition-widgets.yaml"
)


def walk(schema: Schema | None, path: str) -> Schema:
    """Follow a dotted path; ``[]`` steps into list items."""
    for step in path.split("."):
        assert schema is not None, f"no schema before {step}"
        if step.endswith("[]"):
            schema = schema.field(step[:-2])
            assert schema is not None
            schema = schema.items()
        else:
            schema = schema.field(step)
    assert schema is not None, path
    return schema


@pytest.mark.parametrize(
    ("api_version", "kind", "path", "list_type", "keys", "merge_key", "strategies"),
    [
        ("v1", "Pod", "spec.containers", ListType.MAP, ("name",), "name", {"merge"}),
        (
            "v1",
            "Pod",
            "spec.containers[].ports",
            ListType.MAP,
            ("containerPort", "protocol"),
            "containerPort",
            {"merge"},
        ),
        ("v1", "Pod", "spec.containers[].env", ListType.MAP, ("name",), "name", {"merge"}),
        ("v1", "Pod", "spec.volumes", ListType.MAP, ("name",), "name", {"merge", "retainKeys"}),
        ("v1", "Pod", "spec.tolerations", ListType.ATOMIC, (), None, set()),
        ("v1", "Pod", "spec.containers[].args", ListType.ATOMIC, (), None, set()),
        ("v1", "Service", "spec.ports", ListType.MAP, ("port", "protocol"), "port", {"merge"}),
        ("apps/v1", "Deployment", "metadata.finalizers", ListType.SET, (), None, {"merge"}),
        (
            "apps/v1",
            "Deployment",
            "metadata.ownerReferences",
            ListType.MAP,
            ("uid",),
            "uid",
            {"merge"},
        ),
    ],
)
def test_lists_carry_their_merge_semantics(
    registry: SchemaRegistry,
    api_version: str,
    kind: str,
    path: str,
    list_type: ListType,
    keys: tuple[str, ...],
    merge_key: str | None,
    strategies: set[str],
) -> None:
    node = walk(registry.lookup(api_version, kind), path)
    assert (
        node.list_type,
        node.list_map_keys,
        node.patch_merge_key,
        set(node.patch_strategies),
    ) == (list_type, keys, merge_key, strategies)


@pytest.mark.parametrize(
    ("path", "map_type", "is_map"),
    [
        ("spec.selector", MapType.ATOMIC, False),
        ("metadata.labels", MapType.GRANULAR, True),
        ("metadata.annotations", MapType.GRANULAR, True),
        ("spec.template.spec", MapType.GRANULAR, False),
    ],
)
def test_objects_carry_their_map_type(
    registry: SchemaRegistry, path: str, map_type: MapType, is_map: bool
) -> None:
    node = walk(registry.lookup("apps/v1", "Deployment"), path)
    assert (node.map_type, node.is_map) == (map_type, is_map)


def test_walk_resolves_references_and_keeps_the_referrers_keywords(
    registry: SchemaRegistry,
) -> None:
    deployment = registry.lookup("apps/v1", "Deployment")
    assert deployment is not None
    strategy = walk(deployment, "spec.strategy")
    assert strategy.patch_strategies == {"retainKeys"}
    assert "rollingUpdate" in strategy.properties
    assert walk(deployment, "spec.strategy.rollingUpdate.maxSurge").int_or_string
    assert walk(deployment, "spec.template.spec.containers[].image").types == {"string"}
    assert walk(deployment, "metadata.labels.app").types == {"string"}
    assert deployment.field("nonexistent") is None
    assert walk(deployment, "spec").required == ["selector", "template"]
    assert "desired behavior" in walk(deployment, "spec").description


def test_unknown_kinds_have_no_schema(registry: SchemaRegistry) -> None:
    assert registry.lookup("apps/v1", "Nothing") is None
    assert registry.lookup("example.com/v1", "Widget") is None
    assert registry.lookup("v1", "DeleteOptions") is None, "option types are not stored kinds"


def test_group_version_kind_parses_both_api_version_forms() -> None:
    assert GroupVersionKind.parse("apps/v1", "Deployment") == GroupVersionKind(
        "apps", "v1", "Deployment"
    )
    assert GroupVersionKind.parse("v1", "Pod").api_version == "v1"
    assert (
        GroupVersionKind("networking.k8s.io", "v1", "Ingress").api_version == "networking.k8s.io/v1"
    )


def load_crd() -> dict[str, Any]:
    crd: dict[str, Any] = yaml.load(CRD.read_text(), Loader=yaml.CSafeLoader)
    return crd


def test_crd_registration_serves_its_served_versions_and_unregistration_drops_them() -> None:
    registry = SchemaRegistry()
    generation = registry.generation
    assert registry.register_crd(load_crd()) == (GroupVersionKind("example.com", "v1", "Widget"),)
    assert registry.generation > generation
    widget = registry.lookup("example.com/v1", "Widget")
    assert widget is not None
    assert registry.is_custom("example.com/v1", "Widget")
    assert registry.lookup("example.com/v1beta1", "Widget") is None, "v1beta1 is not served"

    assert walk(widget, "metadata.labels").is_map, "custom resources have ObjectMeta"
    assert walk(widget, "spec.tags").list_type is ListType.SET
    assert walk(widget, "spec.parts").list_map_keys == ("id",)
    assert walk(widget, "spec.port").int_or_string
    assert walk(widget, "spec.extra").preserves_unknown_fields
    assert not walk(widget, "spec.options").preserves_unknown_fields
    template = walk(widget, "spec.template")
    assert template.embedded_resource
    assert walk(template, "metadata.labels").is_map
    assert [g for g, _ in registry.custom_kinds()] == [
        GroupVersionKind("example.com", "v1", "Widget")
    ]

    assert registry.unregister_crd("widgets.example.com") == (
        GroupVersionKind("example.com", "v1", "Widget"),
    )
    assert registry.lookup("example.com/v1", "Widget") is None
    assert registry.unregister_crd("widgets.example.com") == ()


def test_crd_lists_without_a_list_type_are_atomic() -> None:
    crd = load_crd()
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][
        "plain"
    ] = {"type": "array", "items": {"type": "string"}}
    registry = SchemaRegistry()
    registry.register_crd(crd)
    assert (
        walk(registry.lookup("example.com/v1", "Widget"), "spec.plain").list_type is ListType.ATOMIC
    )


def test_reregistering_a_crd_replaces_its_versions() -> None:
    registry = SchemaRegistry()
    crd = load_crd()
    registry.register_crd(crd)
    crd["spec"]["versions"][0]["name"] = "v2"
    assert registry.register_crd(crd) == (GroupVersionKind("example.com", "v2", "Widget"),)
    assert registry.lookup("example.com/v1", "Widget") is None


@pytest.mark.parametrize(
    ("crd", "message"),
    [
        ({"metadata": {"name": "x.example.com"}}, "no spec"),
        (
            {"metadata": {"name": "x.example.com"}, "spec": {"group": "example.com", "names": {}}},
            "spec.names.kind are required",
        ),
        ({"spec": {"group": "example.com"}}, "<unnamed>"),
    ],
)
def test_malformed_crds_are_refused(crd: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        SchemaRegistry().register_crd(crd)
