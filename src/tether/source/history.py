"""Commit metadata and the paths changed between two commits.

:class:`CommitInfo` is what the UI and an Application's history show for a revision
(Argo CD's ``RevisionMetadata``: author, date, message, tags). :func:`diff_paths` is what
``argocd.argoproj.io/manifest-generate-paths`` needs: every path added, removed or
modified between two commits (both sides of a rename), like ``git diff --name-only``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pygit2

from tether.source.revision import short_ref_name
from tether.source.tree import get_commit


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """Who made a commit, when, and why."""

    sha: str
    author_name: str
    author_email: str
    #: Author date, with the author's UTC offset.
    date: datetime
    message: str
    #: Tags (short names) that point at this commit, sorted.
    tags: tuple[str, ...] = ()

    @property
    def author(self) -> str:
        """``Name <email>``, as Argo CD shows it."""
        return f"{self.author_name} <{self.author_email}>"

    @property
    def subject(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0].strip()


def read_commit_info(repo: pygit2.Repository, sha: str, refs: dict[str, str]) -> CommitInfo:
    """Describe commit ``sha``; ``refs`` (name → oid) supplies the tags that point at it."""
    commit = get_commit(repo, sha)
    author = commit.author
    offset = timezone(timedelta(minutes=author.offset))
    tags = []
    for ref, oid in refs.items():
        if not ref.startswith("refs/tags/"):
            continue
        target = repo.get(oid)
        if target is None:
            continue
        try:
            peeled = target.peel(pygit2.Commit)
        except (ValueError, pygit2.InvalidSpecError):
            continue
        if str(peeled.id) == str(commit.id):
            tags.append(short_ref_name(ref))
    return CommitInfo(
        sha=str(commit.id),
        author_name=author.name,
        author_email=author.email,
        date=datetime.fromtimestamp(author.time, UTC).astimezone(offset),
        message=commit.message.strip(),
        tags=tuple(sorted(tags)),
    )


def diff_paths(repo: pygit2.Repository, old_sha: str, new_sha: str) -> tuple[str, ...]:
    """Paths that differ between the trees of two commits, sorted."""
    if old_sha == new_sha:
        return ()
    old, new = get_commit(repo, old_sha), get_commit(repo, new_sha)
    diff = old.tree.diff_to_tree(new.tree)
    paths: set[str] = set()
    for delta in diff.deltas:
        paths.add(delta.old_file.path)
        paths.add(delta.new_file.path)
    return tuple(sorted(paths))
