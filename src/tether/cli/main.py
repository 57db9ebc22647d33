"""The root of the ``tether`` command tree and its entry point."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from tether import __version__
from tether.cli import (  # noqa: F401 - register their verbs
    app_api_cmd,
    app_operation_cmd,
    cluster_api_cmd,
)
from tether.cli.account_cmd import app as account_app
from tether.cli.admin_cmd import app as admin_app
from tether.cli.app_cmd import app as app_app
from tether.cli.appset_cmd import app as appset_app
from tether.cli.cluster_cmd import app as cluster_app
from tether.cli.controller_cmd import controller_command
from tether.cli.localcluster_cmd import app as localcluster_app
from tether.cli.login_cmd import context_command, login_command, logout_command
from tether.cli.proj_cmd import app as proj_app
from tether.cli.promote_cmd import image_app, promote_command
from tether.cli.repo_cmd import app as repo_app
from tether.cli.server_cmd import server_command
from tether.cli.up_cmd import up_command
from tether.tools import ToolNotFoundError, find_tool

app = typer.Typer(
    name="tether",
    help="GitOps continuous delivery that reads Argo CD's formats unchanged.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(admin_app)
app.add_typer(app_app)
app.add_typer(appset_app)
app.add_typer(cluster_app)
app.add_typer(localcluster_app)
app.command("server")(server_command)
app.command("up")(up_command)
app.command("controller")(controller_command)
app.add_typer(image_app)
app.command("promote")(promote_command)
app.add_typer(account_app)
app.add_typer(proj_app)
app.add_typer(repo_app)
app.command("login")(login_command)
app.command("logout")(logout_command)
app.command("context")(context_command)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"tether {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """GitOps continuous delivery that reads Argo CD's formats unchanged."""


@app.command("version")
def version_command() -> None:
    """Print tether's version and the external tools it will use."""
    console = Console()
    table = Table("component", "version / path", box=None)
    table.add_row("tether", __version__)
    for tool in ("kubectl", "helm"):
        try:
            table.add_row(tool, str(find_tool(tool)))
        except ToolNotFoundError as error:
            table.add_row(tool, f"[red]{error}[/red]")
    console.print(table)


def main() -> None:
    """Run the ``tether`` command."""
    app()
