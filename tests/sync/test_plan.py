"""plan_sync orders phases, waves, kinds and prunes as Argo CD does."""

from __future__ import annotations

from typing import Any

import pytest

from tether.model import ResourceKey, SpecError, SyncPhase
from tether.model.syncoptions import SyncOptions
from tether.sync import Action, kind_rank, name_hooks, plan_sync


def obj(
    kind: str, name: str, *, api: str = "v1", ns: str = "app", **annotations: str
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": ns}
    if annotations:
        metadata["annotations"] = {
            k.replace("__", "/").replace("_", "-"): v for k, v in annotations.items()
        }
    return {"apiVersion": api, "kind": kind, "metadata": metadata}


def wave(n: int) -> dict[str, str]:
    return {"argocd.argoproj.io__sync_wave": str(n)}


def hook(kind: str, **extra: str) -> dict[str, str]:
    return {"argocd.argoproj.io__hook": kind, **extra}


def labels(plan: Any) -> list[str]:
    return [step.label for step in plan.steps]


def names(plan: Any) -> list[list[str]]:
    return [[t.key.name for t in step.tasks] for step in plan.steps]


def test_phases_waves_and_kind_order() -> None:
    desired = [
        obj("Deployment", "web", api="apps/v1", **wave(1)),
        obj("ConfigMap", "config", **wave(1)),
        obj("Service", "svc"),
        obj("Namespace", "app", ns=""),
        obj("Job", "migrate", api="batch/v1", **hook("PreSync")),
        obj("Job", "smoke", api="batch/v1", **hook("PostSync")),
        obj("Widget", "w", api="example.com/v1", **wave(1)),
    ]
    plan = plan_sync(desired, {}, options=SyncOptions(), prune=False)
    assert labels(plan) == ["PreSync wave 0", "Sync wave 0", "Sync wave 1", "PostSync wave 0"]
    assert names(plan) == [["migrate"], ["app", "svc"], ["config", "web", "w"], ["smoke"]]
    assert [t.action for t in plan.steps[0].tasks] == [Action.HOOK]


def test_custom_resources_come_after_every_known_kind() -> None:
    assert kind_rank("Namespace") < kind_rank("CustomResourceDefinition") < kind_rank("Deployment")
    assert kind_rank("Widget") > kind_rank("APIService")


def test_prunes_run_after_applies_in_reverse_wave_order_and_prune_last_at_the_end() -> None:
    live_objs = {
        ResourceKey("", "ConfigMap", "app", "old-a"): obj("ConfigMap", "old-a", **wave(0)),
        ResourceKey("apps", "Deployment", "app", "old-b"): obj(
            "Deployment", "old-b", api="apps/v1", **wave(2)
        ),
        ResourceKey("", "Secret", "app", "old-c"): obj(
            "Secret", "old-c", **{"argocd.argoproj.io__sync_options": "PruneLast=true"}
        ),
    }
    plan = plan_sync(
        [obj("ConfigMap", "keep")],
        live_objs,
        options=SyncOptions(),
        prune=True,
        prune_candidates=list(live_objs),
    )
    assert labels(plan) == ["Sync wave 0", "prune wave 2", "prune wave 0", "prune last"]
    assert names(plan)[1:] == [["old-b"], ["old-a"], ["old-c"]]
    assert all(t.action is Action.PRUNE for s in plan.steps[1:] for t in s.tasks)


def test_prunes_come_before_post_sync_hooks() -> None:
    key = ResourceKey("", "ConfigMap", "app", "gone")
    plan = plan_sync(
        [obj("Job", "smoke", api="batch/v1", **hook("PostSync"))],
        {key: obj("ConfigMap", "gone")},
        options=SyncOptions(),
        prune=True,
        prune_candidates=[key],
    )
    assert labels(plan) == ["prune wave 0", "PostSync wave 0"]


@pytest.mark.parametrize(
    ("annotation", "prune", "confirmed", "pruned", "reason"),
    [
        ("", False, False, False, "pruning is not enabled for this sync"),
        ("", True, False, True, ""),
        ("Prune=false", True, False, False, "pruning disabled for this object (Prune=false)"),
        ("Prune=confirm", True, False, False, "pruning needs confirmation (Prune=confirm)"),
        ("Prune=confirm", True, True, True, ""),
    ],
)
def test_prune_options(
    annotation: str, prune: bool, confirmed: bool, pruned: bool, reason: str
) -> None:
    key = ResourceKey("", "ConfigMap", "app", "gone")
    live = obj(
        "ConfigMap",
        "gone",
        **({"argocd.argoproj.io__sync_options": annotation} if annotation else {}),
    )
    plan = plan_sync(
        [],
        {key: live},
        options=SyncOptions(),
        prune=prune,
        prune_candidates=[key],
        confirmed=confirmed,
    )
    assert bool(plan.tasks) is pruned
    assert plan.skipped == (((key, reason),) if reason else ())


def test_hooks_with_several_types_run_in_each_phase_and_sync_fail_hooks_apart() -> None:
    desired = [
        obj("Job", "both", api="batch/v1", **hook("PreSync,PostSync")),
        obj("Job", "cleanup", api="batch/v1", **hook("SyncFail")),
        obj("ConfigMap", "skipped", **hook("Skip")),
    ]
    plan = plan_sync(desired, {}, options=SyncOptions(), prune=False)
    assert [(s.phase, [t.key.name for t in s.tasks]) for s in plan.steps] == [
        (SyncPhase.PRE_SYNC, ["both"]),
        (SyncPhase.POST_SYNC, ["both"]),
    ]
    assert [t.key.name for t in plan.fail_hooks] == ["cleanup"]
    assert plan.skipped == (
        (ResourceKey("", "ConfigMap", "app", "skipped"), "annotated to be skipped"),
    )


def test_helm_hooks_map_to_phases_and_weights_to_waves() -> None:
    desired = [
        obj(
            "Job",
            "pre",
            api="batch/v1",
            **{"helm.sh__hook": "pre-install", "helm.sh__hook_weight": "-1"},
        ),
        obj("Job", "post", api="batch/v1", **{"helm.sh__hook": "post-upgrade"}),
    ]
    plan = plan_sync(desired, {}, options=SyncOptions(), prune=False)
    assert labels(plan) == ["PreSync wave -1", "PostSync wave 0"]


def test_selective_sync_skips_hooks_and_unselected_objects() -> None:
    chosen = ResourceKey("", "ConfigMap", "app", "a")
    desired = [
        obj("ConfigMap", "a"),
        obj("ConfigMap", "b"),
        obj("Job", "h", api="batch/v1", **hook("PreSync")),
    ]
    plan = plan_sync(desired, {}, options=SyncOptions(), prune=False, selected={chosen})
    assert [t.key for t in plan.tasks] == [chosen]
    assert any("selective" in reason for _, reason in plan.skipped)


def test_apply_out_of_sync_only_and_replace() -> None:
    stale = ResourceKey("", "ConfigMap", "app", "stale")
    options = SyncOptions.parse(["ApplyOutOfSyncOnly=true", "Replace=true"])
    plan = plan_sync(
        [obj("ConfigMap", "fresh"), obj("ConfigMap", "stale")],
        {},
        options=options,
        prune=False,
        out_of_sync={stale},
    )
    assert [(t.key, t.action) for t in plan.tasks] == [(stale, Action.REPLACE)]


def test_a_bad_wave_annotation_is_an_error_naming_it() -> None:
    with pytest.raises(SpecError, match="sync-wave"):
        plan_sync(
            [obj("ConfigMap", "a", **{"argocd.argoproj.io__sync_wave": "soon"})],
            {},
            options=SyncOptions(),
            prune=False,
        )


def test_generate_name_hooks_get_stable_names() -> None:
    template = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "generateName": "migrate-",
            "annotations": {"argocd.argoproj.io/hook": "PreSync"},
        },
    }
    plain = obj("ConfigMap", "c")
    first = name_hooks([template, plain], "abcde")
    again = name_hooks([template, plain], "abcde")
    other = name_hooks([template], "fghij")
    assert first == again
    assert first[0]["metadata"]["name"].startswith("migrate-")
    assert first[0]["metadata"]["name"] != other[0]["metadata"]["name"]
    assert first[1] == plain


def test_delete_hooks_are_left_to_application_deletion() -> None:
    desired = [
        obj("Job", "cleanup", api="batch/v1", **hook("PostDelete")),
        obj("Job", "both", api="batch/v1", **hook("PreSync,PreDelete")),
    ]
    plan = plan_sync(desired, {}, options=SyncOptions(), prune=False)
    assert [(s.phase, [t.key.name for t in s.tasks]) for s in plan.steps] == [
        (SyncPhase.PRE_SYNC, ["both"])
    ]
    assert plan.skipped == (
        (ResourceKey("batch", "Job", "app", "cleanup"), "runs when the application is deleted"),
    )
