"""``tether app``'s verbs that talk to the API server (``app manifests`` is offline).

Mirrors ``argocd app``: ``list``, ``get``, ``create``, ``set``, ``delete``, ``diff``,
``history``, ``resources``, ``events`` here; the operations (``sync``, ``rollback``,
``wait``, ``terminate-op``) in :mod:`tether.cli.app_operation_cmd`. Every verb takes
``--server`` and ``--auth-token``; the read verbs take ``-o json|yaml|wide|name``. Exit
codes: 0 done, 1 ``app diff`` found a difference, 2 an error (one line on stderr).
``delete`` asks for confirmation only on a terminal; elsewhere ``-y`` is required. The
commands are registered on the ``app`` group of :mod:`tether.cli.app_cmd`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from tether.cli.app_cmd import app
from tether.cli.app_diff import diff_application
from tether.cli.app_views import (
    RESOURCE_HEADERS,
    application_row,
    application_view,
    dig,
    history_rows,
    resource_rows,
)
from tether.cli.output import (
    EXIT_DIFFERENT,
    CommandError,
    Output,
    OutputFormat,
    ServerFlag,
    TokenFlag,
    dump,
    is_terminal,
    open_client,
    print_object,
    print_objects,
    print_table,
    reporting_errors,
    show,
)

API = "/api/v1/applications"
SyncOptions = Annotated[
    list[str] | None,
    typer.Option("--sync-option", help="A sync option such as CreateNamespace=true (repeat)."),
]


@app.command("list")
def list_command(
    output: Output = OutputFormat.TABLE,
    project: Annotated[
        list[str] | None, typer.Option("--project", "-p", help="Only this project (repeat).")
    ] = None,
    selector: Annotated[str, typer.Option("--selector", "-l", help="Label selector.")] = "",
    repo: Annotated[str, typer.Option("--repo", "-r", help="Only apps of this repository.")] = "",
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """List applications."""
    params: dict[str, Any] = {"projects": project or [], "selector": selector, "repo": repo}
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.get(API, "list applications", {k: v for k, v in params.items() if v})
    print_objects(answer.get("items") or [], output, application_row)


@app.command("get")
def get_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    output: Output = OutputFormat.TABLE,
    refresh: Annotated[bool, typer.Option("--refresh", help="Refresh from Git first.")] = False,
    hard_refresh: Annotated[
        bool, typer.Option("--hard-refresh", help="Refresh, re-rendering without caches.")
    ] = False,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Show an application: summary, conditions and objects."""
    params = {"refresh": "hard"} if hard_refresh else {"refresh": "normal"} if refresh else {}
    with reporting_errors(), open_client(server, auth_token) as client:
        obj = client.get(f"{API}/{name}", f"get application {name}", params)
    if not print_object(obj, output):
        show(application_view(obj))


def _application_from_flags(
    name: str,
    *,
    repo: str,
    path: str,
    revision: str,
    dest_server: str,
    dest_namespace: str,
    project: str,
    sync_policy: str,
    self_heal: bool,
    auto_prune: bool,
    sync_options: list[str],
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": project,
        "source": {"repoURL": repo, "path": path, "targetRevision": revision},
        "destination": {"server": dest_server, "namespace": dest_namespace},
    }
    policy = _sync_policy(name, sync_policy, self_heal, auto_prune)
    if sync_options:
        policy["syncOptions"] = sync_options
    if policy:
        spec["syncPolicy"] = policy
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": spec,
    }


def _sync_policy(name: str, policy: str, self_heal: bool, auto_prune: bool) -> dict[str, Any]:
    if policy in ("", "none", "manual"):
        if self_heal or auto_prune:
            raise CommandError(
                f"failed to configure application {name}: --self-heal and --auto-prune "
                "need --sync-policy automated"
            )
        return {}
    if policy not in ("automated", "auto", "automatic"):
        raise CommandError(
            f"failed to configure application {name}: unknown --sync-policy {policy} "
            "(automated or none)"
        )
    return {"automated": {"prune": auto_prune, "selfHeal": self_heal}}


