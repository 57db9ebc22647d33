"""Reading a commit without checking it out: listing paths by glob, reading files.

Globs are matched per path segment: ``*``, ``?`` and ``[...]`` never cross a ``/``, and
a ``**`` segment matches zero or more whole segments (``apps/**/config.json``). This is
what the ApplicationSet Git generators need: the *files* generator lists files
(``kind=EntryKind.FILE``) and the *directories* generator lists folders
(``kind=EntryKind.DIRECTORY``). Submodule entries are neither.
"""

from __future__ import annotations

import fnmatch
import re
from enum import StrEnum
from functools import lru_cache

import pygit2
from pygit2.enums import FileMode

from tether.source.errors import PathNotFound


class EntryKind(StrEnum):
    """What :func:`list_paths` lists."""

    FILE = "file"
    DIRECTORY = "directory"


def get_commit(repo: pygit2.Repository, sha: str) -> pygit2.Commit:
    """Commit ``sha`` (a tag is peeled); ``KeyError`` if the mirror lacks it."""
    obj = repo.get(sha)
    if obj is None:
        raise KeyError(sha)
    return obj.peel(pygit2.Commit)


def commit_tree(repo: pygit2.Repository, sha: str) -> pygit2.Tree:
    """The root tree of commit ``sha``."""
    return get_commit(repo, sha).tree


def list_paths(
    repo: pygit2.Repository, sha: str, pattern: str, kind: EntryKind = EntryKind.FILE
) -> tuple[str, ...]:
    """Every path of ``kind`` at commit ``sha`` that matches ``pattern``, sorted."""
    segments = tuple(s for s in pattern.strip("/").split("/") if s not in ("", "."))
    found: list[str] = []
    pending: list[tuple[pygit2.Tree, str]] = [(commit_tree(repo, sha), "")]
    while pending:
        tree, prefix = pending.pop()
        for entry in tree:
            path = f"{prefix}{entry.name}"
            if entry.filemode == FileMode.TREE:
                if kind is EntryKind.DIRECTORY and match_glob(segments, path):
                    found.append(path)
                subtree = repo.get(entry.id)
                assert isinstance(subtree, pygit2.Tree)
                pending.append((subtree, path + "/"))
            elif (
                entry.filemode != FileMode.COMMIT
                and kind is EntryKind.FILE
                and match_glob(segments, path)
            ):
                found.append(path)
    return tuple(sorted(found))


def read_blob(repo: pygit2.Repository, sha: str, path: str, repo_name: str) -> bytes:
    """The content of file ``path`` at commit ``sha``; :class:`PathNotFound` if absent."""
    clean = path.strip("/")
    try:
        entry = commit_tree(repo, sha)[clean]
    except KeyError:
        raise PathNotFound(repo_name, f"no file {clean!r} at commit {sha[:12]}") from None
    blob = repo.get(entry.id)
    if not isinstance(blob, pygit2.Blob) or entry.filemode == FileMode.LINK:
        raise PathNotFound(repo_name, f"{clean!r} at commit {sha[:12]} is not a regular file")
    return blob.data


def match_glob(segments: tuple[str, ...], path: str) -> bool:
    """Whether ``path`` matches the glob given as its ``/``-separated segments."""
    return _match(segments, tuple(path.split("/")))


def _match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and _segment(head).match(parts[0]) is not None and _match(rest, parts[1:])


@lru_cache(maxsize=256)
def _segment(pattern: str) -> re.Pattern[str]:
    # fnmatch's "*" would cross "/", but segments never contain one.
    return re.compile(fnmatch.translate(pattern))
