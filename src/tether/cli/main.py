"""The root of the ``tether`` command tree and its entry point."""

from __future__ import annotations

import importlib

import typer
import typer.main
from rich.console import Console
from rich.table import Table
from typer._click.core import Command, Context  # typer's own (vendored) click types
from typer.core import TyperGroup

from tether import __version__
from tether.tools import ToolNotFoundError, find_tool

#: Command name -> (module, attribute, modules that add verbs to it). Each is imported
#: only when its command runs (or for ``--help``): importing them all costs a second,
#: which every invocation of the command would otherwise pay.
_LAZY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "up": ("tether.cli.up_cmd", "up_command", ()),
    "controller": ("tether.cli.controller_cmd", "controller_command", ()),
    "server": ("tether.cli.server_cmd", "server_command", ()),
    "login": ("tether.cli.login_cmd", "login_command", ()),
    "logout": ("tether.cli.login_cmd", "logout_command", ()),
    "context": ("tether.cli.login_cmd", "context_command", ()),
    "app": (
        "tether.cli.app_cmd",
        "app",
        ("tether.cli.app_api_cmd", "tether.cli.app_operation_cmd"),
    ),
    "appset": ("tether.cli.appset_cmd", "app", ("tether.cli.appset_api_cmd",)),
    "proj": ("tether.cli.proj_cmd", "app", ()),
    "repo": ("tether.cli.repo_cmd", "app", ()),
    "cluster": ("tether.cli.cluster_cmd", "app", ("tether.cli.cluster_api_cmd",)),
    "account": ("tether.cli.account_cmd", "app", ()),
    "image": ("tether.cli.promote_cmd", "image_app", ()),
    "promote": ("tether.cli.promote_cmd", "promote_command", ()),
    "admin": ("tether.cli.admin_cmd", "app", ()),
    "local-cluster": ("tether.cli.localcluster_cmd", "app", ()),
}


def _load(name: str) -> Command:
    module_name, attribute, extensions = _LAZY[name]
    target = getattr(importlib.import_module(module_name), attribute)
    for extension in extensions:
        importlib.import_module(extension)
    if isinstance(target, typer.Typer):
        group = typer.main.get_group(target)
        group.name = name
        return group
    single = typer.Typer()
    single.command(name)(target)
    return typer.main.get_command(single)


class _LazyGroup(TyperGroup):
    """The root group: built-in commands plus those of :data:`_LAZY`, loaded on demand."""

    def list_commands(self, ctx: Context) -> list[str]:
        """Every command name, without importing any command module."""
        return [*super().list_commands(ctx), *_LAZY]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command, importing its module the first time it is asked for."""
        if cmd_name in _LAZY and cmd_name not in self.commands:
            self.commands[cmd_name] = _load(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="tether",
    cls=_LazyGroup,
    help="GitOps continuous delivery that reads Argo CD's formats unchanged.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
