"""Whatever an object holds, a verdict comes back: checks never raise."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tether.health import HealthOverrides, assess_health, load_overrides
from tether.model import Health

FIXTURES = Path(__file__).resolve().parents[2] / "testdata" / "health"
TEMPLATES = [yaml.safe_load(path.read_text()) for path in sorted(FIXTURES.glob("*.yaml"))]
OVERRIDES: HealthOverrides = load_overrides(directory=FIXTURES / "customizations")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
field_names = st.sampled_from(
    [
        "replicas",
        "conditions",
        "containerStatuses",
        "phase",
        "paused",
        "observedGeneration",
        "loadBalancer",
        "updateStrategy",
        "active",
        "health",
        "annotations",
        "deletionTimestamp",
        "type",
        "status",
    ]
)


def scramble(obj: dict[str, Any], section: str, name: str, value: Any) -> dict[str, Any]:
    scrambled = copy.deepcopy(obj)
    target = scrambled.get(section)
    if isinstance(target, dict):
        target[name] = value
    else:
        scrambled[section] = value
    return scrambled


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=st.sampled_from(TEMPLATES),
    section=st.sampled_from(["metadata", "spec", "status"]),
    name=field_names,
    value=json_values,
)
def test_any_field_value_gives_a_verdict_not_an_exception(
    template: dict[str, Any], section: str, name: str, value: Any
) -> None:
    obj = scramble(template, section, name, value)
    for verdict in (assess_health(obj), assess_health(obj, overrides=OVERRIDES)):
        assert verdict is None or isinstance(verdict, Health)
