from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.strategic import (
    PatchError,
    create_two_way_merge_patch,
    json_merge_patch,
    strategic_merge_patch,
)
from tether.tools import find_tool

CASES = Path(__file__).resolve().parents[3] / "testdata" / "localcluster" / "merge" / "strategic"


def load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


@pytest.mark.parametrize("path", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_strategic_merge_patch_matches_the_documented_result(
    path: Path, registry: SchemaRegistry
) -> None:
    case = load(path)
    schema = registry.lookup(case["apiVersion"], case["kind"])
    original = copy.deepcopy(case["original"])
    patch = copy.deepcopy(case["patch"])

    assert strategic_merge_patch(original, patch, schema) == case["expected"]
    assert (original, patch) == (case["original"], case["patch"]), "inputs must not change"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"spec": {"containers": [{"image": "x"}]}}, "does not contain declared merge key: name"),
        ({"spec": {"containers": [{"name": "a", "$patch": "explode"}]}}, "unknown patch type"),
        ({"spec": {"$patch": "explode"}}, "unknown patch type"),
        ({"spec": {"$retainKeys": "containers"}}, "invalid patch format of retainKeys"),
        (
            {"spec": {"$retainKeys": ["hostname"], "subdomain": "x"}},
            "invalid patch format of retainKeys",
        ),
        ({"spec": {"$setElementOrder/containers": {"name": "a"}}}, "must be a list"),
        ({"spec": {"$unknown": 1}}, "unknown patch directive"),
        (
            {"spec": {"nodeSelector": {"$patch": "merge"}}},
            "unknown patch type: merge in map: map[$patch:merge]",
        ),
        (
            {"spec": {"containers": [{"name": "a", "$patch": "merge"}]}},
            "merging lists cannot yet be specified",
        ),
        (
            {
                "spec": {
                    "containers": [{"name": "b"}, {"name": "a"}],
                    "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                }
            },
            "The order in patch list:\n[map[name:b] map[name:a]]\n"
            " doesn't match $setElementOrder list:\n[map[name:a] map[name:b]]",
        ),
        (
            {"metadata": {"finalizers": ["x"], "$setElementOrder/finalizers": ["y"]}},
            "The order in patch list:\n[x]\n doesn't match $setElementOrder list:\n[y]",
        ),
        (["not", "an", "object"], "must be a JSON object"),
    ],
)
def test_malformed_patch_is_refused(patch: Any, message: str, registry: SchemaRegistry) -> None:
    pod = {"spec": {"containers": [{"name": "a", "image": "a"}]}}
    with pytest.raises(PatchError, match=re.escape(message)):
        strategic_merge_patch(pod, patch, registry.lookup("v1", "Pod"))


def test_new_fields_arrive_without_directives_or_nulls(registry: SchemaRegistry) -> None:
    patch = {
        "spec": {
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "w", "$patch": "delete"}],
            "nodeSelector": {"zone": "a", "gone": None},
        }
    }
    result = strategic_merge_patch({"spec": {}}, patch, registry.lookup("v1", "Pod"))
    assert result == {
        "spec": {"volumes": [{"name": "v", "emptyDir": {}}], "nodeSelector": {"zone": "a"}}
    }


def test_json_merge_patch_follows_rfc_7386() -> None:
    # The RFC's own example.
    target = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged",
    }
    patch = {
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": None},
        "tags": ["example"],
    }
    assert json_merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }


def test_two_way_patch_carries_the_directives_kubectl_sends(registry: SchemaRegistry) -> None:
    original = {
        "metadata": {"finalizers": ["a", "b"]},
        "spec": {
            "containers": [{"name": "web", "image": "web:1"}, {"name": "old", "image": "old:1"}]
        },
    }
    modified = {
        "metadata": {"finalizers": ["a", "c"]},
        "spec": {"containers": [{"name": "web", "image": "web:2"}]},
    }
    patch = create_two_way_merge_patch(original, modified, registry.lookup("v1", "Pod"))
    assert patch == {
        "metadata": {
            "finalizers": ["c"],
            "$deleteFromPrimitiveList/finalizers": ["b"],
            "$setElementOrder/finalizers": ["a", "c"],
        },
        "spec": {
            "containers": [{"name": "web", "image": "web:2"}, {"name": "old", "$patch": "delete"}],
            "$setElementOrder/containers": [{"name": "web"}],
        },
    }


