"""Label and field selectors, parsed and matched as kube-apiserver does."""

from __future__ import annotations

import pytest

from tether.localcluster.errors import APIError
from tether.localcluster.selectors import (
    format_match,
    parse_field_selector,
    parse_label_selector,
    selector_from_match,
)

LABELS = {"app": "web", "tier": "frontend", "env": "prod"}


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app=web,tier=backend", False),
        ("tier in (frontend, backend)", True),
        ("tier notin (frontend)", False),
        ("missing notin (x)", True),
        ("env", True),
        ("!env", False),
        ("!missing", True),
        ("app=web,tier in (frontend),!canary", True),
    ],
)
def test_label_selector_matching(selector: str, selected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is selected


@pytest.mark.parametrize("selector", ["a in (", "!a in (b)", "a b"])
def test_malformed_label_selectors_are_bad_requests(selector: str) -> None:
    with pytest.raises(APIError) as error:
        parse_label_selector(selector)
    assert error.value.code == 400


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ("metadata.name=w1", True),
        ("metadata.name!=w1", False),
        ("metadata.namespace=default,metadata.name=w1", True),
        ("involvedObject.kind=Pod,reason=BackOff", True),
        ("source=kubelet", True),
        ("type=Normal", False),
    ],
)
def test_field_selector_on_events(selector: str, selected: bool) -> None:
    event = {
        "metadata": {"name": "w1", "namespace": "default"},
        "reason": "BackOff",
        "type": "Warning",
        "involvedObject": {"kind": "Pod"},
        "source": {"component": "kubelet"},
    }
    assert parse_field_selector(selector, ("", "events")).matches(event) is selected


def test_unsupported_field_is_a_bad_request() -> None:
    with pytest.raises(APIError) as error:
        parse_field_selector("spec.replicas=1", ("apps", "deployments"))
    assert (error.value.code, error.value.message) == (
        400,
        "field label not supported: spec.replicas",
    )


def test_match_selectors_round_trip_to_strings() -> None:
    spec = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["b", "a"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    text = format_match(spec)
    assert text == "app=web,tier in (a,b),!canary"
    assert parse_label_selector(text) == selector_from_match(spec)
