from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.validation import (
    FieldValidation,
    apply_defaults,
    find_duplicate_fields,
    prune,
    validate,
)

DATA = Path(__file__).resolve().parents[3] / "testdata" / "localcluster" / "merge"


def load(name: str) -> Any:
    return yaml.load((DATA / name).read_text(), Loader=yaml.CSafeLoader)


@pytest.fixture(scope="module")
def schemas() -> SchemaRegistry:
    registry = SchemaRegistry()
    registry.register_crd(load("customresourcedefinition-widgets.yaml"))
    return registry


def report_for(schemas: SchemaRegistry, name: str, mode: FieldValidation) -> Any:
    obj = load(f"validation/{name}.yaml")
    schema = schemas.lookup(obj["apiVersion"], obj["kind"])
    assert schema is not None
    return validate(obj, schema, mode)


@pytest.mark.parametrize("name", ["deployment-valid", "widget-valid"])
@pytest.mark.parametrize("mode", list(FieldValidation))
def test_valid_objects_pass_in_every_mode(
    schemas: SchemaRegistry, name: str, mode: FieldValidation
) -> None:
    report = report_for(schemas, name, mode)
    assert (report.ok, report.errors, report.unknown_fields) == (True, (), ())


EXPECTED_CAUSES: dict[str, list[list[str]]] = load("validation/expected-causes.yaml")


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED_CAUSES.items()))
@pytest.mark.parametrize("mode", list(FieldValidation))
def test_invalid_fields_are_422_causes_in_every_mode(
    schemas: SchemaRegistry, name: str, expected: list[list[str]], mode: FieldValidation
) -> None:
    report = report_for(schemas, name, mode)
    assert [[e.field, e.type.value, e.message] for e in report.errors] == expected
    assert not report.ok


def test_enum_violation_lists_the_supported_values(schemas: SchemaRegistry) -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"color": "mauve"},
    }
    schema = schemas.lookup("example.com/v1", "Widget")
    assert schema is not None
    [error] = validate(widget, schema).errors
    assert error.cause() == {
        "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "mauve": supported values: "red", "green", "blue"',
        "field": "spec.color",
    }
    assert (
        str(error)
        == 'spec.color: Unsupported value: "mauve": supported values: "red", "green", "blue"'
    )


@pytest.mark.parametrize(
    ("name", "unknown"),
    [
        (
            "deployment-unknown-fields",
            ["spec.replica", "spec.template.spec.containers[0].imagePolicy"],
        ),
        (
            "widget-unknown-fields",
            ["metadata.colour", "spec.shape", "spec.options.loud", "topLevel"],
        ),
    ],
)
def test_unknown_fields_per_mode(schemas: SchemaRegistry, name: str, unknown: list[str]) -> None:
    strict = report_for(schemas, name, FieldValidation.STRICT)
    assert not strict.ok
    assert strict.strict_error == "strict decoding error: " + ", ".join(
        f'unknown field "{p}"' for p in unknown
    )
    assert strict.warnings == ()

    warn = report_for(schemas, name, FieldValidation.WARN)
    assert warn.ok
    assert list(warn.warnings) == [f'unknown field "{p}"' for p in unknown]
    assert warn.strict_error is None

    ignore = report_for(schemas, name, FieldValidation.IGNORE)
    assert (ignore.ok, ignore.warnings, ignore.unknown_fields) == (True, (), ())


def test_null_is_dropped_where_a_crd_field_is_not_nullable(schemas: SchemaRegistry) -> None:
    schema = schemas.lookup("example.com/v1", "Widget")
    assert schema is not None
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "spec": {"color": None, "size": None, "options": {"level": None}},
    }
    defaulted = apply_defaults(widget, schema)
    assert defaulted["spec"] == {"size": 3, "options": {"level": None, "verbose": False}}
    assert [(e.field, e.message) for e in validate(defaulted, schema).errors] == [
        ("spec.color", "Required value")
    ]


