"""The building blocks: quantities, pointers, field sets, schemas, the merge."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from tether.diff import BUILTIN_SCHEMA, ChainedSchema, ListKind, OpenAPISchema, ScalarKind
from tether.diff.fieldset import abandoned_paths, find_child, owned_paths
from tether.diff.merge import merge
from tether.diff.pointer import MISSING, format_pointer, parse_pointer, remove_paths
from tether.diff.quantity import parse_quantity, same_quantity


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1", Fraction(1)),
        ("1000m", Fraction(1)),
        ("0.5", Fraction(1, 2)),
        ("1Ki", Fraction(1024)),
        ("1.5Gi", Fraction(3 * 2**29)),
        ("2e3", Fraction(2000)),
        ("2E-3", Fraction(2, 1000)),
        ("100n", Fraction(1, 10**7)),
        (".5k", Fraction(500)),
        (3, Fraction(3)),
        (0.25, Fraction(1, 4)),
    ],
)
def test_quantities_parse_exactly(text: object, amount: Fraction) -> None:
    assert parse_quantity(text) == amount


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1Kb", "Mi", True, None, [1], "1e999"])
def test_non_quantities_are_refused(text: object) -> None:
    assert parse_quantity(text) is None


def test_quantity_equality() -> None:
    assert same_quantity("1Gi", "1024Mi")
    assert not same_quantity("1G", "1Gi")
    assert not same_quantity("x", "x")


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [
        ("", ()),
        ("/spec/replicas", ("spec", "replicas")),
        ("/metadata/annotations/a~1b~0c", ("metadata", "annotations", "a/b~c")),
        ("/a//b", ("a", "", "b")),
    ],
)
def test_pointers_round_trip(pointer: str, tokens: tuple[str, ...]) -> None:
    assert parse_pointer(pointer) == tokens
    assert format_pointer(tokens) == pointer


def test_removing_list_items_never_shifts_later_removals() -> None:
    doc: dict[str, Any] = {"l": ["a", "b", "c", "d"], "m": {"x": 1}}
    remove_paths(doc, [("l", 0), ("l", 2), ("m", "x")])
    assert doc == {"l": ["b", "d"], "m": {}}


def test_field_set_elements_resolve() -> None:
    ports = [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]
    assert find_child(ports, 'k:{"containerPort":80,"protocol":"TCP"}') == (0, ports[0])
    assert find_child(ports, 'k:{"containerPort":53,"protocol":"TCP"}') == ("", MISSING)
    assert find_child(["a", "b"], 'v:"b"') == (1, "b")
    assert find_child(["a", "b"], "i:0") == (0, "a")
    assert find_child({"a": 1}, "f:a") == ("a", 1)
    assert find_child({"a": 1}, "k:not json") == ("", MISSING)


def test_owned_paths_follow_the_document() -> None:
    doc = {"metadata": {"finalizers": ["x", "y"]}, "spec": {"l": [{"name": "a", "v": 1}]}}
    tree = {
        "f:metadata": {"f:finalizers": {".": {}, 'v:"y"': {}}},
        "f:spec": {"f:l": {'k:{"name":"a"}': {".": {}, "f:v": {}}, 'k:{"name":"b"}': {}}},
        "f:absent": {},
    }
    assert owned_paths(doc, tree) == [("metadata", "finalizers", 1), ("spec", "l", 0, "v")]


def test_an_item_co_owned_by_another_manager_keeps_its_keys() -> None:
    predicted = {"l": [{"name": "a", "v": 1, "w": 2}]}
    own = {"f:l": {'k:{"name":"a"}': {".": {}, "f:name": {}, "f:v": {}}}}
    others = {"f:l": {'k:{"name":"a"}': {"f:w": {}}}}
    assert abandoned_paths(predicted, {}, own, others) == [("l", 0, "v")]
    assert abandoned_paths(predicted, {}, own, {}) == [("l",)]


def test_the_openapi_schema_knows_list_types_and_scalars() -> None:
    schema = OpenAPISchema.bundled()
    pod = schema.root("", "Pod")
    assert pod is not None
    spec = pod.child("spec")
    assert spec is not None
    containers = spec.child("containers")
    assert containers is not None
    assert (containers.list_kind, containers.list_keys) == (ListKind.MAP, ("name",))
    container = containers.items()
    assert container is not None
    ports = container.child("ports")
    assert ports is not None
    assert ports.list_keys == ("containerPort", "protocol")
    tolerations = spec.child("tolerations")
    assert tolerations is not None
    assert tolerations.list_kind is ListKind.ATOMIC
    overhead = spec.child("overhead")
    assert overhead is not None
    values = overhead.values()
    assert values is not None
    assert values.scalar is ScalarKind.QUANTITY
    assert schema.root("example.com", "Widget") is None


def test_a_chained_schema_asks_in_turn() -> None:
    chained = ChainedSchema(BUILTIN_SCHEMA, OpenAPISchema.bundled())
    assert chained.root("apps", "Deployment") is BUILTIN_SCHEMA.root("apps", "Deployment")
    assert chained.root("networking.k8s.io", "Ingress") is not None
    assert chained.root("example.com", "Widget") is None


@pytest.mark.parametrize(
    ("live", "desired", "predicted"),
    [
        # Without a schema, lists are atomic: a reordering is a change, and items that
        # disagree are not blended together.
        (
            [{"name": "a", "x": 1}, {"name": "b"}],
            [{"name": "b"}, {"name": "a"}],
            [{"name": "b"}, {"name": "a"}],
        ),
        # Items that agree keep the server's defaults.
        ([{"k": 1, "d": {"x": True}}], [{"k": 1}], None),
        ([{"k": 1, "d": True}, {"k": 2}], [{"k": 1}, {"k": 3}], [{"k": 1, "d": True}, {"k": 3}]),
        # The list is the manifest's: extra live items go, new ones come.
        ([1, 2], [1], [1]),
        ([{"k": 1, "d": True}], [{"k": 1}, {"k": 2}], [{"k": 1, "d": True}, {"k": 2}]),
        # Booleans never equal numbers.
        (True, 1, 1),
        # 1 and 1.0 are one number.
        (1, 1.0, None),
    ],
)
def test_merge_without_schema(live: Any, desired: Any, predicted: Any) -> None:
    expected = live if predicted is None else predicted
    assert merge(live, desired, None) == expected
    assert type(merge(live, desired, None)) is type(expected)
