"""The trigger condition evaluator: Argo CD's catalog conditions and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tether.notifications import ExpressionError, evaluate
from tether.notifications.catalog import BUILTIN_TRIGGERS

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def app(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "guestbook", "labels": {"team": "search"}}, "status": status}


SUCCEEDED = app(
    operationState={"phase": "Succeeded", "startedAt": "2026-03-01T11:50:00Z",
                    "syncResult": {"revision": "abc"}},
    health={"status": "Healthy"},
    sync={"status": "Synced"},
)  # fmt: skip
FAILED = app(operationState={"phase": "Failed"}, health={"status": "Degraded"})
FRESH = app()


@pytest.mark.parametrize(
    ("trigger", "subject", "fires"),
    [
        ("on-created", FRESH, True),
        ("on-deployed", SUCCEEDED, True),
        ("on-deployed", FAILED, False),
        ("on-deployed", FRESH, False),
        ("on-sync-succeeded", SUCCEEDED, True),
        ("on-sync-failed", FAILED, True),
        ("on-sync-failed", app(operationState={"phase": "Error"}), True),
        ("on-sync-failed", SUCCEEDED, False),
        ("on-sync-running", app(operationState={"phase": "Running"}), True),
        ("on-sync-running", FRESH, False),
        ("on-health-degraded", FAILED, True),
        ("on-health-degraded", SUCCEEDED, False),
        ("on-sync-status-unknown", app(sync={"status": "Unknown"}), True),
        ("on-sync-status-unknown", SUCCEEDED, False),
        ("on-deleted", {"metadata": {"deletionTimestamp": "2026-03-01T11:00:00Z"}}, True),
        ("on-deleted", FRESH, False),
    ],
)
def test_catalog_conditions(trigger: str, subject: dict[str, Any], fires: bool) -> None:
    (condition,) = BUILTIN_TRIGGERS[trigger].conditions
    assert evaluate(condition.when, subject, lambda: NOW) is fires


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("app.status.operationState?.syncResult?.revision", "abc"),
        ("app.status.missing?.deeper.still", None),
        ("app.metadata.labels.team in ['payments', 'search']", True),
        ("app.metadata.labels.team not in ['payments', 'search']", False),
        ("app.metadata.labels['team'] == \"search\"", True),
        ("'team' in app.metadata.labels", True),
        ("!(app.status.sync.status == 'Synced') || false", False),
        ("not true or 1 + 2 * 3 == 7 && 7 % 4 == 3", True),
        ("-2 < -1 and 'a' < 'b' and 10 / 4 == 2.5", True),
        ("time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Minutes()", 10.0),
        ("time.Now().Sub(time.Parse(app.status.operationState.startedAt)).Hours() >= 1", False),
        ("time.Parse('2026-03-01T12:00:00Z') == time.Now()", True),
        ("[1, 2][1] == 2 and [1][5] == nil", True),
        ("app.metadata.name + '-' + app.metadata.labels.team", "guestbook-search"),
    ],
)
def test_expressions(expression: str, value: Any) -> None:
    assert evaluate(expression, SUCCEEDED, lambda: NOW) == value


@pytest.mark.parametrize(
    ("expression", "cause"),
    [
        ("__import__('os').system('true')", "unknown name '__import__'"),
        ("open('/etc/passwd')", "unknown name 'open'"),
        ("app.keys()", "map has no method keys/0"),
        ("app.metadata.name.upper()", "string has no method upper/0"),
        ("time.Sleep(10)", "has no method Sleep/1"),
        ("time.Now().__class__", "cannot index"),
        ("app.metadata.name[0]", "cannot index string with int"),
        ("app.status(1)", "map has no method status/1"),
        ("app(1)", "only time.Now, time.Parse"),
        ("lambda: 1", "unexpected character at 6"),
        ("app.status.health.status == ", "unexpected"),
        ("app.status ; 1", "unexpected character"),
        ("1 / 0", "division by zero"),
        ("'a' + 1", "expected a number, got string"),
        ("app.metadata.name and true", "expected a bool, got string"),
        ("(" * 200 + "1" + ")" * 200, "nests too deeply"),
        ("1 == 1 and " * 1000 + "true", "longer than 4096 characters"),
        ("time.Parse('not a time')", "Invalid isoformat"),
    ],
)
def test_hostile_or_broken_input_is_a_clear_error(expression: str, cause: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        evaluate(expression, SUCCEEDED, lambda: NOW)
    assert cause in str(raised.value)
    assert str(raised.value).startswith("failed to evaluate condition ")


def test_members_are_keys_never_attributes() -> None:
    # A mapping's Python attributes are out of reach: only its keys are members.
    assert evaluate("app.__class__", SUCCEEDED) is None
    assert evaluate("app.items", SUCCEEDED) is None
    assert evaluate("app['__dict__']", SUCCEEDED) is None
