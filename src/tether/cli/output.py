"""How the API verbs print: ``-o json|yaml|wide|name``, tables, errors and exit codes.

Tables are rich tables without borders, one row per object, header in capitals as
``argocd`` prints them; off a terminal they are never wrapped or coloured, so scripts
can cut columns. ``json`` and ``yaml`` print the server's objects unchanged (a list for
list verbs), ``name`` prints one name per line.

Exit codes shared by every verb: 0 done, 1 a difference was found (``app diff``), 2 an
error, told in one line on stderr.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console, RenderableType
from rich.table import Table

from tether.cli.client import ApiClient, ApiError, connect
from tether.cli.contexts import ConfigFileError

EXIT_ERROR = 2
EXIT_DIFFERENT = 1


class OutputFormat(StrEnum):
    """Values of ``-o``."""

    TABLE = "table"
    WIDE = "wide"
    JSON = "json"
    YAML = "yaml"
    NAME = "name"


class CommandError(Exception):
    """A command cannot do what it was asked (bad flags, a refused precondition)."""


Output = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="json, yaml, wide, name or table.")
]
ServerFlag = Annotated[
    str, typer.Option("--server", help="API server (default: the current context).")
]
TokenFlag = Annotated[
    str,
    typer.Option("--auth-token", help="Token to send (default: the context's; TETHER_AUTH_TOKEN)."),
]


def is_terminal() -> bool:
    """Whether stdin is a terminal (prompts and live progress only then)."""
    return sys.stdin.isatty()


def open_client(server: str, auth_token: str) -> ApiClient:
    """A client for the server chosen by the flags, environment and config file."""
    return ApiClient(connect(server, auth_token))


@contextlib.contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn the CLI's errors into one line on stderr and exit code 2."""
    try:
        yield
    except (ApiError, ConfigFileError, CommandError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from None


def dump(data: Any, fmt: OutputFormat) -> str:
    """``data`` as JSON (indented, keys in server order) or YAML."""
    if fmt is OutputFormat.YAML:
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return json.dumps(data, indent=2) + "\n"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    """A borderless table with ``headers`` (printed in capitals)."""
    result = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header in headers:
        result.add_column(header.upper(), no_wrap=True, overflow="ignore")
    for row in rows:
        result.add_row(*row)
    return result


def show(renderable: RenderableType) -> None:
    """Print a rich view; off a terminal without colour, wrapping or trailing blanks."""
    if sys.stdout.isatty():
        Console().print(renderable)
        return
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, no_color=True, highlight=False).print(renderable)
    for line in buffer.getvalue().splitlines():
        typer.echo(line.rstrip())


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a table on stdout."""
    show(table(headers, rows))


def print_fields(pairs: Sequence[tuple[str, str]]) -> None:
    """Print ``Field:  value`` lines, values aligned (the header of ``get`` views)."""
    show(fields_grid(pairs))


def fields_grid(pairs: Sequence[tuple[str, str]]) -> Table:
    """``Field:  value`` pairs as a borderless two-column grid."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="ignore")
    for key, value in pairs:
        grid.add_row(f"{key}:", value)
    return grid


def print_objects(
    items: Sequence[dict[str, Any]],
    fmt: OutputFormat,
    columns: Callable[[dict[str, Any], bool], dict[str, str]],
    name: Callable[[dict[str, Any]], str] = lambda item: str(item["metadata"]["name"]),
) -> None:
    """Print a list of objects in ``fmt``; ``columns(item, wide)`` gives a table row."""
    if fmt in (OutputFormat.JSON, OutputFormat.YAML):
        typer.echo(dump(list(items), fmt), nl=False)
    elif fmt is OutputFormat.NAME:
        for item in items:
            typer.echo(name(item))
    else:
        wide = fmt is OutputFormat.WIDE
        rows = [columns(item, wide) for item in items]
        headers = list(rows[0]) if rows else list(columns({}, wide))
        print_table(headers, [list(row.values()) for row in rows])


def print_object(obj: dict[str, Any], fmt: OutputFormat) -> bool:
    """Print ``obj`` as JSON, YAML or its name; False when ``fmt`` is a human view."""
    if fmt in (OutputFormat.JSON, OutputFormat.YAML):
        typer.echo(dump(obj, fmt), nl=False)
        return True
    if fmt is OutputFormat.NAME:
        typer.echo(str((obj.get("metadata") or {}).get("name", "")))
        return True
    return False