# -- properties ---------------------------------------------------------------------

_names = st.sampled_from(["a", "b", "c", "d", "e"])
_scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["x", "y", "z"]), st.booleans())
_env = st.lists(
    st.fixed_dictionaries({"name": _names, "value": st.sampled_from(["1", "2"])}),
    max_size=4,
    unique_by=lambda e: e["name"],
)
_container = st.fixed_dictionaries(
    {"name": _names},
    optional={
        "image": st.sampled_from(["nginx:1", "nginx:2", "redis"]),
        "args": st.lists(st.sampled_from(["--a", "--b", "--c"]), max_size=3),
        "env": _env,
        "ports": st.lists(
            st.fixed_dictionaries({"containerPort": st.sampled_from([80, 443, 8080])}),
            max_size=3,
            unique_by=lambda p: p["containerPort"],
        ),
    },
)
_pod = st.fixed_dictionaries(
    {},
    optional={
        "metadata": st.fixed_dictionaries(
            {},
            optional={
                "labels": st.dictionaries(_names, st.sampled_from(["1", "2"]), max_size=3),
                "finalizers": st.lists(
                    st.sampled_from(["f/a", "f/b", "f/c"]), max_size=3, unique=True
                ),
            },
        ),
        "spec": st.fixed_dictionaries(
            {},
            optional={
                "containers": st.lists(_container, max_size=3, unique_by=lambda c: c["name"]),
                "nodeSelector": st.dictionaries(_names, st.sampled_from(["1", "2"]), max_size=3),
                "priority": _scalars,
            },
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(original=_pod, modified=_pod)
def test_two_way_patch_then_apply_reproduces_the_target(
    original: dict[str, Any], modified: dict[str, Any], registry: SchemaRegistry
) -> None:
    schema = registry.lookup("v1", "Pod")
    patch = create_two_way_merge_patch(original, modified, schema)
    assert strategic_merge_patch(original, patch, schema) == modified


@settings(max_examples=100, deadline=None)
@given(original=_pod, patch=_pod)
def test_applying_a_patch_twice_changes_nothing_more(
    original: dict[str, Any], patch: dict[str, Any], registry: SchemaRegistry
) -> None:
    schema = registry.lookup("v1", "Pod")
    once = strategic_merge_patch(original, patch, schema)
    assert strategic_merge_patch(once, patch, schema) == once


# -- the real implementation as an oracle ---------------------------------------------
#
# `kubectl patch --local` applies a strategic merge patch with upstream's own code (on
# typed objects, so empty values vanish as `omitempty` drops them); each case and a
# sample of generated ones must come out the same.

KUBECTL = find_tool("kubectl")


def kubectl_patch(
    kind_api: tuple[str, str],
    original: dict[str, Any],
    patch: dict[str, Any],
    tmp: Path,
    patch_type: str = "strategic",
) -> Any:
    api_version, kind = kind_api
    document = {**original, "apiVersion": api_version, "kind": kind}
    document["metadata"] = {**original.get("metadata", {}), "name": "oracle"}
    source = tmp / "object.json"
    source.write_text(json.dumps(document))
    result = subprocess.run(
        [
            str(KUBECTL),
            "patch",
            "--local",
            "-f",
            str(source),
            "--type",
            patch_type,
            "-p",
            json.dumps(patch),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


def without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: without_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [without_empty(v) for v in value]
    return value


@pytest.mark.parametrize("path", sorted(CASES.glob("*.yaml")), ids=lambda p: p.stem)
def test_fixture_matches_kubectl(path: Path, registry: SchemaRegistry, tmp_path: Path) -> None:
    case = load(path)
    schema = registry.lookup(case["apiVersion"], case["kind"])
    # Without a schema the patch is a JSON merge patch: kubectl's merge type is the oracle.
    patch_type = "strategic" if schema is not None else "merge"
    expected = kubectl_patch(
        (case["apiVersion"], case["kind"]), case["original"], case["patch"], tmp_path, patch_type
    )
    document = {**case["original"], "apiVersion": case["apiVersion"], "kind": case["kind"]}
    document["metadata"] = {**case["original"].get("metadata", {}), "name": "oracle"}
    assert strategic_merge_patch(document, case["patch"], schema) == expected


_typed_pod = st.fixed_dictionaries(
    {
        "spec": st.fixed_dictionaries(
            {
                "containers": st.lists(
                    _container, min_size=1, max_size=3, unique_by=lambda c: c["name"]
                )
            },
            optional={
                "nodeSelector": st.dictionaries(_names, st.sampled_from(["1", "2"]), max_size=3),
                "priority": st.integers(0, 3),
                # Volume sources are a retainKeys union: switching one exercises it.
                "volumes": st.lists(
                    st.one_of(
                        st.fixed_dictionaries({"name": _names, "emptyDir": st.just({})}),
                        st.fixed_dictionaries(
                            {"name": _names, "configMap": st.fixed_dictionaries({"name": _names})}
                        ),
                    ),
                    max_size=3,
                    unique_by=lambda v: v["name"],
                ),
            },
        )
    },
    optional={
        "metadata": st.fixed_dictionaries(
            {},
            optional={
                "labels": st.dictionaries(_names, st.sampled_from(["1", "2"]), max_size=3),
                "finalizers": st.lists(
                    st.sampled_from(["f/a", "f/b", "f/c"]), max_size=3, unique=True
                ),
            },
        )
    },
)


@settings(max_examples=25, deadline=None)
@given(original=_typed_pod, modified=_typed_pod)
def test_generated_patches_match_kubectl(
    original: dict[str, Any],
    modified: dict[str, Any],
    registry: SchemaRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    schema = registry.lookup("v1", "Pod")
    # Two-way patches carry every directive: $setElementOrder, $deleteFromPrimitiveList,
    # $patch: delete, $retainKeys; the target itself is a plain patch of the original.
    for patch in (create_two_way_merge_patch(original, modified, schema), modified):
        expected = kubectl_patch(("v1", "Pod"), original, patch, tmp_path_factory.mktemp("oracle"))
        document = {**original, "apiVersion": "v1", "kind": "Pod"}
        document["metadata"] = {**original.get("metadata", {}), "name": "oracle"}
        assert without_empty(strategic_merge_patch(document, patch, schema)) == without_empty(
            expected
        )


def test_two_way_patch_switching_a_retain_keys_union_round_trips(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    schema = registry.lookup("apps/v1", "Deployment")
    original = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}
    modified = {"spec": {"strategy": {"type": "Recreate"}}}
    patch = create_two_way_merge_patch(original, modified, schema)
    assert patch == {
        "spec": {"strategy": {"rollingUpdate": None, "type": "Recreate", "$retainKeys": ["type"]}}
    }
    assert strategic_merge_patch(original, patch, schema) == modified
    assert (
        kubectl_patch(("apps/v1", "Deployment"), original, patch, tmp_path)["spec"]
        == modified["spec"]
    )


def test_two_way_patch_switching_a_volume_source_retains_only_the_new_one(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    schema = registry.lookup("v1", "Pod")
    original = {"spec": {"containers": [{"name": "a"}], "volumes": [{"name": "v", "emptyDir": {}}]}}
    modified = {
        "spec": {
            "containers": [{"name": "a"}],
            "volumes": [{"name": "v", "configMap": {"name": "c"}}],
        }
    }
    patch = create_two_way_merge_patch(original, modified, schema)
    assert patch["spec"]["volumes"] == [
        {
            "name": "v",
            "emptyDir": None,
            "configMap": {"name": "c"},
            "$retainKeys": ["configMap", "name"],
        }
    ]
    assert strategic_merge_patch(original, patch, schema) == modified
    assert kubectl_patch(("v1", "Pod"), original, patch, tmp_path)["spec"] == modified["spec"]
