"""How Applications read on a terminal: list rows, ``app get``'s summary and tables.

Only presentation lives here; the views take the API's JSON objects and return text
or rows, so they are the same for every verb that shows an application.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from tether.cli.output import fields_grid, table


def dig(obj: Mapping[str, Any] | None, dotted: str, default: Any = "") -> Any:
    """The value at ``dotted`` (``"status.sync.status"``) in nested maps, or ``default``."""
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return default if current is None else current


def short_revision(revision: str) -> str:
    """A commit SHA shortened to 7 characters (other revisions unchanged)."""
    is_sha = len(revision) == 40 and all(c in "0123456789abcdef" for c in revision)
    return revision[:7] if is_sha else revision


def first_source(app: Mapping[str, Any]) -> Mapping[str, Any]:
    """``spec.source``, or the first of ``spec.sources``."""
    source = dig(app, "spec.source", None)
    if isinstance(source, Mapping):
        return source
    sources = dig(app, "spec.sources", [])
    return sources[0] if sources and isinstance(sources[0], Mapping) else {}


def sync_policy(app: Mapping[str, Any]) -> str:
    """``Auto``, ``Auto-Prune`` or ``Manual`` (``argocd app list``'s SYNCPOLICY column)."""
    automated = dig(app, "spec.syncPolicy.automated", None)
    if automated is None or automated is False:
        return "Manual"
    if isinstance(automated, Mapping) and automated.get("enabled") is False:
        return "Manual"
    return "Auto-Prune" if isinstance(automated, Mapping) and automated.get("prune") else "Auto"


def conditions_summary(app: Mapping[str, Any]) -> str:
    """``Type`` names of the app's conditions, comma-separated, or ``<none>``."""
    conditions = dig(app, "status.conditions", [])
    return ",".join(str(c.get("type", "")) for c in conditions) or "<none>"


def application_row(app: dict[str, Any], wide: bool) -> dict[str, str]:
    """One ``app list`` row."""
    source = first_source(app)
    row = {
        "name": str(dig(app, "metadata.name")),
        "cluster": str(dig(app, "spec.destination.server") or dig(app, "spec.destination.name")),
        "namespace": str(dig(app, "spec.destination.namespace")),
        "project": str(dig(app, "spec.project") or "default"),
        "status": str(dig(app, "status.sync.status") or "Unknown"),
        "health": str(dig(app, "status.health.status") or "Unknown"),
        "syncpolicy": sync_policy(app),
        "conditions": conditions_summary(app),
        "repo": str(source.get("repoURL", "")),
        "path": str(source.get("path") or source.get("chart") or ""),
        "target": str(source.get("targetRevision", "")),
    }
    if wide:
        row["revision"] = short_revision(str(dig(app, "status.sync.revision")))
    return row


def _resource_messages(app: Mapping[str, Any]) -> dict[tuple[str, ...], Mapping[str, Any]]:
    """The last sync's result per object, by (group, kind, namespace, name)."""
    results = dig(app, "status.operationState.syncResult.resources", [])
    return {
        (
            str(r.get("group", "")),
            str(r.get("kind", "")),
            str(r.get("namespace", "")),
            str(r.get("name", "")),
        ): r
        for r in results
    }


def resource_rows(app: Mapping[str, Any]) -> list[list[str]]:
    """Rows of ``app get``'s and ``app resources``' object table."""
    messages = _resource_messages(app)
    rows = []
    for resource in dig(app, "status.resources", []):
        key = tuple(str(resource.get(f, "")) for f in ("group", "kind", "namespace", "name"))
        result = messages.get(key) or {}
        rows.append(
            [
                *key,
                str(resource.get("status", "")),
                str(dig(resource, "health.status")),
                str(result.get("hookType", "")) if resource.get("hook") else "",
                " ".join(str(result.get("message", "")).split()),
            ]
        )
    return rows


RESOURCE_HEADERS = ("group", "kind", "namespace", "name", "status", "health", "hook", "message")


def _sync_status(app: Mapping[str, Any]) -> str:
    status = str(dig(app, "status.sync.status") or "Unknown")
    target = str(first_source(app).get("targetRevision") or "HEAD")
    revision = short_revision(str(dig(app, "status.sync.revision")))
    if status == "Synced":
        return f"Synced to {target} ({revision})" if revision else f"Synced to {target}"
    return f"{status} from {target} ({revision})" if revision else f"{status} from {target}"


def summary_pairs(app: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``app get``'s header: field name and value pairs."""
    source = first_source(app)
    namespace = str(dig(app, "metadata.namespace") or "argocd")
    pairs = [
        ("Name", f"{namespace}/{dig(app, 'metadata.name')}"),
        ("Project", str(dig(app, "spec.project") or "default")),
        ("Server", str(dig(app, "spec.destination.server") or dig(app, "spec.destination.name"))),
        ("Namespace", str(dig(app, "spec.destination.namespace"))),
        ("Repo", str(source.get("repoURL", ""))),
        ("Target", str(source.get("targetRevision", ""))),
        ("Path", str(source.get("path") or source.get("chart") or "")),
        ("Sync Policy", sync_policy(app)),
        ("Sync Status", _sync_status(app)),
        ("Health Status", str(dig(app, "status.health.status") or "Unknown")),
    ]
    operation = dig(app, "status.operationState", None)
    if isinstance(operation, Mapping):
        pairs += [
            ("Operation", "Sync"),
            ("Sync Revision", str(dig(operation, "syncResult.revision") or "")),
            ("Phase", str(operation.get("phase", ""))),
            ("Start", str(operation.get("startedAt", ""))),
            ("Finished", str(operation.get("finishedAt", ""))),
            ("Message", " ".join(str(operation.get("message", "")).split())),
        ]
    return pairs


def application_view(app: Mapping[str, Any]) -> RenderableType:
    """``app get``: the summary, the conditions and the object table."""
    parts: list[RenderableType] = [fields_grid(summary_pairs(app))]
    conditions = dig(app, "status.conditions", [])
    if conditions:
        rows = [
            [
                str(c.get("type", "")),
                " ".join(str(c.get("message", "")).split()),
                str(c.get("lastTransitionTime", "")),
            ]
            for c in conditions
        ]
        parts += [Text(""), table(["condition", "message", "last transition"], rows)]
    parts += [Text(""), table(RESOURCE_HEADERS, resource_rows(app))]
    return Group(*parts)


def history_rows(app: Mapping[str, Any]) -> list[list[str]]:
    """``app history``: ID, deployed-at and revision of each ``status.history`` entry."""
    return [
        [
            str(entry.get("id", "")),
            str(entry.get("deployedAt", "")),
            str(entry.get("revision", "") or ",".join(entry.get("revisions") or [])),
        ]
        for entry in dig(app, "status.history", [])
    ]
