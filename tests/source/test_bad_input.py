"""Bad input: wrong or missing credentials, unreachable servers, malformed URLs, timeouts.

Every error must be clear, must keep the last fetched state, and must never carry a
secret: not in the message, not in ``repr``, not in the logs, not in the status.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitserver import GitServer, RemoteRepo, repo_secret

from tether.source import (
    AuthenticationFailed,
    CredentialStore,
    GitCache,
    InvalidRepositoryURL,
    RepositoryUnreachable,
    RevisionNotFound,
    SourceError,
    StaticSecrets,
)

WRONG_PASSWORD = "wrong-pw-s3cr3t-value"


def assert_secret_free(secret: str, *texts: object) -> None:
    for text in texts:
        assert secret not in str(text)


async def test_wrong_password_is_a_clear_error_without_the_password(
    tmp_path: Path, git_repo: RemoteRepo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = CredentialStore(
        StaticSecrets((repo_secret(git_repo.url_http, git_repo.username, WRONG_PASSWORD),))
    )
    cache = GitCache(tmp_path / "cache", credentials=store, fetch_timeout=10.0)

    with pytest.raises(AuthenticationFailed) as caught:
        await cache.refresh(git_repo.url_http)

    error = caught.value
    assert str(error) == (
        f"failed to fetch {git_repo.url_http}: authentication failed: credentials were rejected"
    )
    state = cache.state(git_repo.url_http)
    assert state.last_error == str(error)
    assert_secret_free(WRONG_PASSWORD, error, repr(error), caplog.text, state, repr(state))
    assert_secret_free(git_repo.password, error, caplog.text, state)


async def test_missing_credentials(tmp_path: Path, git_repo: RemoteRepo) -> None:
    cache = GitCache(tmp_path / "cache", fetch_timeout=10.0)

    with pytest.raises(AuthenticationFailed, match="no credentials are configured"):
        await cache.resolve(git_repo.url_http, "main")


async def test_embedded_credentials_work_and_are_masked_everywhere(
    tmp_path: Path, git_repo: RemoteRepo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cache = GitCache(tmp_path / "cache", fetch_timeout=10.0)
    url = git_repo.url_http_with_credentials
    masked = f"http://{git_repo.username}:***@127.0.0.1:{git_repo.server.http_port}/"

    resolved = await cache.resolve(url, "main")
    assert resolved.sha == git_repo.head()
    with pytest.raises(RevisionNotFound) as caught:
        await cache.resolve(url, "no-such-branch")

    state = cache.state(url)
    assert str(caught.value).startswith(f"failed to resolve revision in {masked}")
    assert state.url.startswith(masked)
    assert_secret_free(
        git_repo.password, caught.value, repr(caught.value), state, repr(state), caplog.text
    )

    wrong = url.replace(git_repo.password, WRONG_PASSWORD)
    with pytest.raises(AuthenticationFailed) as rejected:
        await cache.refresh(wrong)
    assert_secret_free(WRONG_PASSWORD, rejected.value, repr(rejected.value), caplog.text)
    assert_secret_free(WRONG_PASSWORD, cache.state(wrong))


async def test_unreachable_server_fails_fast_and_keeps_last_state(
    tmp_path: Path, git_server: GitServer
) -> None:
    repo = git_server.create_repo()
    sha = repo.head()
    cache = GitCache(tmp_path / "cache", fetch_timeout=30.0)
    await cache.refresh(repo.url_git)
    fetched_at = cache.state(repo.url_git).last_refreshed

    git_server.stop()

    with pytest.raises(RepositoryUnreachable) as caught:
        await cache.resolve(repo.url_git, "main")
    message = str(caught.value)
    assert message.startswith(f"failed to fetch {repo.url_git}: ")
    # Refused at once, not left to run into the 30 s timeout.
    assert "timed out" not in message

    state = cache.state(repo.url_git)
    assert state.last_error == message
    assert state.last_refreshed == fetched_at
    assert state.head_sha == sha
    assert (await cache.resolve(repo.url_git, "main", refresh=False)).sha == sha
    async with cache.checkout(repo.url_git, "main", refresh=False) as checkout:
        assert (checkout.path / "README.md").exists()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


async def test_silent_server_times_out(tmp_path: Path, silent_port: int) -> None:
    cache = GitCache(tmp_path / "cache", fetch_timeout=1.0)
    url = f"http://127.0.0.1:{silent_port}/repo.git"

    with pytest.raises(RepositoryUnreachable) as caught:
        await cache.refresh(url)

    assert str(caught.value).startswith(f"failed to fetch {url}: ")
    assert cache.state(url).last_error == str(caught.value)


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("", "empty or contains whitespace"),
        ("not a url", "empty or contains whitespace"),
        ("ftp://example.com/repo.git", "unsupported scheme 'ftp'"),
        ("https://", "missing host"),
        ("https://example.com", "missing repository path"),
        ("https://example.com:99999/repo", "Port out of range"),
        ("file://relative/path", "file URLs must be local"),
        ("just-a-word", "expected scheme://host/path or user@host:path"),
        ("https://user:topsecret@example.com", "missing repository path"),
    ],
)
async def test_malformed_urls(tmp_path: Path, url: str, cause: str) -> None:
    cache = GitCache(tmp_path / "cache")

    with pytest.raises(InvalidRepositoryURL) as caught:
        await cache.resolve(url, "main")

    assert cause in str(caught.value)
    assert str(caught.value).startswith("failed to parse repository url ")
    assert "topsecret" not in str(caught.value)
    assert isinstance(caught.value, SourceError)
    assert not (tmp_path / "cache" / "mirrors").exists()


async def test_self_signed_https_needs_insecure(tmp_path: Path, git_repo: RemoteRepo) -> None:
    secret = repo_secret(git_repo.url_https, git_repo.username, git_repo.password)
    strict = GitCache(
        tmp_path / "strict",
        credentials=CredentialStore(StaticSecrets((secret,))),
        fetch_timeout=10.0,
    )
    with pytest.raises(RepositoryUnreachable) as caught:
        await strict.refresh(git_repo.url_https)
    assert str(caught.value).startswith(f"failed to fetch {git_repo.url_https}: ")
    assert "certificate" in caught.value.cause

    insecure = repo_secret(
        git_repo.url_https, git_repo.username, git_repo.password, insecure="true"
    )
    trusting = GitCache(
        tmp_path / "insecure",
        credentials=CredentialStore(StaticSecrets((insecure,))),
        fetch_timeout=10.0,
    )
    assert (await trusting.resolve(git_repo.url_https, "main")).sha == git_repo.head()


async def test_tls_client_certificate(tmp_path: Path, git_repo: RemoteRepo) -> None:
    pki = git_repo.server.pki
    url = git_repo.url_https_mtls
    with_certificate = repo_secret(
        url,
        git_repo.username,
        git_repo.password,
        insecure="true",
        tlsClientCertData=pki.client_cert_pem,
        tlsClientCertKey=pki.client_key_pem,
    )
    without = repo_secret(url, git_repo.username, git_repo.password, insecure="true")

    cache = GitCache(
        tmp_path / "with",
        credentials=CredentialStore(StaticSecrets((with_certificate,))),
        fetch_timeout=10.0,
    )
    assert (await cache.resolve(url, "main")).sha == git_repo.head()
    assert not (await cache.refresh(url)).fetched

    refused = GitCache(
        tmp_path / "without",
        credentials=CredentialStore(StaticSecrets((without,))),
        fetch_timeout=10.0,
    )
    with pytest.raises(RepositoryUnreachable) as caught:
        await refused.refresh(url)
    assert_secret_free(pki.client_key_pem, caught.value, refused.state(url))
