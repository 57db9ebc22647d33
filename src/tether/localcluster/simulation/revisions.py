"""ControllerRevisions: the template history of StatefulSets and DaemonSets.

Each distinct template is stored once as a ControllerRevision named
``<owner>-<hash>`` (labelled ``controller.kubernetes.io/hash``), with the template
under ``data.spec.template`` marked ``$patch: replace`` as the controllers store it,
and a ``revision`` number one above the highest so far. Pods carry the revision name
in their ``controller-revision-hash`` label.
"""

from __future__ import annotations

import copy
from typing import Any

from tether.localcluster.simulation.context import Context, controller_ref
from tether.localcluster.simulation.rollout import template_hash
from tether.localcluster.watch import Entry

Obj = dict[str, Any]

REVISION_LABEL = "controller-revision-hash"
HASH_LABEL = "controller.kubernetes.io/hash"


def stored_template(revision: Entry) -> Obj:
    """The pod template a ControllerRevision holds."""
    template = copy.deepcopy(
        ((revision.obj.get("data") or {}).get("spec") or {}).get("template") or {}
    )
    template.pop("$patch", None)
    return template


async def ensure_revision(
    context: Context, owner: Entry, template: Obj
) -> tuple[Entry, list[Entry]]:
    """The revision of ``template`` (created if new) and every revision of ``owner``."""
    kinds = context.kinds
    namespace = owner.metadata.get("namespace", "")
    revisions = context.owned(kinds.controllerrevisions, namespace, owner.metadata["uid"])
    for revision in revisions:
        if stored_template(revision) == template:
            return revision, revisions
    digest = template_hash(template)
    selector = ((owner.obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    number = max((int(r.obj.get("revision") or 0) for r in revisions), default=0) + 1
    obj: Obj = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": f"{owner.metadata['name']}-{digest}",
            "labels": {**selector, HASH_LABEL: digest},
            "ownerReferences": [controller_ref(owner)],
        },
        "data": {"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}},
        "revision": number,
    }
    created = await context.create(kinds.controllerrevisions, namespace, obj)
    if created is None:
        found = context.get(kinds.controllerrevisions, namespace, obj["metadata"]["name"])
        if found is None:
            raise RuntimeError(
                f"failed to create controllerrevision {namespace}/{obj['metadata']['name']}"
            )
        created = found
    return created, [*revisions, created]


async def trim_revisions(
    context: Context, revisions: list[Entry], in_use: set[str], limit: int
) -> None:
    """Delete the oldest revisions no Pod uses, keeping ``limit`` of them."""
    idle = sorted(
        (r for r in revisions if r.metadata["name"] not in in_use),
        key=lambda r: int(r.obj.get("revision") or 0),
    )
    for revision in idle[: max(len(idle) - limit, 0)]:
        await context.delete(context.kinds.controllerrevisions, revision)
