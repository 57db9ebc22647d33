"""Every case in testdata/diff: desired, live (and settings) in, expected verdict out.

A case file holds ``desired`` and ``live`` (either may be null), optionally
``predicted`` (a server-side dry-run result), ``ignoreDifferences`` (an Application's
list), ``settings`` (settings ConfigMap data), ``schema: openapi`` (inject the bundled
OpenAPI schema), ``secrets`` (plaintexts that must appear nowhere, nor their base64),
and ``expected``: ``state``, ``paths`` (JSON pointers, in order), optionally
``syncStatus`` and ``diffContains`` (whole lines of the unified diff).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tether.diff import (
    BUILTIN_SCHEMA,
    ChainedSchema,
    Differ,
    DiffSettings,
    DiffState,
    JqRunner,
    OpenAPISchema,
    ResourceDiff,
    parse_ignore_differences,
)
from tether.model import SyncStatus

CASES = sorted(p.stem for p in (Path(__file__).parents[2] / "testdata" / "diff").glob("*.yaml"))
Loader = Callable[[str], dict[str, Any]]
NoLeak = Callable[[list[str], ResourceDiff | str], None]


def differ_for(case: dict[str, Any], jq: JqRunner, openapi: OpenAPISchema) -> Differ:
    settings = DiffSettings.from_config_map(case.get("settings") or {})
    rules = parse_ignore_differences(case.get("ignoreDifferences"))
    schema = (
        ChainedSchema(BUILTIN_SCHEMA, openapi)
        if case.get("schema") == "openapi"
        else BUILTIN_SCHEMA
    )
    return Differ.for_app(rules, settings, schema=schema, jq=jq)


@pytest.mark.parametrize("name", CASES)
def test_case(
    name: str,
    load_case: Loader,
    jq_runner: JqRunner,
    openapi_schema: OpenAPISchema,
    assert_no_leak: NoLeak,
) -> None:
    case = load_case(name)
    expected = case["expected"]
    result = differ_for(case, jq_runner, openapi_schema).compare(
        case["desired"], case["live"], predicted=case.get("predicted")
    )

    assert result.state is DiffState(expected["state"]), result.diff
    assert list(result.paths) == expected.get("paths", []), result.diff
    assert (result.diff == "") is (result.state is DiffState.SYNCED)
    if "syncStatus" in expected:
        assert result.sync_status is SyncStatus(expected["syncStatus"])
    for fragment in expected.get("diffContains", []):
        assert fragment in result.diff.splitlines(), result.diff
    assert_no_leak(case.get("secrets", []), result)


@pytest.mark.parametrize("name", CASES)
def test_case_is_stable_when_cached(
    name: str, load_case: Loader, jq_runner: JqRunner, openapi_schema: OpenAPISchema
) -> None:
    case = load_case(name)
    differ = differ_for(case, jq_runner, openapi_schema)
    first = differ.compare(case["desired"], case["live"], predicted=case.get("predicted"))
    again = differ.compare(case["desired"], case["live"], predicted=case.get("predicted"))
    assert again == first
