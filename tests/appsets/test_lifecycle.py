"""Planning creates, updates and deletes: policies, ownership, preserved fields."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tether.controller.appsets.lifecycle import (
    OWNER_LABEL,
    ActionKind,
    plan,
    with_ownership,
)
from tether.model.applicationset import ApplicationSet


def appset(**spec: Any) -> ApplicationSet:
    return ApplicationSet.from_dict(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "set", "namespace": "argocd", "uid": "uid-1"},
            "spec": {
                "generators": [{"list": {"elements": []}}],
                "template": {"metadata": {"name": "x"}, "spec": {}},
                **spec,
            },
        }
    )


def app(name: str, revision: str = "HEAD", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", **metadata},
        "spec": {"project": "default", "source": {"targetRevision": revision}},
    }


def live(name: str, revision: str = "HEAD", owner: ApplicationSet | None = None) -> dict[str, Any]:
    found = with_ownership(app(name, revision), owner or appset())
    found["metadata"]["uid"] = f"app-{name}"
    return found


def kinds(result: Any) -> list[tuple[str, str]]:
    return [(a.kind.value, a.name) for a in result.actions]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, [("create", "new"), ("update", "changed"), ("delete", "gone")]),
        ("sync", [("create", "new"), ("update", "changed"), ("delete", "gone")]),
        ("create-only", [("create", "new")]),
        ("create-update", [("create", "new"), ("update", "changed")]),
        ("create-delete", [("create", "new"), ("delete", "gone")]),
    ],
)
def test_policies(policy: str | None, expected: list[tuple[str, str]]) -> None:
    owner = appset(**({"syncPolicy": {"applicationsSync": policy}} if policy else {}))
    desired = [app("new"), app("changed", "v2"), app("same")]
    current = [live("changed", "v1"), live("same"), live("gone")]
    result = plan(owner, desired, current)
    assert kinds(result) == expected


def test_created_applications_are_owned() -> None:
    (action,) = plan(appset(), [app("a")], []).actions
    assert action.desired is not None
    metadata = action.desired["metadata"]
    assert metadata["labels"][OWNER_LABEL] == "set"
    assert metadata["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "name": "set",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


def test_foreign_applications_are_conflicts_not_changes() -> None:
    other = appset()
    other_live = live(
        "theirs",
        owner=ApplicationSet.from_dict(
            other.to_dict() | {"metadata": {"name": "other", "namespace": "argocd", "uid": "u2"}}
        ),
    )
    by_hand = app("manual")
    result = plan(appset(), [app("theirs", "v9"), app("manual")], [other_live, by_hand])
    assert result.actions == ()
    assert [(c.name, c.owner) for c in result.conflicts] == [("theirs", "other"), ("manual", "")]


def test_protected_names_and_withheld_deletes() -> None:
    current = [live("broken"), live("gone")]
    assert kinds(plan(appset(), [], current, protected=frozenset({"broken"}))) == [
        ("delete", "gone")
    ]
    assert plan(appset(), [], current, allow_deletes=False).actions == ()


def test_preserved_fields_keep_live_values() -> None:
    owner = appset(preservedFields={"annotations": ["team/owner"], "labels": ["keep"]})
    current = live("a")
    current["metadata"]["annotations"] = {
        "team/owner": "alice",
        "argocd.argoproj.io/refresh": "hard",
        "other": "x",
    }
    current["metadata"]["labels"]["keep"] = "yes"
    (action,) = plan(owner, [app("a", "v2")], [current]).actions
    assert action.desired is not None
    assert action.desired["metadata"]["annotations"] == {
        "team/owner": "alice",
        "argocd.argoproj.io/refresh": "hard",
    }
    assert action.desired["metadata"]["labels"]["keep"] == "yes"


def test_ignore_application_differences() -> None:
    owner = appset(
        ignoreApplicationDifferences=[
            {"jsonPointers": ["/spec/source/targetRevision"]},
            {"name": "a", "jqPathExpressions": [".spec.syncPolicy"]},
        ]
    )
    current = live("a", "pinned-by-hand")
    current["spec"]["syncPolicy"] = {"automated": {}}
    desired = app("a", "HEAD")
    desired["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    assert plan(owner, [desired], [copy.deepcopy(current)]).actions == ()
    desired["spec"]["project"] = "other"
    (action,) = plan(owner, [desired], [current]).actions
    assert action.kind is ActionKind.UPDATE
    assert action.desired is not None
    assert action.desired["spec"]["source"]["targetRevision"] == "pinned-by-hand"
    assert action.desired["spec"]["syncPolicy"] == {"automated": {}}
