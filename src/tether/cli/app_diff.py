"""``tether app diff``: how an application's live objects differ from what Git declares.

The server's managed-resources answer carries, per object, the live state, the desired
state (when the server has a renderer) and ``modified``, the controller's verdict after
its normalisation and ``ignoreDifferences``. That verdict decides the exit code; the text
shown is a unified diff of the desired fields against the same fields of the live
object (fields the cluster adds, such as ``status`` or defaults, are left out), like
``argocd app diff``. Objects missing from the cluster or no longer in Git are listed
as such. A server without a renderer sends no desired states and answers
``/manifests`` with 501: the command says so and exits 2 rather than guess.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import typer
import yaml

from tether.cli.client import ApiClient, ApiError
from tether.cli.output import CommandError

#: Fields of a live object that its desired state never sets.
_SERVER_FIELDS = ("status",)
_SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
)


def project(live: Any, desired: Any) -> Any:
    """The part of ``live`` that ``desired`` speaks about (same keys, recursively)."""
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        return {key: project(live[key], value) for key, value in desired.items() if key in live}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [project(item, wanted) for item, wanted in zip(live, desired, strict=True)]
    return live


def _without_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    obj = {k: v for k, v in obj.items() if k not in _SERVER_FIELDS}
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        obj["metadata"] = {k: v for k, v in metadata.items() if k not in _SERVER_METADATA}
    return obj


def _load(state: Any) -> dict[str, Any] | None:
    if state in (None, "", "null"):
        return None
    loaded = json.loads(state) if isinstance(state, str) else state
    return loaded if isinstance(loaded, dict) else None


def object_diff(live: dict[str, Any] | None, target: dict[str, Any] | None) -> str:
    """The unified diff from ``live`` to ``target`` (YAML), restricted to desired fields."""
    before = (
        ""
        if live is None
        else yaml.safe_dump(
            project(live, _without_server_fields(target)) if target is not None else live,
            sort_keys=True,
        )
    )
    after = "" if target is None else yaml.safe_dump(_without_server_fields(target), sort_keys=True)
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile="live",
        tofile="desired",
    )
    return "".join(lines)


def _title(item: Mapping[str, Any]) -> str:
    group = item.get("group") or ""
    kind = item.get("kind", "")
    namespace = item.get("namespace") or ""
    where = f"{namespace}/{item.get('name', '')}" if namespace else str(item.get("name", ""))
    return f"===== {group + '/' if group else '/'}{kind} {where} ======"


def _require_renderer(client: ApiClient, name: str) -> None:
    """Fail clearly when the server cannot say what Git declares."""
    try:
        client.get(f"/api/v1/applications/{name}/manifests", f"render application {name}")
    except ApiError as error:
        if error.status == 501:
            raise CommandError(
                f"failed to diff application {name}: the server has no renderer, so it "
                "cannot tell the desired state (render offline with tether app manifests "
                "--local)"
            ) from error
        raise


def diff_application(client: ApiClient, name: str) -> bool:
    """Print the differences of application ``name``; whether there are any."""
    answer = client.get(
        f"/api/v1/applications/{name}/managed-resources",
        f"get managed resources of application {name}",
    )
    items = [i for i in answer.get("items") or [] if not i.get("hook")]
    # No desired state at all: either nothing is declared, or the server cannot render.
    if all(_load(i.get("targetState")) is None for i in items):
        _require_renderer(client, name)
    different = False
    for item in items:
        live, target = _load(item.get("liveState")), _load(item.get("targetState"))
        if not item.get("modified") and live is not None and target is not None:
            continue
        if live is None and target is None:
            continue
        different = True
        typer.echo(_title(item))
        if target is None:
            typer.echo("not in Git any more (pruned by a sync with --prune)")
            continue
        if live is None:
            typer.echo("missing from the cluster (created by the next sync)")
        text = object_diff(live, target)
        typer.echo(text or "differs only in fields that this view leaves out", nl=not text)
    return different
