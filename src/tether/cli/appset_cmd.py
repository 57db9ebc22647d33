"""``tether appset``: verbs on ApplicationSets.

``list``, ``get``, ``create`` and ``delete`` talk to the API server
(:mod:`tether.cli.appset_api_cmd`). ``generate FILE`` prints the Applications an
ApplicationSet would create, writing nothing, in one of two ways:

- through the server (``POST /api/v1/applicationsets/generate``), which runs the
  generators against the real repositories and cluster Secrets, when a server is
  known (``--server``, ``TETHER_SERVER`` or the current context) and no offline
  input is given;
- offline, when ``--local`` or ``--clusters`` is given or no server is known:
  ``--local DIR`` stands in for every Git generator's ``repoURL``; ``--local URL=DIR``
  (repeatable) maps one ``repoURL`` to a folder. Folders are read as they are on
  disk (``revision`` is not consulted). ``--clusters FILE`` (repeatable) holds
  cluster Secrets (and any Secret or ConfigMap a generator reads) as YAML
  documents; without it the clusters generator sees only the local ``in-cluster``.

``-o yaml`` (default) prints a ``---``-separated stream, ``-o json`` a JSON list,
``-o name`` the names, ``-o table``/``wide`` a table. Errors (unreadable input, a
failing generator, an Application that does not render, a refusal from the server)
are one line on stderr and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from tether.cli.client import ApiClient, ApiError, Connection, connect
from tether.cli.output import (
    EXIT_ERROR,
    CommandError,
    Output,
    OutputFormat,
    ServerFlag,
    TokenFlag,
    print_table,
    reporting_errors,
)
from tether.controller.appsets.errors import AppSetError
from tether.controller.appsets.generate import generate
from tether.controller.appsets.generator import GenerationContext
from tether.controller.appsets.render import render_applications
from tether.controller.appsets.sources import LocalRepositories, StaticInputs
from tether.model import SpecError
from tether.model.applicationset import ApplicationSet

app = typer.Typer(name="appset", help="Work with ApplicationSets.", no_args_is_help=True)

API = "/api/v1/applicationsets"


class InputError(Exception):
    """A file or flag given to the command is unusable."""


def read_documents(path: Path) -> list[Any]:
    """The YAML documents of ``path`` (empty ones left out); :class:`CommandError` if unreadable."""
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as error:
        raise CommandError(f"failed to read {path}: {' '.join(str(error).split())}") from error


def _documents(path: Path) -> list[Any]:
    try:
        return read_documents(path)
    except CommandError as error:
        raise InputError(str(error)) from error


def read_appset(path: Path) -> ApplicationSet:
    """The single ApplicationSet in ``path``."""
    documents = _documents(path)
    if len(documents) != 1:
        raise InputError(f"failed to read {path}: expected one ApplicationSet document")
    try:
        return ApplicationSet.from_dict(documents[0])
    except SpecError as error:
        raise InputError(f"failed to read {path}: {error}") from error


def local_repositories(local: Sequence[str]) -> LocalRepositories:
    """``--local DIR`` and ``--local URL=DIR`` as folder mappings."""
    folders: dict[str, Path] = {}
    default: Path | None = None
    for entry in local:
        url, sep, folder = entry.rpartition("=")
        if sep and url:
            folders[url] = Path(folder)
        elif default is not None:
            raise InputError("--local DIR may be given once; map more folders with URL=DIR")
        else:
            default = Path(entry)
    for path in [*folders.values(), *([default] if default else [])]:
        if not path.is_dir():
            raise InputError(f"--local {path}: not a folder")
    return LocalRepositories(folders, default)


async def generate_applications(
    path: Path, local: Sequence[str], clusters: Sequence[Path]
) -> list[dict[str, Any]]:
    """The Applications the ApplicationSet in ``path`` generates from local inputs."""
    appset = read_appset(path)
    objects = [d for f in clusters for d in _documents(f) if isinstance(d, dict)]
    inputs = StaticInputs(objects)
    ctx = GenerationContext(appset, local_repositories(local), inputs, inputs)
    results, _ = await generate(ctx)
    rendered = render_applications(appset, results)
    if rendered.failures:
        raise rendered.failures[0]
    return list(rendered.applications)


def generate_on_server(connection: Connection, path: Path) -> list[dict[str, Any]]:
    """The Applications the server generates for the ApplicationSet in ``path``."""
    documents = read_documents(path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise CommandError(f"failed to read {path}: expected one ApplicationSet document")
    name = str((documents[0].get("metadata") or {}).get("name", ""))
    with ApiClient(connection) as client:
        answer = client.post(
            f"{API}/generate",
            f"generate the applications of applicationset {name}",
            {"applicationSet": documents[0]},
        )
    return list(answer.get("applications") or [])


def _server(server: str, auth_token: str) -> Connection | None:
    """The server to generate on, or None when none is known (then generation is offline)."""
    try:
        return connect(server, auth_token)
    except ApiError:
        return None  # connect only fails when no server is given nor configured


def _generated_row(application: dict[str, Any]) -> list[str]:
    spec = application.get("spec") or {}
    source: dict[str, Any] = spec.get("source") or next(iter(spec.get("sources") or []), {})
    destination = spec.get("destination") or {}
    return [
        str((application.get("metadata") or {}).get("name", "")),
        str(spec.get("project") or "default"),
        str(destination.get("server") or destination.get("name") or ""),
        str(destination.get("namespace", "")),
        str(source.get("repoURL", "")),
        str(source.get("path") or source.get("chart") or ""),
        str(source.get("targetRevision", "")),
    ]


def _print_generated(apps: list[dict[str, Any]], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(apps, indent=2, sort_keys=True))
    elif output is OutputFormat.NAME:
        for application in apps:
            typer.echo(str((application.get("metadata") or {}).get("name", "")))
    elif output in (OutputFormat.TABLE, OutputFormat.WIDE):
        headers = ["name", "project", "cluster", "namespace", "repo", "path", "target"]
        print_table(headers, [_generated_row(a) for a in apps])
    else:
        typer.echo(
            yaml.safe_dump_all(apps, sort_keys=False, default_flow_style=False),
            nl=False,
        )


@app.command("generate")
def generate_command(
    file: Annotated[Path, typer.Argument(help="The ApplicationSet YAML file.")],
    local: Annotated[
        list[str] | None,
        typer.Option("--local", help="Offline: DIR for every repoURL, or URL=DIR (repeatable)."),
    ] = None,
    clusters: Annotated[
        list[Path] | None,
        typer.Option("--clusters", help="Offline: a YAML file of cluster Secrets (repeatable)."),
    ] = None,
    output: Output = OutputFormat.YAML,
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Print the Applications an ApplicationSet generates (on the server, or offline)."""
    connection = None if local or clusters else _server(server, auth_token)
    if connection is not None:
        with reporting_errors():
            apps = generate_on_server(connection, file)
    else:
        try:
            apps = asyncio.run(generate_applications(file, local or [], clusters or []))
        except (InputError, AppSetError) as error:
            typer.echo(f"error: {' '.join(str(error).split())}", err=True)
            raise typer.Exit(EXIT_ERROR) from error
    _print_generated(apps, output)
