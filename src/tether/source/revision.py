"""Resolving a ``targetRevision`` to a commit, with Argo CD's precedence.

In order:

1. a full commit SHA is that commit;
2. ``""`` and ``HEAD`` are the remote's default branch;
3. a semver *constraint* (``>=1.2.0 <2``, ``1.2.*``, ``^1.2``, ``~1.2``; see
   :mod:`tether.source.semver_constraint`) picks the highest matching tag; when no
   tag matches, resolution falls through to the next steps;
4. a ref, by full name (``refs/heads/main``) or short name (``main``, ``v1.2.0``),
   branches before tags when both exist, as Argo CD lists them;
5. a shortened SHA of at least 7 hex digits that names exactly one commit.

Annotated tags are peeled to the commit they tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import pygit2

from tether.source.mirror import RefSnapshot
from tether.source.semver_constraint import parse_constraint

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,63}$")
_SHORT_PREFIXES = ("refs/heads/", "refs/tags/", "refs/remotes/", "refs/")


class RevisionKind(StrEnum):
    """How a revision was resolved."""

    BRANCH = "branch"
    TAG = "tag"
    COMMIT = "commit"
    REF = "ref"


@dataclass(frozen=True, slots=True)
class Revision:
    """A resolved ``targetRevision``."""

    #: The revision as requested (``main``, ``^1.2``, ``HEAD``, a SHA).
    requested: str
    #: The full SHA of the commit.
    sha: str
    kind: RevisionKind
    #: The ref it came from (``refs/tags/v1.2.3``); ``""`` for a SHA.
    ref: str = ""

    @property
    def short_sha(self) -> str:
        """The first 7 characters of :attr:`sha`, for display."""
        return self.sha[:7]


def is_full_sha(revision: str) -> bool:
    """Whether ``revision`` is a complete (SHA-1 or SHA-256) lower-case object id."""
    return bool(_FULL_SHA.match(revision))


def is_short_sha(revision: str) -> bool:
    """Whether ``revision`` could be a shortened commit SHA (7 or more hex digits)."""
    return bool(_SHORT_SHA.match(revision))


def short_ref_name(ref: str) -> str:
    """``refs/heads/main`` → ``main``; ``refs/tags/v1`` → ``v1``."""
    for prefix in _SHORT_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def resolve_revision(
    repo: pygit2.Repository, snapshot: RefSnapshot, revision: str
) -> Revision | None:
    """Resolve ``revision`` against a mirror and its refs; ``None`` when nothing matches."""
    requested = revision.strip()
    if is_full_sha(requested.lower()):
        sha = _peel(repo, requested.lower())
        return Revision(requested, sha, RevisionKind.COMMIT) if sha else None
    if requested in ("", "HEAD"):
        return _from_ref(repo, requested, snapshot.head, snapshot) if snapshot.head else None
    constraint = parse_constraint(requested)
    if constraint is not None:
        tags = {short_ref_name(r): r for r in snapshot.refs if r.startswith("refs/tags/")}
        best = constraint.best_tag(tags)
        if best is not None:
            return _from_ref(repo, requested, tags[best], snapshot)
    for ref in sorted(snapshot.refs):
        if requested in (ref, short_ref_name(ref)):
            found = _from_ref(repo, requested, ref, snapshot)
            if found is not None:
                return found
    if is_short_sha(requested.lower()):
        return _from_prefix(repo, requested)
    return None


def _from_ref(
    repo: pygit2.Repository, requested: str, ref: str, snapshot: RefSnapshot
) -> Revision | None:
    sha = _peel(repo, snapshot.refs.get(ref, ""))
    if not sha:
        return None
    if ref.startswith("refs/heads/"):
        kind = RevisionKind.BRANCH
    elif ref.startswith("refs/tags/"):
        kind = RevisionKind.TAG
    else:
        kind = RevisionKind.REF
    return Revision(requested, sha, kind, ref)


def _from_prefix(repo: pygit2.Repository, requested: str) -> Revision | None:
    try:
        obj = repo[requested.lower()]
    except (KeyError, ValueError):
        # KeyError: no such object; ValueError: the prefix is ambiguous.
        return None
    sha = _peel(repo, str(obj.id))
    return Revision(requested, sha, RevisionKind.COMMIT) if sha else None


def _peel(repo: pygit2.Repository, oid: str) -> str:
    if not oid:
        return ""
    try:
        obj = repo.get(oid)
        if obj is None:
            return ""
        return str(obj.peel(pygit2.Commit).id)
    except (ValueError, pygit2.InvalidSpecError, pygit2.GitError):
        return ""