def test_structural_defaults_fill_absent_fields_at_every_depth(schemas: SchemaRegistry) -> None:
    schema = schemas.lookup("example.com/v1", "Widget")
    assert schema is not None
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "spec": {"color": "red", "size": 5, "parts": [{"id": "a"}, {"id": "b", "count": 4}]},
    }
    defaulted = apply_defaults(widget, schema)
    assert defaulted["spec"] == {
        "color": "red",
        "size": 5,
        "options": {"verbose": False},
        "parts": [{"id": "a", "count": 1}, {"id": "b", "count": 4}],
    }
    assert widget["spec"]["parts"][0] == {"id": "a"}, "the input is not modified"


def test_pruning_drops_undeclared_fields_and_keeps_preserved_ones(schemas: SchemaRegistry) -> None:
    schema = schemas.lookup("example.com/v1", "Widget")
    assert schema is not None
    widget = load("validation/widget-unknown-fields.yaml")
    widget["spec"]["extra"] = {"free": {"form": [1, 2]}}
    widget["spec"]["template"] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "bogus": 1},
        "data": {"k": "v"},
    }
    widget["spec"]["options"]["level"] = None
    assert prune(widget, schema) == {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "extra"},
        "spec": {
            "color": "blue",
            "options": {"level": None},
            "extra": {"free": {"form": [1, 2]}},
            "template": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x"},
                "data": {"k": "v"},
            },
        },
    }


def test_duplicate_fields_of_the_raw_body_are_reported_like_unknown_ones(
    schemas: SchemaRegistry,
) -> None:
    body = (
        b'{"apiVersion":"v1","kind":"ConfigMap",'
        b'"metadata":{"name":"a","name":"b"},"data":{"k":"1","k":"2"}}'
    )
    duplicates = find_duplicate_fields(body)
    assert duplicates == ("metadata.name", "data.k")
    schema = schemas.lookup("v1", "ConfigMap")
    assert schema is not None
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"k": "2"}}
    warn = validate(obj, schema, FieldValidation.WARN, duplicate_fields=duplicates)
    assert warn.warnings == ('duplicate field "metadata.name"', 'duplicate field "data.k"')
    strict = validate(obj, schema, FieldValidation.STRICT, duplicate_fields=duplicates)
    assert (
        strict.strict_error
        == 'strict decoding error: duplicate field "metadata.name", duplicate field "data.k"'
    )
    assert validate(obj, schema, FieldValidation.IGNORE, duplicate_fields=duplicates).ok
    assert find_duplicate_fields(b"{not json") == ()


def test_duplicate_fields_of_an_apply_yaml_body_are_found() -> None:
    body = b"metadata:\n  name: a\n  name: b\ndata:\n  list:\n    - {x: 1, x: 2}\n"
    assert find_duplicate_fields(body, yaml_body=True) == ("metadata.name", "data.list[0].x")
    assert find_duplicate_fields(b"a: [unclosed", yaml_body=True) == ()


def test_set_items_and_map_list_keys_must_be_unique(schemas: SchemaRegistry) -> None:
    schema = schemas.lookup("example.com/v1", "Widget")
    assert schema is not None
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "spec": {
            "color": "red",
            "tags": ["a", "a"],
            "parts": [{"id": "x"}, {"id": "x", "count": 2}],
        },
    }
    assert [error.cause() for error in validate(widget, schema).errors] == [
        {
            "reason": "FieldValueDuplicate",
            "message": 'Duplicate value: "a"',
            "field": "spec.tags[1]",
        },
        {
            "reason": "FieldValueDuplicate",
            "message": 'Duplicate value: map[string]interface {}{"id":"x"}',
            "field": "spec.parts[1]",
        },
    ]


@pytest.mark.parametrize(
    ("value", "valid"), [("aGVsbG8=", True), ("", True), ("not base64!", False)]
)
def test_secret_data_must_be_base64(schemas: SchemaRegistry, value: str, valid: bool) -> None:
    schema = schemas.lookup("v1", "Secret")
    assert schema is not None
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"key": value},
    }
    errors = validate(secret, schema).errors
    assert [e.field for e in errors] == ([] if valid else ["data[key]"])
