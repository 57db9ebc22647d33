"""``tether proj``: AppProjects through the API server.

``list``, ``get``, ``create`` (from flags or ``-f FILE``), ``delete`` (a project still
used by an application is refused by the server), ``windows list`` (each sync window
and whether it is open now) and ``role create-token`` (prints the token once; it is not
kept anywhere else).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from tether.cli.app_views import dig
from tether.cli.output import (
    CommandError,
    Output,
    OutputFormat,
    ServerFlag,
    TokenFlag,
    dump,
    open_client,
    print_fields,
    print_object,
    print_objects,
    print_table,
    reporting_errors,
)
from tether.controller.syncwindows import WindowError, active_until
from tether.model import SpecError
from tether.model.project import AppProjectSpec

API = "/api/v1/projects"

app = typer.Typer(name="proj", help="Manage projects.", no_args_is_help=True)
windows_app = typer.Typer(name="windows", help="Inspect a project's sync windows.")
role_app = typer.Typer(name="role", help="Project roles and their tokens.")
app.add_typer(windows_app)
app.add_typer(role_app)


def _joined(items: Any, render: Any = str) -> str:
    return ",".join(render(i) for i in items or []) or "<none>"


def project_row(project: dict[str, Any], wide: bool) -> dict[str, str]:
    """One ``proj list`` row (argocd's columns)."""
    spec = dig(project, "spec", {})
    row = {
        "name": str(dig(project, "metadata.name")),
        "description": str(spec.get("description", "")),
        "destinations": _joined(
            spec.get("destinations"),
            lambda d: f"{d.get('server') or d.get('name', '')},{d.get('namespace', '')}",
        ),
        "sources": _joined(spec.get("sourceRepos")),
        "cluster-resource-whitelist": _joined(
            spec.get("clusterResourceWhitelist"),
            lambda r: f"{r.get('group', '')}/{r.get('kind', '')}",
        ),
    }
    if wide:
        row["roles"] = _joined(spec.get("roles"), lambda r: str(r.get("name", "")))
        row["windows"] = str(len(spec.get("syncWindows") or []))
    return row


@app.command("list")
def list_command(
    output: Output = OutputFormat.TABLE, server: ServerFlag = "", auth_token: TokenFlag = ""
) -> None:
    """List projects."""
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.get(API, "list projects")
    print_objects(answer.get("items") or [], output, project_row)


@app.command("get")
def get_command(
    name: Annotated[str, typer.Argument(help="Project name.")],
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Show a project."""
    with reporting_errors(), open_client(server, auth_token) as client:
        project = client.get(f"{API}/{name}", f"get project {name}")
    if print_object(project, output):
        return
    row = project_row(project, wide=True)
    print_fields([(key.capitalize().replace("-", " "), value) for key, value in row.items()])


@app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="Project name (with -f: optional).")] = "",
    file: Annotated[Path | None, typer.Option("--file", "-f", help="AppProject YAML.")] = None,
    description: Annotated[str, typer.Option("--description", help="Description.")] = "",
    dest: Annotated[
        list[str] | None,
        typer.Option("--dest", "-d", help="Destination SERVER,NAMESPACE (repeat)."),
    ] = None,
    src: Annotated[
        list[str] | None, typer.Option("--src", "-s", help="Allowed source repository (repeat).")
    ] = None,
    upsert: Annotated[bool, typer.Option("--upsert", help="Replace a different one.")] = False,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Create a project from flags or from a file (-f)."""
    with reporting_errors():
        body = _project_body(name, file, description, dest or [], src or [])
        label = dig(body, "metadata.name")
        with open_client(server, auth_token) as client:
            params = {"upsert": "true"} if upsert else {}
            client.post(API, f"create project {label}", body, params)
    typer.echo(f"project '{label}' created")


def _project_body(
    name: str, file: Path | None, description: str, dest: list[str], src: list[str]
) -> dict[str, Any]:
    if file is not None:
        try:
            body = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise CommandError(f"failed to read {file}: {error}") from error
        if not isinstance(body, dict) or body.get("kind") != "AppProject":
            raise CommandError(f"failed to read {file}: expected one AppProject object")
        if name:
            body.setdefault("metadata", {})["name"] = name
        return body
    if not name:
        raise CommandError("failed to create project: NAME or -f is required")
    destinations = []
    for item in dest:
        target, _, namespace = item.partition(",")
        if not target or not namespace:
            raise CommandError(f"failed to create project {name}: --dest {item} is not SERVER,NS")
        key = "server" if "://" in target else "name"
        destinations.append({key: target, "namespace": namespace})
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name},
        "spec": {"description": description, "destinations": destinations, "sourceRepos": src},
    }


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Project name.")],
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Delete a project (refused while an application uses it)."""
    with reporting_errors(), open_client(server, auth_token) as client:
        client.delete(f"{API}/{name}", f"delete project {name}")
    typer.echo(f"project '{name}' deleted")


def window_rows(project: dict[str, Any], now: datetime) -> list[list[str]]:
    """``proj windows list`` rows: ID, STATUS (Active now or not), and the window's fields."""
    try:
        spec = AppProjectSpec.from_dict(dig(project, "spec", {}))
    except SpecError as error:
        raise CommandError(
            f"failed to read project {dig(project, 'metadata.name')}: {error}"
        ) from error
    rows = []
    for index, window in enumerate(spec.sync_windows):
        try:
            active = active_until(window, now) is not None
        except WindowError as error:
            raise CommandError(f"failed to evaluate sync window {index}: {error}") from error
        rows.append(
            [
                str(index),
                "Active" if active else "Inactive",
                window.kind.value,
                window.schedule,
                window.duration,
                _joined(window.applications, str),
                _joined(window.namespaces, str),
                _joined(window.clusters, str),
                "Enabled" if window.manual_sync else "Disabled",
                window.time_zone or "UTC",
            ]
        )
    return rows


@windows_app.command("list")
def windows_list_command(
    name: Annotated[str, typer.Argument(help="Project name.")],
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """List a project's sync windows and whether each is open now."""
    with reporting_errors(), open_client(server, auth_token) as client:
        project = client.get(f"{API}/{name}", f"get project {name}")
        windows = dig(project, "spec.syncWindows", [])
        if output in (OutputFormat.JSON, OutputFormat.YAML):
            typer.echo(dump(windows, output), nl=False)
            return
        rows = window_rows(project, datetime.now(UTC))
    headers = ["id", "status", "kind", "schedule", "duration", "applications", "namespaces"]
    headers += ["clusters", "manualsync", "timezone"]
    print_table(headers, rows)


@role_app.command("create-token")
def create_token_command(
    project: Annotated[str, typer.Argument(help="Project name.")],
    role: Annotated[str, typer.Argument(help="Role name.")],
    expires_in: Annotated[
        int, typer.Option("--expires-in", "-e", help="Lifetime in seconds (0: never).", min=0)
    ] = 0,
    token_id: Annotated[str, typer.Option("--id", "-i", help="Token id.")] = "",
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Issue a token for a project role and print it (it is shown only this once)."""
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.post(
            f"{API}/{project}/roles/{role}/token",
            f"create a token for role {role} of project {project}",
            {"expiresIn": expires_in, "id": token_id},
        )
    typer.echo(str(answer.get("token", "")))
