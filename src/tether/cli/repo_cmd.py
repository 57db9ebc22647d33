"""``tether repo``: repositories and their credentials, through the API server.

Credentials (password, SSH key, TLS client key, bearer token) are write-only: ``add``
sends them, the server keeps them in a Secret, and nothing ever shows them again
(``list`` says only whether a repository has credentials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tether.cli.client import path_segment
from tether.cli.output import (
    CommandError,
    Output,
    OutputFormat,
    ServerFlag,
    TokenFlag,
    is_terminal,
    open_client,
    print_objects,
    reporting_errors,
)

API = "/api/v1/repositories"

app = typer.Typer(name="repo", help="Manage repositories.", no_args_is_help=True)


def repository_row(repo: dict[str, Any], wide: bool) -> dict[str, str]:
    """One ``repo list`` row."""
    row = {
        "type": str(repo.get("type", "git")),
        "name": str(repo.get("name", "")),
        "repo": str(repo.get("repo", "")),
        "insecure": str(bool(repo.get("insecure", False))).lower(),
        "creds": str(bool(repo.get("hasCredentials", False))).lower(),
    }
    if wide:
        row["project"] = str(repo.get("project", ""))
    return row


def _read_key(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text()
    except OSError as error:
        raise CommandError(f"failed to read {path}: {error.strerror or error}") from error


@app.command("add")
def add_command(
    url: Annotated[str, typer.Argument(help="Repository URL.")],
    username: Annotated[str, typer.Option("--username", help="User name.")] = "",
    password: Annotated[str, typer.Option("--password", help="Password or access token.")] = "",
    ssh_private_key_path: Annotated[
        Path | None, typer.Option("--ssh-private-key-path", help="SSH private key file.")
    ] = None,
    bearer_token: Annotated[str, typer.Option("--bearer-token", help="Bearer token.")] = "",
    repo_type: Annotated[str, typer.Option("--type", help="git, helm or oci.")] = "git",
    name: Annotated[str, typer.Option("--name", help="Name (for Helm repositories).")] = "",
    project: Annotated[str, typer.Option("--project", help="Project-scoped repository.")] = "",
    insecure: Annotated[
        bool,
        typer.Option("--insecure-skip-server-verification", help="Skip TLS and host key checks."),
    ] = False,
    upsert: Annotated[bool, typer.Option("--upsert", help="Replace an existing one.")] = False,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Register a repository (its credentials are kept by the server, never shown)."""
    with reporting_errors():
        if username and not password and not ssh_private_key_path:
            if not is_terminal():
                raise CommandError(
                    f"failed to add repository {url}: --username needs --password "
                    "(stdin is not a terminal, so there is no prompt)"
                )
            password = typer.prompt("Password", hide_input=True)
        body = {
            "repo": url,
            "type": repo_type,
            "name": name,
            "project": project,
            "username": username,
            "password": password,
            "sshPrivateKey": _read_key(ssh_private_key_path),
            "bearerToken": bearer_token,
            "insecure": insecure,
        }
        with open_client(server, auth_token) as client:
            params = {"upsert": "true"} if upsert else {}
            client.post(API, f"add repository {url}", {k: v for k, v in body.items() if v}, params)
    typer.echo(f"repository '{url}' added")


@app.command("list")
def list_command(
    output: Output = OutputFormat.TABLE, server: ServerFlag = "", auth_token: TokenFlag = ""
) -> None:
    """List repositories (credentials are never shown)."""
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.get(API, "list repositories")
    print_objects(answer.get("items") or [], output, repository_row, lambda r: str(r["repo"]))


@app.command("rm")
def remove_command(
    url: Annotated[str, typer.Argument(help="Repository URL.")],
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Remove a repository and its credentials."""
    with reporting_errors(), open_client(server, auth_token) as client:
        client.delete(f"{API}/{path_segment(url)}", f"remove repository {url}")
    typer.echo(f"repository '{url}' removed")
