from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.localcluster.fieldset import FieldSet, FieldsV1Error, format_path

DEPLOYMENT_FIELDS: dict[str, Any] = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}},
                },
            },
        },
    },
}


def fs(*paths: tuple[str, ...]) -> FieldSet:
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return FieldSet(root)


def test_fields_v1_round_trips() -> None:
    assert FieldSet.from_fields_v1(DEPLOYMENT_FIELDS).to_fields_v1() == DEPLOYMENT_FIELDS


def test_members_and_leaves() -> None:
    fields = FieldSet.from_fields_v1(DEPLOYMENT_FIELDS)
    assert sorted(format_path(p) for p in fields.paths()) == [
        ".metadata.labels",
        ".metadata.labels.app",
        ".spec.replicas",
        '.spec.template.spec.containers[name="nginx"]',
        '.spec.template.spec.containers[name="nginx"].image',
        '.spec.template.spec.containers[name="nginx"].name',
    ]
    assert sorted(format_path(p) for p in fields.leaves()) == [
        ".metadata.labels.app",
        ".spec.replicas",
        '.spec.template.spec.containers[name="nginx"].image',
        '.spec.template.spec.containers[name="nginx"].name',
    ]
    assert fields.has(("f:spec", "f:replicas"))
    assert not fields.has(("f:spec",))


@pytest.mark.parametrize(
    ("path", "printed"),
    [
        (("f:spec", "f:replicas"), ".spec.replicas"),
        (
            ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'),
            '.spec.ports[port=80,protocol="TCP"]',
        ),
        (
            ("f:metadata", "f:finalizers", 'v:"example.com/x"'),
            '.metadata.finalizers[="example.com/x"]',
        ),
        (("f:spec", "f:args", "i:2"), ".spec.args[2]"),
    ],
)
def test_paths_print_as_the_api_server_prints_them(path: tuple[str, ...], printed: str) -> None:
    assert format_path(path) == printed


def test_algebra() -> None:
    a = fs(("f:a",), ("f:b", "f:c"))
    b = fs(("f:b", "f:c"), ("f:d",))
    assert a.union(b) == fs(("f:a",), ("f:b", "f:c"), ("f:d",))
    assert a.intersection(b) == fs(("f:b", "f:c"))
    assert a.difference(b) == fs(("f:a",))
    assert a.difference(a).empty()
    assert not a.empty()


@pytest.mark.parametrize("document", [{"x:spec": {}}, {"f:spec": []}, []])
def test_malformed_fields_v1_is_refused(document: Any) -> None:
    with pytest.raises(FieldsV1Error):
        FieldSet.from_fields_v1(document)


_element = st.sampled_from(["f:a", "f:b", "f:c", 'k:{"name":"x"}', 'v:"y"'])
_sets = st.lists(st.lists(_element, min_size=1, max_size=3).map(tuple), max_size=6).map(
    lambda paths: fs(*paths)
)


@settings(max_examples=200, deadline=None)
@given(a=_sets, b=_sets, c=_sets)
def test_set_laws(a: FieldSet, b: FieldSet, c: FieldSet) -> None:
    assert a.union(b) == b.union(a)
    assert a.intersection(b) == b.intersection(a)
    assert a.union(b).union(c) == a.union(b.union(c))
    assert a.difference(b).intersection(b).empty()
    assert a.difference(b).union(a.intersection(b)) == a
    assert FieldSet.from_fields_v1(a.to_fields_v1()) == a
