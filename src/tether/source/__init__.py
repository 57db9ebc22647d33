"""Git sources: where desired state comes from.

A source is a repository URL plus a target revision. This package keeps one bare
mirror per repository URL, fetches it on refresh (concurrent refreshes of one
repository share one fetch), resolves a ``targetRevision`` (branch, tag, full or short
SHA, ``HEAD``, or a semver constraint over tags) to a commit, and checks a commit out
into a fresh temporary folder that is always removed afterwards.

Credentials come from Argo CD-style repository Secrets (``repository`` for one URL,
``repo-creds`` for a URL prefix). They are held in memory only and never appear in
logs, errors or status. A repository that cannot be reached keeps its last fetched
state and reports the error; it never looks like an empty repository.

Using it
--------

::

    store = CredentialStore(provider)          # provider.repository_secrets() -> dicts
    cache = GitCache(cache_dir, credentials=store, fetch_timeout=60,
                     max_checkout_bytes=1 << 30, ssh_known_hosts=known_hosts_text)

    async with cache.checkout(url, "main") as checkout:
        render(checkout.path)                  # checkout.sha: the commit rendered
    # the folder is gone here, whatever happened inside the block
    # (refresh=False: use the last fetched state, no network; project=: credential scope)

    revision = await cache.resolve(url, "^1.2")        # Revision(sha, kind, ref)
    await cache.refresh(url)                           # ls-remote; fetch only on change
    info = await cache.commit_info(url, revision.sha)  # author, date, message, tags
    paths = await cache.changed_paths(url, old_sha, new_sha)
    files = await cache.list_paths(url, sha, "apps/*/config.json")
    dirs = await cache.list_paths(url, sha, "apps/*", kind=EntryKind.DIRECTORY)
    data = await cache.read_file(url, sha, "apps/a/config.json")
    cache.state(url)            # last refresh / fetch / error, redacted, for status

Rules
-----

URLs
    ``https``, ``http``, ``ssh`` (``ssh://`` and ``git@host:org/repo``), ``git`` and
    ``file``. :func:`normalize_url` is the matching key used by credential lookup,
    webhooks and the mirror cache: scheme, user, default port, trailing ``/`` and
    ``.git`` are ignored and the host is lower-cased (paths keep their case).
    Credentials embedded in a URL are accepted and win over Secrets for that URL;
    :func:`redact_url` is applied to every URL that leaves the package.
Credentials
    A ``repository`` Secret for the same normalised URL wins; otherwise the
    ``repo-creds`` Secret with the longest matching URL prefix; Secrets with a
    ``project`` serve only that AppProject. libgit2 receives them through in-memory
    callbacks; the ``git`` program (used to fetch a commit by SHA, and for repositories
    with a TLS client certificate, which libgit2 cannot present) through its own
    environment and a ``GIT_ASKPASS`` helper, never its command line. ``insecure``
    skips TLS verification and SSH host-key checking; otherwise an untrusted
    certificate or unknown host key is a clear error. SSH host keys are checked against
    ``GitCache(ssh_known_hosts=...)`` (the text of Argo CD's
    ``argocd-ssh-known-hosts-cm``) when given, else the user's ``~/.ssh/known_hosts``.
Fetching
    Mirrors fetch ``+refs/*:refs/*`` with pruning, so force-pushes and deleted
    branches are followed; objects are never deleted, so a once-fetched commit stays
    resolvable by SHA. A refresh first lists the remote's refs and fetches only when
    they changed. Fetches run in threads with a timeout (``fetch_timeout``, also set as
    libgit2's process-wide socket timeouts).
Revisions
    Argo CD's order: full SHA, ``HEAD``/``""``, semver constraint over tags (Masterminds
    semantics: ``>=1.2.0 <2``, ``1.2.*``, ``^1.2``, ``~1.2``, ``v`` prefixes,
    pre-releases only when the constraint names one), branch or tag name (branches
    first), then a short SHA. A pinned version like ``v1.2.0`` is a tag name.
Checkouts
    Written by tether itself, not by ``git checkout``: no entry may leave the folder or
    be called ``.git``; symlinks stay symlinks (the renderer judges their targets);
    submodules stay empty folders unless ``submodules=True`` (and then may not point
    at local ``file://`` paths unless the repository itself is local); the bytes written are
    capped (``max_checkout_bytes``, default 1 GiB) and exceeding the cap raises
    :class:`RepositoryTooLarge`.
Errors
    :class:`SourceError` and its subclasses read ``failed to <verb> <redacted url>:
    <cause>`` and carry ``.repo`` (redacted) and ``.cause`` (scrubbed of secrets).
"""

from tether.source.cache import (
    Checkout,
    Clock,
    GitCache,
    RefreshResult,
    RepositoryState,
    SystemClock,
)
from tether.source.credentials import (
    Credentials,
    CredentialStore,
    InvalidRepositorySecret,
    RepositorySecret,
    SecretProvider,
    SecretType,
    StaticSecrets,
    parse_secret,
)
from tether.source.errors import (
    AuthenticationFailed,
    CheckoutFailed,
    InvalidRepositoryURL,
    PathNotFound,
    RepositoryTooLarge,
    RepositoryUnreachable,
    RevisionNotFound,
    SourceError,
    UnsafeRepositoryContent,
)
from tether.source.history import CommitInfo
from tether.source.revision import Revision, RevisionKind
from tether.source.semver_constraint import Constraint, parse_constraint
from tether.source.tree import EntryKind, match_glob
from tether.source.urls import (
    RepoURL,
    Scheme,
    normalize_url,
    parse_repo_url,
    redact_url,
    same_repository,
)
from tether.source.worktree import DEFAULT_MAX_CHECKOUT_BYTES

__all__ = [
    "DEFAULT_MAX_CHECKOUT_BYTES",
    "AuthenticationFailed",
    "Checkout",
    "CheckoutFailed",
    "Clock",
    "CommitInfo",
    "Constraint",
    "CredentialStore",
    "Credentials",
    "EntryKind",
    "GitCache",
    "InvalidRepositorySecret",
    "InvalidRepositoryURL",
    "PathNotFound",
    "RefreshResult",
    "RepoURL",
    "RepositorySecret",
    "RepositoryState",
    "RepositoryTooLarge",
    "RepositoryUnreachable",
    "Revision",
    "RevisionKind",
    "RevisionNotFound",
    "Scheme",
    "SecretProvider",
    "SecretType",
    "SourceError",
    "StaticSecrets",
    "SystemClock",
    "UnsafeRepositoryContent",
    "match_glob",
    "normalize_url",
    "parse_constraint",
    "parse_repo_url",
    "parse_secret",
    "redact_url",
    "same_repository",
]
