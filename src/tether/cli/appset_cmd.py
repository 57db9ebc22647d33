"""``tether appset``: verbs on ApplicationSets.

``tether appset generate FILE.yaml [--local DIR | --local URL=DIR ...] [--clusters FILE]
[-o yaml|json]`` runs the ApplicationSet's generators and templates offline and prints
the Applications it would create:

- ``--local DIR`` stands in for every Git generator's ``repoURL``; ``--local URL=DIR``
  (repeatable) maps one ``repoURL`` to a folder. Folders are read as they are on disk
  (``revision`` is not consulted);
- ``--clusters FILE`` (repeatable) holds cluster Secrets (and any Secret or ConfigMap
  a generator reads) as YAML documents; without it the clusters generator sees only
  the local ``in-cluster``;
- ``-o yaml`` (default) prints a ``---``-separated stream, ``-o json`` a JSON list.

Errors (unreadable input, a failing generator, an Application that does not render)
are one line on stderr and exit code 2.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from tether.controller.appsets.errors import AppSetError
from tether.controller.appsets.generate import generate
from tether.controller.appsets.generator import GenerationContext
from tether.controller.appsets.render import render_applications
from tether.controller.appsets.sources import LocalRepositories, StaticInputs
from tether.model import SpecError
from tether.model.applicationset import ApplicationSet

app = typer.Typer(name="appset", help="Work with ApplicationSets.", no_args_is_help=True)


class OutputFormat(StrEnum):
    """Output formats of ``appset generate``."""

    YAML = "yaml"
    JSON = "json"


class InputError(Exception):
    """A file or flag given to the command is unusable."""


def _documents(path: Path) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"failed to read {path}: {' '.join(str(error).split())}") from error


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


@app.command("generate")
def generate_command(
    file: Annotated[Path, typer.Argument(help="The ApplicationSet YAML file.")],
    local: Annotated[
        list[str] | None,
        typer.Option("--local", help="DIR for every repoURL, or URL=DIR (repeatable)."),
    ] = None,
    clusters: Annotated[
        list[Path] | None,
        typer.Option("--clusters", help="A YAML file of cluster Secrets (repeatable)."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="yaml or json.")
    ] = OutputFormat.YAML,
) -> None:
    """Print the Applications an ApplicationSet generates, offline."""
    try:
        apps = asyncio.run(generate_applications(file, local or [], clusters or []))
    except (InputError, AppSetError) as error:
        typer.echo(f"error: {' '.join(str(error).split())}", err=True)
        raise typer.Exit(2) from error
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(apps, indent=2, sort_keys=True))
    else:
        typer.echo(
            yaml.safe_dump_all(apps, sort_keys=False, default_flow_style=False),
            nl=False,
        )
