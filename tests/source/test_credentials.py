"""Credential lookup from Argo CD repository and repo-creds Secrets (no servers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.source import (
    Credentials,
    CredentialStore,
    InvalidRepositorySecret,
    StaticSecrets,
    parse_secret,
)

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "source"


def load(*names: str) -> tuple[dict[str, Any], ...]:
    docs: list[dict[str, Any]] = []
    for name in names:
        docs += [d for d in yaml.safe_load_all((TESTDATA / name).read_text()) if d]
    return tuple(docs)


@pytest.fixture
def store() -> CredentialStore:
    return CredentialStore(StaticSecrets(load("secret-repository.yaml", "secret-repo-creds.yaml")))


@pytest.mark.parametrize(
    ("url", "project", "username", "password"),
    [
        # An exact repository Secret wins, in any spelling of the URL.
        ("https://git.example.com/team/app", None, "app-user", "app-password"),
        ("git@git.example.com:team/app.git", None, "app-user", "app-password"),
        ("https://GIT.example.com/team/app/", None, "app-user", "app-password"),
        # base64 "data" is decoded; no user name given.
        ("https://git.example.com/team/app-data", None, "", "tok-from-data"),
        # Otherwise the longest repo-creds prefix.
        ("https://git.example.com/team/other", None, "team-user", "team-password"),
        ("https://git.example.com/elsewhere/x", None, "host-user", "host-password"),
        # Argo CD compares prefixes as strings: "team" also covers "team-tools".
        ("https://git.example.com/team-tools/x", None, "team-user", "team-password"),
        # A project-scoped Secret serves its project, and beats the unscoped one there.
        ("https://git.example.com/team/app", "payments", "payments-user", "payments-password"),
        ("https://git.example.com/team/app", "other", "app-user", "app-password"),
        # Helm Secrets are not Git credentials; the template applies.
        ("https://git.example.com/team/charts", None, "team-user", "team-password"),
        # Nothing matches.
        ("https://elsewhere.example.org/r", None, "", ""),
    ],
)
def test_lookup(
    store: CredentialStore, url: str, project: str | None, username: str, password: str
) -> None:
    found = store.lookup(url, project)
    assert (found.username, found.password) == (username, password)


def test_repository_without_credentials_inherits_template_but_keeps_its_options(
    store: CredentialStore,
) -> None:
    found = store.lookup("https://git.example.com/team/selfsigned")
    assert (found.username, found.password, found.insecure) == (
        "team-user",
        "team-password",
        True,
    )


def test_ssh_template(store: CredentialStore) -> None:
    found = store.lookup("ssh://git@ssh.example.com/platform/infra.git")
    assert "not-a-real-key" in found.ssh_private_key
    assert found.username == ""


def test_malformed_secrets_are_skipped_and_reported() -> None:
    store = CredentialStore(StaticSecrets(load("secret-malformed.yaml", "secret-repo-creds.yaml")))

    found = store.lookup("https://git.example.com/team/x")

    assert found.password == "team-password"
    assert store.problems == (
        "failed to read secret argocd/no-url: missing key url",
        "failed to read secret argocd/bad-base64: data.url is not base64",
        "failed to read secret argocd/bad-url: unsupported scheme 'ftp'",
        "failed to read secret argocd/github-app: "
        "GitHub App credentials (githubAppPrivateKey) are not supported",
    )
    assert not any("password" in problem for problem in store.problems)
    assert not any("not-a-real-key" in problem for problem in store.problems)


def test_unlabelled_secret_is_not_a_repository_secret() -> None:
    unrelated = load("secret-repository.yaml")[-1]
    assert parse_secret(unrelated) is None


def test_invalid_secret_error_names_the_secret_only() -> None:
    with pytest.raises(InvalidRepositorySecret) as caught:
        parse_secret(load("secret-malformed.yaml")[0])
    assert caught.value.secret_name == "argocd/no-url"
    assert "orphan-password" not in str(caught.value)


def test_credentials_repr_hides_secret_values() -> None:
    creds = Credentials(
        username="u", password="pw-value", ssh_private_key="key-value", tls_client_cert_key="k"
    )
    shown = repr(creds)
    assert shown == (
        "Credentials(username='u', password=***, ssh_private_key=***, tls_client_cert_key=***)"
    )
    assert creds.secrets == ("pw-value", "key-value", "k")
    assert Credentials(insecure=True).is_empty


def test_rotated_secret_takes_effect_on_next_lookup() -> None:
    secrets: list[dict[str, Any]] = list(load("secret-repository.yaml"))

    class LiveSecrets:
        def repository_secrets(self) -> list[dict[str, Any]]:
            return secrets

    store = CredentialStore(LiveSecrets())
    assert store.lookup("https://git.example.com/team/app").password == "app-password"
    secrets[0] = {**secrets[0], "stringData": {**secrets[0]["stringData"], "password": "new"}}
    assert store.lookup("https://git.example.com/team/app").password == "new"
