"""``tether appset``'s verbs that talk to the API server: ``list``, ``get``, ``create``, ``delete``.

Mirrors ``argocd appset``. ``list`` prints NAME, PROJECT, SYNCPOLICY, CONDITIONS (the
conditions that hold), REPO, PATH and TARGET of the template's source (``wide`` adds the
number of generated applications and the RollingSync step); ``get`` the summary, the
conditions and the generated applications as the controller last reported them;
``create FILE`` sends each ApplicationSet of a YAML file (``--upsert`` replaces a
different existing one, ``--dry-run`` shows what it would generate and writes nothing);
``delete NAME`` asks first on a terminal and needs ``-y`` elsewhere. Every verb takes
``--server``/``--auth-token`` and ``-o json|yaml|wide|name``; errors are one line on
stderr with exit code 2. ``generate`` is in :mod:`tether.cli.appset_cmd`, since it also
runs offline. The commands are registered on the ``appset`` group of that module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from tether.cli.app_views import dig, first_source
from tether.cli.appset_cmd import API, app, read_documents
from tether.cli.client import ApiClient, ApiError
from tether.cli.output import (
    CommandError,
    Output,
    OutputFormat,
    ServerFlag,
    TokenFlag,
    dump,
    fields_grid,
    is_terminal,
    open_client,
    print_object,
    print_objects,
    print_table,
    reporting_errors,
    show,
    table,
)


def sync_policy(appset: Mapping[str, Any]) -> str:
    """``spec.syncPolicy`` in a word: what the ApplicationSet may do to its applications."""
    policy = dig(appset, "spec.syncPolicy", {})
    words = [str(policy.get("applicationsSync") or "sync")] if policy else ["<none>"]
    if policy.get("preserveResourcesOnDeletion"):
        words.append("preserve-resources")
    return ",".join(words)


def true_conditions(appset: Mapping[str, Any]) -> str:
    """The types of the conditions whose status is ``True`` (as ``argocd appset list``)."""
    conditions = dig(appset, "status.conditions", [])
    return ",".join(str(c.get("type", "")) for c in conditions if c.get("status") == "True")


def rollout_step(appset: Mapping[str, Any]) -> str:
    """``current/total`` RollingSync step (the first with an application not yet Healthy)."""
    steps = dig(appset, "spec.strategy.rollingSync.steps", [])
    if not steps:
        return "-"
    pending = [
        int(step)
        for s in dig(appset, "status.applicationStatus", [])
        if s.get("status") != "Healthy" and (step := str(s.get("step", ""))).isdigit()
    ]
    return f"{min(pending) if pending else len(steps)}/{len(steps)}"


def applicationset_row(appset: dict[str, Any], wide: bool) -> dict[str, str]:
    """One ``appset list`` row."""
    template = dig(appset, "spec.template", {})
    source = first_source(template)
    row = {
        "name": str(dig(appset, "metadata.name")),
        "project": str(dig(template, "spec.project") or "default"),
        "syncpolicy": sync_policy(appset),
        "conditions": true_conditions(appset) or "<none>",
        "repo": str(source.get("repoURL", "")),
        "path": str(source.get("path") or source.get("chart") or ""),
        "target": str(source.get("targetRevision", "")),
    }
    if wide:
        row["apps"] = str(len(dig(appset, "status.resources", [])))
        row["step"] = rollout_step(appset)
    return row


def _generator_types(generators: Sequence[Any]) -> str:
    names = []
    for generator in generators:
        if isinstance(generator, Mapping):
            kind = next((k for k in generator if k != "selector"), "?")
            children = dig(generator, f"{kind}.generators", [])
            names.append(f"{kind}({_generator_types(children)})" if children else str(kind))
    return ", ".join(names)


def applicationset_view(appset: Mapping[str, Any]) -> RenderableType:
    """``appset get``: the summary, the conditions and the generated applications."""
    template = dig(appset, "spec.template", {})
    source = first_source(template)
    destination = dig(template, "spec.destination", {})
    pairs = [
        ("Name", f"{dig(appset, 'metadata.namespace')}/{dig(appset, 'metadata.name')}"),
        ("Project", str(dig(template, "spec.project") or "default")),
        ("Generators", _generator_types(dig(appset, "spec.generators", []))),
        ("Server", str(destination.get("server") or destination.get("name") or "")),
        ("Namespace", str(destination.get("namespace", ""))),
        ("Repo", str(source.get("repoURL", ""))),
        ("Target", str(source.get("targetRevision", ""))),
        ("Path", str(source.get("path") or source.get("chart") or "")),
        ("SyncPolicy", sync_policy(appset)),
        ("Strategy", str(dig(appset, "spec.strategy.type") or "AllAtOnce")),
    ]
    parts: list[RenderableType] = [fields_grid(pairs)]
    conditions = dig(appset, "status.conditions", [])
    if conditions:
        rows = [
            [
                str(c.get("type", "")),
                str(c.get("status", "")),
                " ".join(str(c.get("message", "")).split()),
                str(c.get("lastTransitionTime", "")),
            ]
            for c in conditions
        ]
        parts += [Text(""), table(["condition", "status", "message", "last transition"], rows)]
    parts += [Text(""), table(*_application_table(appset))]
    return Group(*parts)


def _application_table(appset: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The generated applications (``status.resources``), with rollout state when present."""
    rollout = {
        str(s.get("application", "")): s for s in dig(appset, "status.applicationStatus", [])
    }
    headers = ["application", "status", "health"]
    if rollout:
        headers += ["step", "rollout", "message"]
    rows = []
    for resource in dig(appset, "status.resources", []):
        name = str(resource.get("name", ""))
        row = [
            name,
            str(resource.get("status") or "Unknown"),
            str(dig(resource, "health.status") or "Unknown"),
        ]
        if rollout:
            state = rollout.get(name, {})
            message = " ".join(str(state.get("message", "")).split())
            row += [str(state.get("step", "")), str(state.get("status", "")), message]
        rows.append(row)
    return headers, rows


