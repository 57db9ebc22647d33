"""Secret masking on its own: placeholders, the last-applied annotation, non-Secrets."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tether.diff import ResourceDiff, mask_secret, mask_secrets
from tether.model import keys

NoLeak = Callable[[list[str], ResourceDiff | str], None]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(data: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    if data is not None:
        obj["data"] = {k: b64(v) for k, v in data.items()}
    return {**obj, **fields}


def test_last_applied_annotation_is_masked_consistently(assert_no_leak: NoLeak) -> None:
    applied = secret(stringData={"password": "old-pass", "user": "admin"})
    live = secret({"password": "new-pass", "user": "admin"})
    live["metadata"]["annotations"] = {keys.LAST_APPLIED: json.dumps(applied)}

    masked = mask_secret(live)

    annotation = json.loads(masked["metadata"]["annotations"][keys.LAST_APPLIED])
    assert masked["data"] == {"password": "++++++++ 1", "user": "++++++++ 1"}
    # The annotation's old password differs from the live one; its user is the same.
    assert annotation["stringData"] == {"password": "++++++++ 2", "user": "++++++++ 1"}
    assert_no_leak(["old-pass", "new-pass", "admin"], json.dumps(masked))


@pytest.mark.parametrize("annotation", ["{not json", "[1, 2]", "42"])
def test_unparseable_last_applied_is_replaced_whole(annotation: str) -> None:
    live = secret({"a": "x"})
    live["metadata"]["annotations"] = {keys.LAST_APPLIED: annotation}
    masked = mask_secret(live)
    assert masked["metadata"]["annotations"][keys.LAST_APPLIED] == "<masked: unparseable>"


def test_placeholders_are_numbered_per_key_across_objects() -> None:
    desired, live, predicted = mask_secrets(
        secret({"a": "same", "b": "one"}),
        secret({"a": "same", "b": "two", "c": "same"}),
        secret({"b": "one"}),
    )
    assert desired is not None
    assert live is not None
    assert predicted is not None
    assert desired["data"] == {"a": "++++++++ 1", "b": "++++++++ 1"}
    assert live["data"] == {"a": "++++++++ 1", "b": "++++++++ 2", "c": "++++++++ 1"}
    assert predicted["data"] == {"b": "++++++++ 1"}


def test_placeholders_reveal_nothing_about_length() -> None:
    (short,) = mask_secrets(secret({"k": "x"}))
    (long,) = mask_secrets(secret({"k": "x" * 4096}))
    assert short == long


def test_malformed_secret_fields_are_masked_whole() -> None:
    masked = mask_secret({**secret(), "data": "c2VjcmV0", "stringData": ["s3cret"]})
    assert masked["data"] == masked["stringData"] == "<masked: unparseable>"


def test_other_kinds_are_copied_unchanged() -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "b"},
    }
    masked = mask_secret(config)
    assert masked == config
    assert masked is not config
