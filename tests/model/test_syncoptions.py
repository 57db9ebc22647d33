"""Sync options, hooks and waves read from lists and annotations as Argo CD reads them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.model import (
    HookDeletePolicy,
    HookType,
    SpecError,
    SyncOptions,
    hook_delete_policies_of,
    hook_types_of,
    is_hook,
    is_skipped,
    keys,
    wave_of,
)
from tether.model.syncoptions import DeleteOption, PropagationPolicy, PruneOption


def annotated(values: dict[str, str]) -> dict[str, Any]:
    """A Job carrying these annotations."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j", "annotations": values},
    }


# --- the app's list ----------------------------------------------------------------

PARSED = [
    ([], {}, ()),
    (["CreateNamespace=true"], {"create_namespace": True}, ()),
    (
        ["PruneLast=true", "ApplyOutOfSyncOnly=true"],
        {"prune_last": True, "apply_out_of_sync_only": True},
        (),
    ),
    (["Prune=confirm"], {"prune": PruneOption.CONFIRM}, ()),
    (["Prune=false"], {"prune": PruneOption.DISABLED}, ()),
    (["Delete=confirm"], {"delete": DeleteOption.CONFIRM}, ()),
    (["PrunePropagationPolicy=orphan"], {"prune_propagation_policy": PropagationPolicy.ORPHAN}, ()),
    (["Validate=false"], {"validate": False}, ()),
    (["SkipDryRunOnMissingResource=true"], {"skip_dry_run_on_missing_resource": True}, ()),
    (["FailOnSharedResource=true"], {"fail_on_shared_resource": True}, ()),
    (["RespectIgnoreDifferences=true"], {"respect_ignore_differences": True}, ()),
    (["Replace=true", "Force=true"], {"replace": True, "force": True}, ()),
    (["ServerSideApply=false"], {"server_side_apply": False}, ()),
    ([" CreateNamespace = true "], {"create_namespace": True}, ()),
    # Argo CD ignores what it does not know: kept and reported, never an error.
    (["Prune=maybe"], {}, ("Prune=maybe",)),
    (["PrunePropagationPolicy=later"], {}, ("PrunePropagationPolicy=later",)),
    (["Teleport=true", "CreateNamespace=TRUE"], {}, ("Teleport=true", "CreateNamespace=TRUE")),
    # Compare options do not belong in the sync options list.
    (["IgnoreExtraneous"], {}, ("IgnoreExtraneous",)),
    (["Replace=false", "Replace=true"], {"replace": True}, ()),
]


@pytest.mark.parametrize(("items", "expected", "unknown"), PARSED)
def test_app_options_are_parsed(
    items: list[str], expected: dict[str, Any], unknown: tuple[str, ...]
) -> None:
    options = SyncOptions.parse(items)
    for name, value in expected.items():
        assert getattr(options, name) == value, name
    assert options.explicit == frozenset(expected)
    assert options.unknown == unknown


def test_defaults_match_argo_cd_except_server_side_apply() -> None:
    options = SyncOptions.parse([])
    assert options.prune is PruneOption.ENABLED
    assert options.delete is DeleteOption.ENABLED
    assert options.prune_propagation_policy is PropagationPolicy.FOREGROUND
    assert options.validate
    assert not options.create_namespace
    assert options.server_side_apply  # tether applies server-side unless told otherwise


def test_explicit_options_write_back() -> None:
    items = ["CreateNamespace=true", "Prune=confirm", "ServerSideApply=false"]
    assert sorted(SyncOptions.parse(items).to_list()) == sorted(items)


# --- per-object annotations ----------------------------------------------------------