@app.command("list")
def list_command(
    output: Output = OutputFormat.TABLE,
    project: Annotated[
        list[str] | None, typer.Option("--project", "-p", help="Only this project (repeat).")
    ] = None,
    selector: Annotated[str, typer.Option("--selector", "-l", help="Label selector.")] = "",
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """List ApplicationSets."""
    params: dict[str, Any] = {"projects": project or [], "selector": selector}
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.get(API, "list applicationsets", {k: v for k, v in params.items() if v})
    print_objects(answer.get("items") or [], output, applicationset_row)


@app.command("get")
def get_command(
    name: Annotated[str, typer.Argument(help="ApplicationSet name.")],
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Show an ApplicationSet: summary, conditions and the applications it generated."""
    with reporting_errors(), open_client(server, auth_token) as client:
        obj = client.get(f"{API}/{name}", f"get applicationset {name}")
    if not print_object(obj, output):
        show(applicationset_view(obj))


def _applicationsets_in(file: Path) -> list[dict[str, Any]]:
    documents = read_documents(file)
    if not documents or any(
        not isinstance(d, dict) or d.get("kind") != "ApplicationSet" for d in documents
    ):
        raise CommandError(f"failed to read {file}: expected ApplicationSet documents only")
    return documents


def _existing(client: ApiClient, name: str) -> dict[str, Any] | None:
    """The ApplicationSet as it is now, or None when absent (or not visible to the caller)."""
    try:
        found: dict[str, Any] = client.get(f"{API}/{name}", f"get applicationset {name}")
    except ApiError as error:
        if error.status in (403, 404):
            return None
        raise
    return found


@app.command("create")
def create_command(
    file: Annotated[Path, typer.Argument(help="YAML file of one or more ApplicationSets.")],
    upsert: Annotated[
        bool, typer.Option("--upsert", help="Replace an existing one whose spec differs.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what it would generate; write nothing.")
    ] = False,
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Create ApplicationSets from a file (--upsert replaces, --dry-run only previews)."""
    params = {"upsert": str(upsert).lower(), "dryRun": str(dry_run).lower()}
    results: list[dict[str, Any]] = []
    with reporting_errors():
        bodies = _applicationsets_in(file)
        with open_client(server, auth_token) as client:
            for body in bodies:
                name = str(dig(body, "metadata.name"))
                before = None if dry_run else _existing(client, name)
                created = client.post(API, f"create applicationset {name}", body, params)
                results.append(created)
                if output in (OutputFormat.TABLE, OutputFormat.WIDE):
                    _report_created(created, before, dry_run=dry_run)
    if output in (OutputFormat.JSON, OutputFormat.YAML):
        typer.echo(dump(results if len(results) > 1 else results[0], output), nl=False)
    elif output is OutputFormat.NAME:
        for result in results:
            typer.echo(str(dig(result, "metadata.name")))


def _report_created(
    created: Mapping[str, Any], before: Mapping[str, Any] | None, *, dry_run: bool
) -> None:
    name = str(dig(created, "metadata.name"))
    if dry_run:
        resources = dig(created, "status.resources", [])
        typer.echo(f"applicationset '{name}' would generate {len(resources)} applications")
        print_table(["application"], [[str(r.get("name", ""))] for r in resources])
        return
    if before is None:
        action = "created"
    elif dig(before, "metadata.resourceVersion") == dig(created, "metadata.resourceVersion"):
        action = "unchanged"
    else:
        action = "updated"
    typer.echo(f"applicationset '{name}' {action}")


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="ApplicationSet name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Delete an ApplicationSet (its generated applications go too, unless it preserves them)."""
    with reporting_errors():
        if not yes:
            if not is_terminal():
                raise CommandError(
                    f"failed to delete applicationset {name}: confirm with -y "
                    "(stdin is not a terminal, so there is no prompt)"
                )
            if not typer.confirm(
                f"Delete applicationset '{name}' and the applications it generated?"
            ):
                typer.echo("not deleted")
                return
        with open_client(server, auth_token) as client:
            client.delete(f"{API}/{name}", f"delete applicationset {name}")
    typer.echo(f"applicationset '{name}' deleted")