def _read_application_file(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CommandError(f"failed to read {file}: {error}") from error
    if not isinstance(data, dict) or data.get("kind") != "Application":
        raise CommandError(f"failed to read {file}: expected one Application object")
    return data


@app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="Application name (with -f: optional).")] = "",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Create from this Application YAML.")
    ] = None,
    repo: Annotated[str, typer.Option("--repo", help="Repository URL.")] = "",
    path: Annotated[str, typer.Option("--path", help="Path in the repository.")] = "",
    revision: Annotated[str, typer.Option("--revision", help="Target revision.")] = "HEAD",
    dest_server: Annotated[
        str, typer.Option("--dest-server", help="Destination cluster URL.")
    ] = "https://kubernetes.default.svc",
    dest_namespace: Annotated[
        str, typer.Option("--dest-namespace", help="Destination namespace.")
    ] = "",
    project: Annotated[str, typer.Option("--project", help="AppProject.")] = "default",
    sync_policy: Annotated[str, typer.Option("--sync-policy", help="automated or none.")] = "none",
    self_heal: Annotated[bool, typer.Option("--self-heal", help="Revert live changes.")] = False,
    auto_prune: Annotated[bool, typer.Option("--auto-prune", help="Prune automatically.")] = False,
    sync_option: SyncOptions = None,
    upsert: Annotated[bool, typer.Option("--upsert", help="Replace a different app.")] = False,
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Create an application from flags or from a file (-f)."""
    with reporting_errors():
        if file is not None:
            body = _read_application_file(file)
            if name:
                body.setdefault("metadata", {})["name"] = name
        else:
            if not name or not repo:
                raise CommandError("failed to create application: NAME and --repo are required")
            body = _application_from_flags(
                name,
                repo=repo,
                path=path,
                revision=revision,
                dest_server=dest_server,
                dest_namespace=dest_namespace,
                project=project,
                sync_policy=sync_policy,
                self_heal=self_heal,
                auto_prune=auto_prune,
                sync_options=sync_option or [],
            )
        label = dig(body, "metadata.name")
        with open_client(server, auth_token) as client:
            params = {"upsert": "true"} if upsert else {}
            created = client.post(API, f"create application {label}", body, params)
    if not print_object(created, output):
        typer.echo(f"application '{dig(created, 'metadata.name')}' created")


@app.command("set")
def set_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    repo: Annotated[str | None, typer.Option("--repo", help="Repository URL.")] = None,
    path: Annotated[str | None, typer.Option("--path", help="Path in the repository.")] = None,
    revision: Annotated[str | None, typer.Option("--revision", help="Target revision.")] = None,
    dest_server: Annotated[str | None, typer.Option("--dest-server", help="Cluster URL.")] = None,
    dest_namespace: Annotated[
        str | None, typer.Option("--dest-namespace", help="Destination namespace.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", help="AppProject.")] = None,
    sync_policy: Annotated[
        str | None, typer.Option("--sync-policy", help="automated or none.")
    ] = None,
    self_heal: Annotated[
        bool | None, typer.Option("--self-heal/--no-self-heal", help="Revert live changes.")
    ] = None,
    auto_prune: Annotated[
        bool | None, typer.Option("--auto-prune/--no-auto-prune", help="Prune automatically.")
    ] = None,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Change an application's source, destination, project or sync policy."""
    with reporting_errors(), open_client(server, auth_token) as client:
        obj = client.get(f"{API}/{name}", f"get application {name}")
        spec = obj.setdefault("spec", {})
        source = spec["sources"][0] if spec.get("sources") else spec.setdefault("source", {})
        for key, value in (("repoURL", repo), ("path", path), ("targetRevision", revision)):
            if value is not None:
                source[key] = value
        destination = spec.setdefault("destination", {})
        for key, value in (("server", dest_server), ("namespace", dest_namespace)):
            if value is not None:
                destination[key] = value
        if project is not None:
            spec["project"] = project
        policy = spec.setdefault("syncPolicy", {})
        if sync_policy is not None:
            automated = _sync_policy(name, sync_policy, bool(self_heal), bool(auto_prune))
            if automated:
                policy["automated"] = automated["automated"]
            else:
                policy.pop("automated", None)
        elif self_heal is not None or auto_prune is not None:
            if "automated" not in policy:
                raise CommandError(
                    f"failed to update application {name}: it is not automated "
                    "(add --sync-policy automated)"
                )
            if self_heal is not None:
                policy["automated"]["selfHeal"] = self_heal
            if auto_prune is not None:
                policy["automated"]["prune"] = auto_prune
        client.put(f"{API}/{name}", f"update application {name}", obj)
    typer.echo(f"application '{name}' updated")