ANNOTATIONS = [
    ({keys.SYNC_OPTIONS: "Prune=false"}, {"prune": PruneOption.DISABLED}, ()),
    (
        {keys.SYNC_OPTIONS: "Replace=true, Force=true ,Validate=false"},
        {"replace": True, "force": True, "validate": False},
        (),
    ),
    ({keys.SYNC_OPTIONS: "Delete=confirm"}, {"delete": DeleteOption.CONFIRM}, ()),
    ({keys.SYNC_OPTIONS: "ServerSideApply=false"}, {"server_side_apply": False}, ()),
    ({keys.COMPARE_OPTIONS: "IgnoreExtraneous"}, {"ignore_extraneous": True}, ()),
    ({keys.COMPARE_OPTIONS: "ServerSideDiff=true"}, {"server_side_diff": True}, ()),
    # Helm's keep policy reads as Delete=false; an explicit Delete option wins over it.
    ({keys.HELM_RESOURCE_POLICY: "keep"}, {"delete": DeleteOption.DISABLED}, ()),
    (
        {keys.HELM_RESOURCE_POLICY: "keep", keys.SYNC_OPTIONS: "Delete=confirm"},
        {"delete": DeleteOption.CONFIRM},
        (),
    ),
    # App-level options mean nothing on one object: reported, not applied.
    ({keys.SYNC_OPTIONS: "CreateNamespace=true"}, {}, ("CreateNamespace=true",)),
    ({keys.SYNC_OPTIONS: "PrunePropagationPolicy=orphan"}, {}, ("PrunePropagationPolicy=orphan",)),
    ({keys.SYNC_OPTIONS: "IgnoreExtraneous"}, {}, ("IgnoreExtraneous",)),
    ({keys.SYNC_OPTIONS: ",,"}, {}, ()),
]


@pytest.mark.parametrize(("annotations", "expected", "unknown"), ANNOTATIONS)
def test_object_options_come_from_annotations(
    annotations: dict[str, str], expected: dict[str, Any], unknown: tuple[str, ...]
) -> None:
    options = SyncOptions.of_object(annotated(annotations))
    for name, value in expected.items():
        assert getattr(options, name) == value, name
    assert options.explicit == frozenset(expected)
    assert options.unknown == unknown


@pytest.mark.parametrize(
    ("app", "annotation", "field", "value"),
    [
        (["ServerSideApply=true"], "ServerSideApply=false", "server_side_apply", False),
        ([], "ServerSideApply=false", "server_side_apply", False),
        (["ServerSideApply=false"], "ServerSideApply=true", "server_side_apply", True),
        (["Replace=true"], "", "replace", True),
        (["Prune=confirm"], "Prune=false", "prune", PruneOption.DISABLED),
        (["PruneLast=true"], "PruneLast=false", "prune_last", False),
        (["CreateNamespace=true"], "Validate=false", "create_namespace", True),
    ],
)
def test_objects_override_the_app(app: list[str], annotation: str, field: str, value: Any) -> None:
    options = SyncOptions.parse(app).for_object(annotated({keys.SYNC_OPTIONS: annotation}))
    assert getattr(options, field) == value


# --- waves ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotations", "wave"),
    [
        ({}, 0),
        ({keys.SYNC_WAVE: "5"}, 5),
        ({keys.SYNC_WAVE: "-2"}, -2),
        ({keys.SYNC_WAVE: "+3"}, 3),
        ({keys.HELM_HOOK: "pre-install", keys.HELM_HOOK_WEIGHT: "-5"}, -5),
        ({keys.SYNC_WAVE: "1", keys.HELM_HOOK_WEIGHT: "-5"}, 1),
    ],
)
def test_wave_of(annotations: dict[str, str], wave: int) -> None:
    assert wave_of(annotated(annotations)) == wave


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (keys.SYNC_WAVE, "one"),
        (keys.SYNC_WAVE, "1.5"),
        (keys.SYNC_WAVE, ""),
        (keys.HELM_HOOK_WEIGHT, "x"),
    ],
)
def test_a_wave_that_is_not_an_integer_is_an_error(key: str, value: str) -> None:
    with pytest.raises(SpecError) as caught:
        wave_of(annotated({key: value}))
    assert caught.value.path == f"metadata.annotations[{key}]"


# --- hooks ---------------------------------------------------------------------------

