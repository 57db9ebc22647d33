"""The ``git`` generator over directories: one parameter set per matching folder.

Every folder of the repository at the revision is a candidate, except hidden ones
(a name starting with ``.``) and everything below them, as Argo CD's repo server
lists them. A folder is generated when it matches at least one ``directories`` entry
without ``exclude`` and no entry with ``exclude: true`` (an exclusion always wins).
In globs ``*`` stays within one path segment and ``**`` spans any number of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import (
    DEFAULT_REQUEUE_SECONDS,
    Generated,
    GenerationContext,
    requeue_of,
    text_field,
)
from tether.controller.appsets.params import ParamSet, path_params
from tether.model.applicationset import Generator
from tether.source import EntryKind, SourceError, match_glob


def glob_segments(pattern: str) -> tuple[str, ...]:
    """A glob as the segments :func:`match_glob` takes."""
    return tuple(s for s in pattern.strip("/").split("/") if s not in ("", "."))


def patterns_of(generator: Generator, key: str) -> list[tuple[str, bool]]:
    """``(path, exclude)`` of each ``directories``/``files`` entry."""
    entries = generator.body.get(key)
    if not isinstance(entries, list) or not entries:
        raise GeneratorError("git", f"{key} must be a non-empty list")
    out = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise GeneratorError("git", f"{key}[{index}].path must be a string")
        out.append((entry["path"], bool(entry.get("exclude", False))))
    return out


def select_paths(candidates: tuple[str, ...], patterns: list[tuple[str, bool]]) -> list[str]:
    """Candidates included by some pattern and excluded by none."""
    compiled = [(glob_segments(p), exclude) for p, exclude in patterns]
    selected = []
    for candidate in candidates:
        included = excluded = False
        for segments, exclude in compiled:
            if match_glob(segments, candidate):
                if exclude:
                    excluded = True
                else:
                    included = True
        if included and not excluded:
            selected.append(candidate)
    return selected


async def resolve_repository(generator: Generator, ctx: GenerationContext) -> tuple[str, str]:
    """``(repoURL, commit)`` of a git generator, the revision resolved now."""
    body = generator.body
    repo_url = text_field(generator, body, "repoURL", required=True)
    revision = text_field(generator, body, "revision", required=False) or "HEAD"
    try:
        commit = await ctx.repositories.resolve(repo_url, revision)
    except SourceError as error:
        raise GeneratorError("git", str(error)) from error
    return repo_url, commit


async def generate_git_directories(generator: Generator, ctx: GenerationContext) -> Generated:
    """One parameter set per selected directory."""
    patterns = patterns_of(generator, "directories")
    repo_url, commit = await resolve_repository(generator, ctx)
    try:
        folders = await ctx.repositories.list_paths(repo_url, commit, "**", EntryKind.DIRECTORY)
    except SourceError as error:
        raise GeneratorError("git", str(error)) from error
    visible = tuple(f for f in folders if not any(p.startswith(".") for p in f.split("/")))
    prefix = text_field(generator, generator.body, "pathParamPrefix", required=False)
    out: list[ParamSet] = [
        path_params(folder, go_template=ctx.go_template, prefix=prefix)
        for folder in select_paths(visible, patterns)
    ]
    return Generated(tuple(out), requeue_of(generator, DEFAULT_REQUEUE_SECONDS))
