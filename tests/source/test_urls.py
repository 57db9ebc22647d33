"""Repository URL parsing, normalisation and redaction (no servers)."""

from __future__ import annotations

import pytest

from tether.source import (
    InvalidRepositoryURL,
    Scheme,
    normalize_url,
    parse_repo_url,
    redact_url,
    same_repository,
)
from tether.source.urls import redact_urls_in


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("https://github.com/argoproj/argo-cd", "github.com/argoproj/argo-cd"),
        ("https://GitHub.com/argoproj/argo-cd.git", "github.com/argoproj/argo-cd"),
        ("https://github.com/argoproj/argo-cd/", "github.com/argoproj/argo-cd"),
        ("http://github.com:80/argoproj/argo-cd", "github.com/argoproj/argo-cd"),
        ("https://github.com:443/argoproj/argo-cd.git/", "github.com/argoproj/argo-cd"),
        ("https://user:pw@github.com/argoproj/argo-cd", "github.com/argoproj/argo-cd"),
        ("ssh://git@github.com/argoproj/argo-cd.git", "github.com/argoproj/argo-cd"),
        ("ssh://git@github.com:22/argoproj/argo-cd", "github.com/argoproj/argo-cd"),
        ("git@github.com:argoproj/argo-cd.git", "github.com/argoproj/argo-cd"),
        ("github.com:argoproj/argo-cd", "github.com/argoproj/argo-cd"),
        ("git://github.com/argoproj/argo-cd", "github.com/argoproj/argo-cd"),
        ("ssh://git@gitlab.local:2222/team/app", "gitlab.local:2222/team/app"),
        ("https://git.local:8443/Team/App", "git.local:8443/Team/App"),
        ("file:///srv/git/app.git", "/srv/git/app"),
        ("file:///srv/git/../git/app/", "/srv/git/app"),
        ("https://[::1]:8080/repo.git", "[::1]:8080/repo"),
    ],
)
def test_normalisation(url: str, normalized: str) -> None:
    assert normalize_url(url) == normalized


def test_same_repository_across_schemes_and_spellings() -> None:
    assert same_repository("https://github.com/org/repo.git", "git@GITHUB.com:org/repo")
    assert not same_repository("https://github.com/org/repo", "https://github.com/org/other")
    assert not same_repository("not a url", "not a url")


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "path", "scp"),
    [
        ("https://h.io/a/b", Scheme.HTTPS, "h.io", None, "/a/b", False),
        ("HTTP://h.io:8080/a", Scheme.HTTP, "h.io", 8080, "/a", False),
        ("ssh://git@h.io:2222/a.git", Scheme.SSH, "h.io", 2222, "/a.git", False),
        ("git@h.io:org/a.git", Scheme.SSH, "h.io", None, "org/a.git", True),
        ("git://h.io/a", Scheme.GIT, "h.io", None, "/a", False),
        ("file:///tmp/a", Scheme.FILE, "", None, "/tmp/a", False),
    ],
)
def test_parse_forms(
    url: str, scheme: Scheme, host: str, port: int | None, path: str, scp: bool
) -> None:
    parsed = parse_repo_url(url)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.path, parsed.scp_like) == (
        scheme,
        host,
        port,
        path,
        scp,
    )


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://alice:s3cret@h.io/org/repo.git", "https://alice:***@h.io/org/repo.git"),
        ("https://ghp_token123@h.io/org/repo", "https://***@h.io/org/repo"),
        ("https://alice:p%40ss@h.io/r", "https://alice:***@h.io/r"),
        ("ssh://git@h.io/org/repo", "ssh://git@h.io/org/repo"),
        ("ssh://git:s3cret@h.io/org/repo", "ssh://git:***@h.io/org/repo"),
        ("git@h.io:org/repo", "git@h.io:org/repo"),
        ("https://h.io/org/repo", "https://h.io/org/repo"),
        # Unparsable input is still redacted on a best-effort basis.
        ("https://alice:s3cret@h.io:99999/r", "https://alice:***@h.io:99999/r"),
    ],
)
def test_redaction(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_repr_and_str_never_show_the_password() -> None:
    parsed = parse_repo_url("https://alice:s3cret@h.io/org/repo")
    assert parsed.password == "s3cret"
    assert "s3cret" not in repr(parsed)
    assert "s3cret" not in str(parsed)
    assert parsed.transport_url == "https://h.io/org/repo"


def test_a_token_used_as_user_name_is_hidden_too() -> None:
    parsed = parse_repo_url("https://ghp_token123@h.io/org/repo")
    assert parsed.username == "ghp_token123"
    assert repr(parsed) == "RepoURL('https://***@h.io/org/repo')"
    assert "ghp_token123" not in str(parsed)


def test_ssh_transport_keeps_the_user() -> None:
    assert parse_repo_url("git@h.io:org/repo").transport_url == "git@h.io:org/repo"
    assert parse_repo_url("ssh://git@h.io/r").transport_url == "ssh://git@h.io/r"


def test_redaction_in_free_text() -> None:
    text = "fatal: unable to access 'https://bob:hunter2@h.io/r/': 403 and git://h.io/x"
    assert redact_urls_in(text) == (
        "fatal: unable to access 'https://bob:***@h.io/r/': 403 and git://h.io/x"
    )


@pytest.mark.parametrize(
    "url",
    [
        "",
        " ",
        "h.io/no/scheme",
        "https://h.io",
        "mailto://x@y/z",
        "https://h.io/r?x=1",
        "alice:s3cret@h.io:org/repo",
        "https://alice:s3cret@h.io/r?x=1",
    ],
)
def test_invalid(url: str) -> None:
    with pytest.raises(InvalidRepositoryURL, match=r"^failed to parse repository url ") as caught:
        parse_repo_url(url)
    assert "s3cret" not in str(caught.value)


def test_prefix_urls_may_stop_at_the_host() -> None:
    assert parse_repo_url("https://github.com", prefix=True).normalized == "github.com/"