PRE, POST, SYNC, SKIP = HookType.PRE_SYNC, HookType.POST_SYNC, HookType.SYNC, HookType.SKIP
HOOKS = [
    ({}, (), False, False),
    ({keys.HOOK: "PreSync"}, (PRE,), True, False),
    ({keys.HOOK: "PreSync,PostSync"}, (PRE, POST), True, False),
    ({keys.HOOK: "SyncFail"}, (HookType.SYNC_FAIL,), True, False),
    ({keys.HOOK: "PostDelete"}, (HookType.POST_DELETE,), True, False),
    ({keys.HOOK: "Skip"}, (SKIP,), False, True),
    ({keys.HOOK: "Skip,Sync"}, (SKIP, SYNC), True, False),
    # An unknown type is dropped; the object is still a hook (and never runs).
    ({keys.HOOK: "Before"}, (), True, False),
    # Argo CD's annotation wins over Helm's.
    ({keys.HOOK: "Sync", keys.HELM_HOOK: "pre-install"}, (SYNC,), True, False),
    ({keys.HELM_HOOK: "pre-install"}, (PRE,), True, False),
    ({keys.HELM_HOOK: "pre-install,pre-upgrade"}, (PRE,), True, False),
    ({keys.HELM_HOOK: "post-install, post-upgrade"}, (POST,), True, False),
    ({keys.HELM_HOOK: "pre-delete"}, (HookType.PRE_DELETE,), True, False),
    ({keys.HELM_HOOK: "post-delete"}, (HookType.POST_DELETE,), True, False),
    ({keys.HELM_HOOK: "pre-upgrade,test"}, (PRE,), True, False),
    # Helm hooks Argo CD does not support are skipped: never applied.
    ({keys.HELM_HOOK: "test"}, (SKIP,), False, True),
    ({keys.HELM_HOOK: "test-success"}, (SKIP,), False, True),
    ({keys.HELM_HOOK: "pre-rollback"}, (SKIP,), False, True),
    # crd-install marks a CRD, which is applied like any other object.
    ({keys.HELM_HOOK: "crd-install"}, (), False, False),
]


@pytest.mark.parametrize(("annotations", "types", "hook", "skipped"), HOOKS)
def test_hook_types_of(
    annotations: dict[str, str], types: tuple[HookType, ...], hook: bool, skipped: bool
) -> None:
    job = annotated(annotations)
    assert hook_types_of(job) == types
    assert is_hook(job) is hook
    assert is_skipped(job) is skipped


BEFORE = HookDeletePolicy.BEFORE_HOOK_CREATION
SUCCEEDED, FAILED = HookDeletePolicy.HOOK_SUCCEEDED, HookDeletePolicy.HOOK_FAILED


@pytest.mark.parametrize(
    ("annotations", "policies"),
    [
        ({}, (BEFORE,)),
        ({keys.HOOK_DELETE_POLICY: "HookSucceeded"}, (SUCCEEDED,)),
        ({keys.HOOK_DELETE_POLICY: "HookSucceeded,HookFailed"}, (SUCCEEDED, FAILED)),
        ({keys.HELM_HOOK_DELETE_POLICY: "hook-succeeded"}, (SUCCEEDED,)),
        ({keys.HELM_HOOK_DELETE_POLICY: "before-hook-creation,hook-failed"}, (BEFORE, FAILED)),
        (
            {keys.HOOK_DELETE_POLICY: "HookFailed", keys.HELM_HOOK_DELETE_POLICY: "hook-failed"},
            (FAILED,),
        ),
        ({keys.HOOK_DELETE_POLICY: "Never"}, (BEFORE,)),
    ],
)
def test_hook_delete_policies_of(
    annotations: dict[str, str], policies: tuple[HookDeletePolicy, ...]
) -> None:
    assert hook_delete_policies_of(annotated(annotations)) == policies


def test_objects_without_metadata_are_ordinary() -> None:
    bare = {"apiVersion": "v1", "kind": "ConfigMap"}
    assert (wave_of(bare), hook_types_of(bare), is_hook(bare)) == (0, (), False)


_VALID = [
    "CreateNamespace=true",
    "CreateNamespace=false",
    "PruneLast=true",
    "Prune=false",
    "Prune=confirm",
    "Delete=confirm",
    "PrunePropagationPolicy=background",
    "ApplyOutOfSyncOnly=true",
    "Validate=false",
    "Replace=true",
    "ServerSideApply=false",
    "FailOnSharedResource=true",
]


@given(st.lists(st.sampled_from(_VALID)))
def test_written_options_read_back_the_same(items: list[str]) -> None:
    options = SyncOptions.parse(items)
    assert SyncOptions.parse(options.to_list()) == options