@app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    cascade: Annotated[
        bool, typer.Option("--cascade/--no-cascade", help="Delete the app's objects too.")
    ] = True,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Delete an application (and, with --cascade, the default, its objects)."""
    with reporting_errors():
        if not yes:
            if not is_terminal():
                raise CommandError(
                    f"failed to delete application {name}: confirm with -y "
                    "(stdin is not a terminal, so there is no prompt)"
                )
            what = "and all its resources" if cascade else "(its resources stay)"
            if not typer.confirm(f"Delete application '{name}' {what}?"):
                typer.echo("not deleted")
                return
        with open_client(server, auth_token) as client:
            client.delete(
                f"{API}/{name}",
                f"delete application {name}",
                {"cascade": "true" if cascade else "false"},
            )
    typer.echo(f"application '{name}' deleted")


@app.command("diff")
def diff_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Show how the live objects differ from Git. Exit 0: none, 1: some, 2: error."""
    with reporting_errors(), open_client(server, auth_token) as client:
        different = diff_application(client, name)
    if different:
        raise typer.Exit(EXIT_DIFFERENT)


@app.command("history")
def history_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """List the application's deployment history (IDs for rollback)."""
    with reporting_errors(), open_client(server, auth_token) as client:
        obj = client.get(f"{API}/{name}", f"get application {name}")
    history = dig(obj, "status.history", [])
    if output in (OutputFormat.JSON, OutputFormat.YAML):
        typer.echo(dump(history, output), nl=False)
    elif output is OutputFormat.NAME:
        for entry in history:
            typer.echo(str(entry.get("id", "")))
    else:
        print_table(["id", "date", "revision"], history_rows(obj))


@app.command("resources")
def resources_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """List the objects the application manages, with their sync status and health."""
    with reporting_errors(), open_client(server, auth_token) as client:
        obj = client.get(f"{API}/{name}", f"get application {name}")
    resources = dig(obj, "status.resources", [])
    if output in (OutputFormat.JSON, OutputFormat.YAML):
        typer.echo(dump(resources, output), nl=False)
    elif output is OutputFormat.NAME:
        for item in resources:
            typer.echo(f"{item.get('kind', '')}/{item.get('name', '')}")
    else:
        print_table(RESOURCE_HEADERS, resource_rows(obj))


def _event_row(event: dict[str, Any], wide: bool) -> dict[str, str]:
    involved = event.get("involvedObject") or {}
    row = {
        "last seen": str(event.get("lastTimestamp") or event.get("eventTime") or ""),
        "type": str(event.get("type", "")),
        "reason": str(event.get("reason", "")),
        "object": f"{involved.get('kind', '')}/{involved.get('name', '')}" if involved else "",
        "message": " ".join(str(event.get("message", "")).split()),
    }
    if wide:
        row["count"] = str(event.get("count", ""))
    return row


@app.command("events")
def events_command(
    name: Annotated[str, typer.Argument(help="Application name.")],
    resource_name: Annotated[
        str, typer.Option("--resource-name", help="Events of this object of the app instead.")
    ] = "",
    resource_namespace: Annotated[
        str, typer.Option("--resource-namespace", help="Namespace of --resource-name.")
    ] = "",
    output: Output = OutputFormat.TABLE,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """List Events about the application (or one of its objects)."""
    params = {"resourceName": resource_name, "resourceNamespace": resource_namespace}
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.get(
            f"{API}/{name}/events",
            f"list events of application {name}",
            {k: v for k, v in params.items() if v},
        )
    print_objects(answer.get("items") or [], output, _event_row)
