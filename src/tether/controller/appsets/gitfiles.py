"""The ``git`` generator over files: parameters read from JSON or YAML files.

Files matching a ``files`` glob (and no ``exclude: true`` entry) are parsed; a file
holding a list of objects gives one parameter set per object, a single object one set,
an empty file one empty set. With fasttemplate nested keys are flattened with dots and
every value written as Go's ``%v`` writes it (numbers are float64, so ``1000000``
becomes ``1e+06`` exactly as in Argo CD); with goTemplate values keep their shape.
Path parameters describe the folder holding the file (``path``, ``path.basename``,
``path.filename``, ...).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any, Final

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import (
    DEFAULT_REQUEUE_SECONDS,
    Generated,
    GenerationContext,
    requeue_of,
    text_field,
)
from tether.controller.appsets.gitdirs import patterns_of, resolve_repository, select_paths
from tether.controller.appsets.params import ParamSet, as_go_data, flatten, path_params
from tether.model.applicationset import Generator
from tether.render.errors import RenderError
from tether.render.yamlio import YamlLimits, load_documents
from tether.source import EntryKind, SourceError

#: A parameter file is small: refuse anything past 4 MiB before parsing it.
FILE_LIMITS: Final = YamlLimits(max_bytes=4 * 1024 * 1024)


def parse_objects(path: str, content: bytes) -> list[Mapping[str, Any]]:
    """The objects a parameter file holds (a list of objects, or one object).

    Repository content is hostile: the file is parsed within the size, depth and alias
    limits of :mod:`tether.render.yamlio`, with scalars read as Kubernetes (and so
    Argo CD) reads them. Only the first document of a stream counts, as in Argo CD.
    """
    try:
        documents = load_documents(content, name=path, limits=FILE_LIMITS)
    except RenderError as error:
        raise GeneratorError("git", f"failed to parse {path}: {error}") from error
    parsed = documents[0] if documents else None
    if parsed is None:
        return [{}]
    if isinstance(parsed, Mapping):
        return [parsed]
    if isinstance(parsed, list) and all(isinstance(item, Mapping) for item in parsed):
        return parsed or [{}]
    raise GeneratorError("git", f"failed to parse {path}: expected an object or a list of objects")


def file_params(path: str, obj: Mapping[str, Any], *, go_template: bool, prefix: str) -> ParamSet:
    """One parameter set from one object of the file at ``path``."""
    folder = posixpath.dirname(path) or "."
    filename = posixpath.basename(path)
    data = {str(k): v for k, v in obj.items()}
    base: ParamSet = dict(as_go_data(data)) if go_template else flatten(data)
    return base | path_params(folder, go_template=go_template, prefix=prefix, with_file=filename)


async def generate_git_files(generator: Generator, ctx: GenerationContext) -> Generated:
    """One parameter set per object of every selected file, in path order."""
    patterns = patterns_of(generator, "files")
    repo_url, commit = await resolve_repository(generator, ctx)
    prefix = text_field(generator, generator.body, "pathParamPrefix", required=False)
    candidates: set[str] = set()
    try:
        for pattern, exclude in patterns:
            if not exclude:
                candidates.update(
                    await ctx.repositories.list_paths(repo_url, commit, pattern, EntryKind.FILE)
                )
        selected = select_paths(tuple(sorted(candidates)), patterns)
        out: list[ParamSet] = []
        for path in selected:
            content = await ctx.repositories.read_file(repo_url, commit, path)
            for obj in parse_objects(path, content):
                out.append(file_params(path, obj, go_template=ctx.go_template, prefix=prefix))
    except SourceError as error:
        raise GeneratorError("git", str(error)) from error
    return Generated(tuple(out), requeue_of(generator, DEFAULT_REQUEUE_SECONDS))
