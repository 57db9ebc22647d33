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
"""
