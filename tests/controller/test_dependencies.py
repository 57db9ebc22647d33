"""``tether.dev/depends-on``: parsing, cycles and what a sync waits for."""

from __future__ import annotations

from typing import Any

import pytest

from tether.controller.dependencies import evaluate_dependencies, find_cycle, parse_depends_on


def app(
    name: str, depends_on: str = "", sync: str = "Synced", health: str = "Healthy"
) -> dict[str, Any]:
    annotations = {"tether.dev/depends-on": depends_on} if depends_on else {}
    return {
        "metadata": {"name": name, "namespace": "argocd", "annotations": annotations},
        "status": {"sync": {"status": sync}, "health": {"status": health}},
    }


def lookup_of(*apps: dict[str, Any]) -> Any:
    by_key = {f"{a['metadata']['namespace']}/{a['metadata']['name']}": a for a in apps}
    return by_key.get


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("db", ("argocd/db",)),
        (" db , cache ,", ("argocd/db", "argocd/cache")),
        ("team-a/db,db,db", ("team-a/db", "argocd/db")),
        ("", ()),
    ],
)
def test_parse_depends_on(value: str, expected: tuple[str, ...]) -> None:
    assert parse_depends_on(value, "argocd") == expected


@pytest.mark.parametrize(
    ("apps", "cycle"),
    [
        ([app("a", "b"), app("b", "c"), app("c")], ()),
        ([app("a", "b"), app("b", "a")], ("argocd/a", "argocd/b")),
        ([app("a", "b"), app("b", "c"), app("c", "a")], ("argocd/a", "argocd/b", "argocd/c")),
        ([app("a", "a")], ("argocd/a",)),
        ([app("a", "b"), app("b", "c"), app("c", "b")], ()),  # a cycle a is not part of
    ],
)
def test_find_cycle(apps: list[dict[str, Any]], cycle: tuple[str, ...]) -> None:
    assert find_cycle("argocd/a", lookup_of(*apps)) == cycle


@pytest.mark.parametrize(
    ("dependency", "allowed", "shown"),
    [
        (app("db"), True, ""),
        (app("db", sync="OutOfSync"), False, "argocd/db is OutOfSync and Healthy"),
        (app("db", health="Progressing"), False, "argocd/db is Synced and Progressing"),
        (None, False, "argocd/db does not exist"),
    ],
)
def test_a_sync_waits_until_dependencies_are_synced_and_healthy(
    dependency: dict[str, Any] | None, allowed: bool, shown: str
) -> None:
    me = app("web", "db")
    apps = [me] + ([dependency] if dependency else [])
    verdict = evaluate_dependencies("argocd/web", me, lookup_of(*apps))
    assert verdict.allowed is allowed
    assert shown in verdict.reason
    assert verdict.waiting_on == (() if allowed else ("argocd/db",))


def test_a_cycle_is_reported_not_waited_on() -> None:
    me = app("web", "db")
    verdict = evaluate_dependencies("argocd/web", me, lookup_of(me, app("db", "web")))
    assert not verdict.allowed
    assert verdict.reason == "dependency cycle: argocd/web -> argocd/db -> argocd/web"
