"""Properties: an object never differs from itself; masking is stable and never leaks."""

from __future__ import annotations

import base64
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether.diff import Differ, DiffState, mask_secrets

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
SCALARS = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=20,
)
KINDS = st.sampled_from(
    [
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("batch/v1", "CronJob"),
        ("example.com/v1", "Widget"),
    ]
)
PLACEHOLDER = re.compile(r"\+{8} [0-9]+")
SECRET_VALUES = st.dictionaries(NAMES, st.text(min_size=1, max_size=20), max_size=5)


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    api_version, kind = draw(KINDS)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": draw(NAMES),
            "namespace": draw(NAMES),
            "labels": draw(st.dictionaries(NAMES, st.text(max_size=8), max_size=3)),
        },
        "spec": draw(st.dictionaries(NAMES, VALUES, max_size=5)),
        "data": draw(st.dictionaries(NAMES, st.text(max_size=8), max_size=3)),
    }


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(objects())
def test_an_object_is_in_sync_with_itself(obj: dict[str, Any]) -> None:
    result = Differ().compare(obj, obj)
    assert result.state is DiffState.SYNCED, result.diff
    assert result.paths == ()
    assert result.diff == ""


def b64(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def secret(values: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": b64(values)}


@FAST
@given(SECRET_VALUES, SECRET_VALUES)
def test_masking_is_stable_and_keeps_equality(left: dict[str, str], right: dict[str, str]) -> None:
    first = mask_secrets(secret(left), secret(right))
    assert mask_secrets(secret(left), secret(right)) == first
    masked_left, masked_right = first
    assert masked_left is not None
    assert masked_right is not None
    for key in left.keys() & right.keys():
        same_value = left[key] == right[key]
        assert (masked_left["data"][key] == masked_right["data"][key]) is same_value
    # Every value is replaced by a bare placeholder: nothing of the value survives.
    for masked in first:
        assert masked is not None
        assert all(PLACEHOLDER.fullmatch(v) for v in masked["data"].values())


def owned_fields(value: Any) -> dict[str, Any]:
    """The fieldsV1 tree of a manager that applied exactly ``value``."""
    if not isinstance(value, dict):
        return {}
    tree: dict[str, Any] = {}
    for name, child in value.items():
        tree[f"f:{name}"] = owned_fields(child)
    return tree


@FAST
@given(objects(), st.data())
def test_a_dropped_field_tether_owned_is_the_only_difference(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    live = {
        **obj,
        "metadata": {
            **obj["metadata"],
            "managedFields": [
                {
                    "manager": "tether",
                    "operation": "Apply",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": owned_fields({k: v for k, v in obj.items() if k != "metadata"}),
                }
            ],
        },
    }
    assert Differ().compare(obj, live).state is DiffState.SYNCED

    present = sorted(k for k, v in obj["spec"].items() if v not in (None, {}, []))
    if not present:
        return
    dropped = data.draw(st.sampled_from(present))
    desired = {**obj, "spec": {k: v for k, v in obj["spec"].items() if k != dropped}}
    result = Differ().compare(desired, live)
    assert result.state is DiffState.OUT_OF_SYNC
    assert result.paths == (f"/spec/{dropped}",)
