"""``tether admin``: operator verbs that run offline, without a server.

``tether admin health [--customizations DIR] [--settings CONFIGMAP.yaml] FILE...``
judges each object file as the controller would (settings checks, then the directory's,
then tether's bundled ones unless ``--no-bundled``, then the built-in checks; see
:mod:`tether.health`) and prints one JSON line per file::

    {"file": "deploy.yaml", "status": "Progressing", "message": "Waiting for rollout..."}

``status`` is ``null`` when no check applies to the object (a ConfigMap). A file that
cannot be read or does not hold one Kubernetes object gets one line on stderr
(``error: failed to read <file>: <cause>``); the other files are still judged and the
command exits with code 2. A settings file or customizations directory that cannot be
loaded is an error before any file is judged (exit code 2).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from tether.health import (
    CustomizationError,
    HealthOverrides,
    HealthPolicy,
    assess_health,
    load_overrides,
)

app = typer.Typer(
    name="admin",
    help="Operator verbs that run offline.",
    no_args_is_help=True,
)

#: Object files larger than this are refused: a live object is kilobytes.
MAX_OBJECT_BYTES = 4 * 1024 * 1024


class _ObjectLoader(yaml.CSafeLoader):
    """YAML read as Kubernetes reads it: an unquoted timestamp stays a string."""


_ObjectLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


class ObjectFileError(Exception):
    """A file that does not hold exactly one Kubernetes object."""


def _read_yaml_documents(path: Path) -> list[Any]:
    try:
        size = path.stat().st_size
        if size > MAX_OBJECT_BYTES:
            raise ObjectFileError(f"{size} bytes is more than {MAX_OBJECT_BYTES}")
        text = path.read_text(encoding="utf-8")
        return [doc for doc in yaml.load_all(text, Loader=_ObjectLoader) if doc is not None]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ObjectFileError(str(error).replace("\n", " ")) from error


def read_object(path: Path) -> Mapping[str, Any]:
    """The single Kubernetes object a YAML or JSON file holds."""
    documents = _read_yaml_documents(path)
    if len(documents) != 1:
        raise ObjectFileError(f"expected one Kubernetes object, found {len(documents)} documents")
    obj = documents[0]
    if not isinstance(obj, Mapping):
        raise ObjectFileError("not a Kubernetes object (expected a mapping)")
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj[field]:
            raise ObjectFileError(f"not a Kubernetes object (no {field})")
    if not isinstance(obj.get("metadata"), Mapping):
        raise ObjectFileError("not a Kubernetes object (no metadata)")
    return obj


def read_settings(path: Path) -> Mapping[str, Any]:
    """The ``data`` of the settings ConfigMap in ``path``."""
    obj = read_object(path)
    if obj["kind"] != "ConfigMap":
        raise ObjectFileError(f"expected a ConfigMap, found a {obj['kind']}")
    data = obj.get("data") or {}
    if not isinstance(data, Mapping):
        raise ObjectFileError("the ConfigMap's data is not a mapping")
    return data


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _overrides(
    settings: Path | None, customizations: Path | None, *, bundled: bool
) -> HealthOverrides:
    try:
        data = read_settings(settings) if settings is not None else None
        return load_overrides(settings=data, directory=customizations, bundled=bundled)
    except ObjectFileError as error:
        raise _fail(f"failed to read settings {settings}: {error}") from error
    except CustomizationError as error:
        raise _fail(str(error)) from error


@app.command("health")
def health_command(
    files: Annotated[
        list[Path], typer.Argument(help="Object files (YAML or JSON), one object each.")
    ],
    customizations: Annotated[
        Path | None,
        typer.Option(help="Directory of <group>/<Kind>/health.lua scripts (Argo CD's layout)."),
    ] = None,
    settings: Annotated[
        Path | None,
        typer.Option(help="Settings ConfigMap (argocd-cm) with resource.customizations.* keys."),
    ] = None,
    application_health: Annotated[
        bool,
        typer.Option(help="Judge argoproj.io Applications by the health they report."),
    ] = False,
    bundled: Annotated[
        bool,
        typer.Option(help="Use tether's bundled checks for common custom resources."),
    ] = True,
    generic_conditions: Annotated[
        bool,
        typer.Option(
            help="Judge custom resources without a check by their Ready/Available condition."
        ),
    ] = True,
) -> None:
    """Judge the health of objects in files, as the controller would, one JSON line each."""
    overrides = _overrides(settings, customizations, bundled=bundled)
    policy = HealthPolicy(
        application_health=application_health, generic_conditions=generic_conditions
    )
    failed = False
    for path in files:
        try:
            obj = read_object(path)
        except ObjectFileError as error:
            typer.echo(f"error: failed to read {path}: {error}", err=True)
            failed = True
            continue
        verdict = assess_health(obj, overrides=overrides, policy=policy)
        line = {
            "file": str(path),
            "status": None if verdict is None else verdict.status.value,
            "message": None if verdict is None else verdict.message,
        }
        typer.echo(json.dumps(line, ensure_ascii=False))
    if failed:
        raise typer.Exit(code=2)
