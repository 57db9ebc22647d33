"""Path rules without a server: glob matching, hostile names, .gitmodules."""

from __future__ import annotations

import pytest

from tether.source import UnsafeRepositoryContent, match_glob, parse_repo_url
from tether.source.submodules import Submodule, parse_gitmodules, resolve_submodule_url
from tether.source.worktree import check_entry_name


def glob(pattern: str, path: str) -> bool:
    return match_glob(tuple(pattern.strip("/").split("/")), path)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("apps/*/config.json", "apps/a/config.json", True),
        ("apps/*/config.json", "apps/a/b/config.json", False),
        ("apps/**/config.json", "apps/config.json", True),
        ("apps/**/config.json", "apps/a/b/config.json", True),
        ("**", "anything/at/all", True),
        ("apps/*", "apps/a", True),
        ("apps/*", "apps", False),
        ("*.yaml", "a.yaml", True),
        ("*.yaml", "dir/a.yaml", False),
        ("cluster-[ab]/app?", "cluster-a/app1", True),
        ("cluster-[ab]/app?", "cluster-c/app1", False),
        ("/apps/*/", "apps/x", True),
    ],
)
def test_glob(pattern: str, path: str, matches: bool) -> None:
    assert glob(pattern, path) is matches


@pytest.mark.parametrize("name", ["", ".", "..", ".git", ".GIT", ".git.", ".git ", "a/b", "a\0b"])
def test_hostile_names(name: str) -> None:
    with pytest.raises(UnsafeRepositoryContent, match="refusing unsafe path"):
        check_entry_name(name, "dir", "https://h.io/r")


@pytest.mark.parametrize("name", [".gitignore", ".github", "git", "...", "a..b", ".gitmodules"])
def test_ordinary_names(name: str) -> None:
    check_entry_name(name, "", "https://h.io/r")


def test_parse_gitmodules() -> None:
    text = """
[submodule "lib"]
\tpath = vendor/lib
\turl = ../lib.git
[submodule "no-url"]
\tpath = other
# a comment
[submodule "abs"]
    path = tools/
    url = https://h.io/tools.git
"""
    assert parse_gitmodules(text) == (
        Submodule("lib", "vendor/lib", "../lib.git"),
        Submodule("abs", "tools", "https://h.io/tools.git"),
    )


@pytest.mark.parametrize(
    ("parent", "url", "resolved"),
    [
        ("https://h.io/org/app.git", "../lib.git", "https://h.io/org/lib.git"),
        ("https://u:pw@h.io/org/app", "./sub", "https://h.io/org/app/sub"),
        ("git@h.io:org/app.git", "../lib.git", "git@h.io:org/lib.git"),
        ("file:///srv/app.git", "../lib.git", "file:///srv/lib.git"),
        ("https://h.io/org/app", "https://other.io/x.git", "https://other.io/x.git"),
    ],
)
def test_relative_submodule_urls(parent: str, url: str, resolved: str) -> None:
    assert resolve_submodule_url(parse_repo_url(parent), url) == resolved
