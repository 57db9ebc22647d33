"""Each object's options are its own, however many objects share (or lack) annotations.

plan_sync works an object's options out once per distinct set of the annotations that
carry them; these cases pin that objects with equal, different, absent and malformed
annotations each get the options they would get alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from tether.model import keys
from tether.model.syncoptions import DeleteOption, PruneOption, SyncOptions
from tether.sync import plan_sync


def configmap(name: str, annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "app"}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


ANNOTATIONS: list[dict[str, Any] | None] = [
    None,
    {},
    {"team": "a"},
    {keys.SYNC_OPTIONS: "Replace=true"},
    {keys.SYNC_OPTIONS: "Replace=true", "team": "b"},
    {keys.SYNC_OPTIONS: "Prune=false,Validate=false"},
    {keys.COMPARE_OPTIONS: "IgnoreExtraneous"},
    {keys.HELM_RESOURCE_POLICY: "keep"},
    {keys.HELM_RESOURCE_POLICY: "keep", keys.SYNC_OPTIONS: "Delete=true"},
]


@pytest.mark.parametrize("app_options", [[], ["Replace=true", "Validate=false"], ["Prune=false"]])
def test_every_object_gets_the_options_it_would_get_alone(app_options: list[str]) -> None:
    options = SyncOptions.parse(app_options)
    # Every annotation set several times over, interleaved, so shared results are reused.
    desired = [configmap(f"cm-{n}", ANNOTATIONS[n % len(ANNOTATIONS)]) for n in range(45)]
    plan = plan_sync(desired, {}, options=options, prune=True)
    by_name = {t.key.name: t.options for t in plan.tasks}
    for obj in desired:
        assert by_name[obj["metadata"]["name"]] == options.for_object(obj)


def test_annotations_steer_the_action_and_the_delete_policy() -> None:
    plain = configmap("plain")
    replaced = configmap("replaced", {keys.SYNC_OPTIONS: "Replace=true"})
    kept = configmap("kept", {keys.HELM_RESOURCE_POLICY: "keep"})
    plan = plan_sync(
        [plain, replaced, kept, configmap("plain-2")], {}, options=SyncOptions(), prune=True
    )
    tasks = {t.key.name: t for t in plan.tasks}
    assert tasks["replaced"].options.replace
    assert not tasks["plain"].options.replace
    assert tasks["kept"].options.delete is DeleteOption.DISABLED
    assert tasks["plain-2"].options is tasks["plain"].options  # worked out once
    assert tasks["plain"].options.prune is PruneOption.ENABLED


def test_annotations_the_options_ignore_do_not_matter_whatever_their_values() -> None:
    odd = configmap("odd", {keys.SYNC_OPTIONS: "Replace=true", "list": ["not", "a", "string"]})
    plan = plan_sync([odd, configmap("plain")], {}, options=SyncOptions(), prune=True)
    tasks = {t.key.name: t for t in plan.tasks}
    assert tasks["odd"].options.replace
    assert not tasks["plain"].options.replace
