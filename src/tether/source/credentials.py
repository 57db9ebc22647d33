"""Repository credentials from Argo CD-style Secrets.

Two kinds of Secret are read, told apart by the label
``argocd.argoproj.io/secret-type``:

- ``repository``: credentials (and options) for exactly one repository URL;
- ``repo-creds``: a credential *template* for every repository whose URL starts with
  the template's URL.

For a repository URL, lookup follows Argo CD: a ``repository`` Secret whose URL is the
same repository (compared in normalised form, see :mod:`tether.source.urls`) wins; when
there is none, or it declares no credentials of its own, the ``repo-creds`` template with
the *longest* URL prefix supplies them. Prefixes are compared on the normalised strings,
as Argo CD does, so a template for ``https://github.com/org`` also covers
``https://github.com/org-tools/x``. A Secret with a ``project`` key serves only lookups for
that project, and beats an unscoped Secret of the same rank. Secrets of another
``type`` than ``git`` (``helm``, ``oci``) are ignored here. Credential kinds tether does
not implement (GitHub App, Google Cloud, Azure, bearer tokens) make a Secret unusable,
and say so, rather than letting it be used without its credentials.

Secrets arrive as plain mappings (``data`` base64-encoded, ``stringData`` in clear text,
``stringData`` winning as in Kubernetes) through the injected :class:`SecretProvider`,
which is asked again on every lookup so that a rotated Secret takes effect at the next
fetch. Credentials live in memory only; their ``repr`` names the fields that are set,
never the values. A malformed Secret is skipped and reported in
:attr:`CredentialStore.problems`; it never hides the credentials of another.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Protocol

from tether.model import keys
from tether.source.errors import InvalidRepositoryURL
from tether.source.urls import RepoURL, parse_repo_url

log = logging.getLogger(__name__)

_SECRET_FIELDS = ("password", "ssh_private_key", "tls_client_cert_key")

#: Argo CD credential kinds tether does not implement; such a Secret is reported, not
#: silently used without its credentials.
_UNSUPPORTED_KEYS = {
    "githubAppPrivateKey": "GitHub App credentials",
    "gcpServiceAccountKey": "Google Cloud Source credentials",
    "bearerToken": "bearer tokens",
    "azureServicePrincipalClientSecret": "Azure service principal credentials",
    "useAzureWorkloadIdentity": "Azure workload identity",
}


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a fetch may present to a remote. Empty strings mean "not set"."""

    username: str = ""
    password: str = field(default="", repr=False)
    ssh_private_key: str = field(default="", repr=False)
    tls_client_cert_data: str = ""
    tls_client_cert_key: str = field(default="", repr=False)
    #: Skip TLS certificate verification (HTTPS) or host-key checking (SSH).
    insecure: bool = False

    @property
    def is_empty(self) -> bool:
        """Whether no authentication material is set (``insecure`` does not count)."""
        return not (
            self.username
            or self.password
            or self.ssh_private_key
            or self.tls_client_cert_data
            or self.tls_client_cert_key
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for scrubbing messages."""
        return tuple(v for v in (getattr(self, name) for name in _SECRET_FIELDS) if v)

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if not value:
                continue
            shown.append(f"{f.name}=***" if f.name in _SECRET_FIELDS else f"{f.name}={value!r}")
        return f"Credentials({', '.join(shown)})"

    @classmethod
    def from_url(cls, url: RepoURL) -> Credentials:
        """The credentials embedded in a URL (``https://user:token@host/...``), if any."""
        if not url.has_credentials:
            return cls()
        return cls(username=url.username, password=url.password)


class SecretType(StrEnum):
    """The values of the ``argocd.argoproj.io/secret-type`` label read here."""

    REPOSITORY = keys.SECRET_TYPE_REPOSITORY
    REPO_CREDS = keys.SECRET_TYPE_REPO_CREDS


@dataclass(frozen=True, slots=True)
class RepositorySecret:
    """One decoded ``repository`` or ``repo-creds`` Secret."""

    secret_type: SecretType
    #: ``metadata.name`` of the Secret, for messages.
    secret_name: str
    url: str
    normalized: str
    credentials: Credentials
    #: The ``name`` key: a display name for the repository.
    name: str = ""
    #: The ``type`` key: ``git`` (the default), ``helm`` or ``oci``.
    repo_type: str = "git"
    #: The ``project`` key: when set, only this AppProject may use the Secret.
    project: str = ""


class SecretProvider(Protocol):
    """Where repository Secrets come from (the cluster, a file, a test)."""

    def repository_secrets(self) -> Iterable[Mapping[str, Any]]:
        """Every Secret that may be a ``repository`` or ``repo-creds`` Secret."""
        ...


@dataclass(frozen=True, slots=True)
class StaticSecrets:
    """A fixed list of Secrets: for the command line, offline use and tests."""

    secrets: tuple[Mapping[str, Any], ...] = ()

    def repository_secrets(self) -> Iterable[Mapping[str, Any]]:
        """The Secrets given at construction."""
        return self.secrets


class InvalidRepositorySecret(ValueError):
    """A Secret labelled as repository credentials cannot be used."""

    def __init__(self, secret_name: str, cause: str) -> None:
        """Name the Secret (never its values) and the problem."""
        super().__init__(f"failed to read secret {secret_name}: {cause}")
        self.secret_name = secret_name


def parse_secret(secret: Mapping[str, Any]) -> RepositorySecret | None:
    """Decode a Secret; ``None`` if it is not labelled as repository credentials.

    Raises :class:`InvalidRepositorySecret` for a labelled Secret that cannot be used.
    """
    metadata = secret.get("metadata") or {}
    labels = metadata.get("labels") or {}
    try:
        secret_type = SecretType(labels.get(keys.SECRET_TYPE_LABEL, ""))
    except ValueError:
        return None
    namespace = metadata.get("namespace") or ""
    secret_name = (
        f"{namespace}/{metadata.get('name', '')}" if namespace else metadata.get("name", "")
    )
    values = _decoded_values(secret, secret_name)
    url = values.get("url", "").strip()
    if not url:
        raise InvalidRepositorySecret(secret_name, "missing key url")
    repo_type = values.get("type", "") or "git"
    for key, kind in _UNSUPPORTED_KEYS.items():
        if repo_type == "git" and values.get(key):
            raise InvalidRepositorySecret(secret_name, f"{kind} ({key}) are not supported")
    try:
        parsed = parse_repo_url(url, prefix=secret_type is SecretType.REPO_CREDS)
        normalized = parsed.normalized
    except InvalidRepositoryURL as exc:
        raise InvalidRepositorySecret(secret_name, exc.cause) from None
    credentials = Credentials(
        username=values.get("username", ""),
        password=values.get("password", ""),
        ssh_private_key=values.get("sshPrivateKey", ""),
        tls_client_cert_data=values.get("tlsClientCertData", ""),
        tls_client_cert_key=values.get("tlsClientCertKey", ""),
        insecure=values.get("insecure", "").strip().lower() == "true",
    )
    return RepositorySecret(
        secret_type=secret_type,
        secret_name=secret_name,
        url=url,
        normalized=normalized,
        credentials=credentials,
        name=values.get("name", ""),
        repo_type=repo_type,
        project=values.get("project", ""),
    )


def _decoded_values(secret: Mapping[str, Any], secret_name: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, raw in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(raw), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRepositorySecret(secret_name, f"data.{key} is not base64") from None
    for key, raw in (secret.get("stringData") or {}).items():
        values[str(key)] = str(raw)
    return values


class CredentialStore:
    """Looks up the credentials for a repository URL among the provider's Secrets."""

    def __init__(self, provider: SecretProvider) -> None:
        """Read Secrets from ``provider`` on every lookup."""
        self._provider = provider
        self.problems: tuple[str, ...] = ()

    def secrets(self) -> list[RepositorySecret]:
        """The usable ``git`` Secrets; problems with the others land in :attr:`problems`."""
        parsed: list[RepositorySecret] = []
        problems: list[str] = []
        for raw in self._provider.repository_secrets():
            try:
                secret = parse_secret(raw)
            except InvalidRepositorySecret as exc:
                problems.append(str(exc))
                log.warning("%s", exc)
                continue
            if secret is not None and secret.repo_type == "git":
                parsed.append(secret)
        self.problems = tuple(problems)
        return parsed

    def lookup(self, url: RepoURL | str, project: str | None = None) -> Credentials:
        """The credentials for ``url`` (empty :class:`Credentials` when none match)."""
        repo = url if isinstance(url, RepoURL) else parse_repo_url(url)
        target = repo.normalized
        usable = [s for s in self.secrets() if not s.project or s.project == project]
        exact = [s for s in usable if s.secret_type is SecretType.REPOSITORY]
        exact = [s for s in exact if s.normalized == target]
        # Project-scoped Secrets rank above unscoped ones of the same kind.
        exact.sort(key=lambda s: not s.project)
        if exact and not exact[0].credentials.is_empty:
            return exact[0].credentials
        template = _longest_prefix(usable, target)
        if template is None:
            return exact[0].credentials if exact else Credentials()
        if exact and exact[0].credentials.insecure and not template.credentials.insecure:
            # The repository Secret's own options still apply to inherited credentials.
            return replace(template.credentials, insecure=True)
        return template.credentials


def _longest_prefix(secrets: list[RepositorySecret], target: str) -> RepositorySecret | None:
    best: RepositorySecret | None = None
    for secret in secrets:
        if secret.secret_type is not SecretType.REPO_CREDS or not target.startswith(
            secret.normalized
        ):
            continue
        if best is None or (len(secret.normalized), bool(secret.project)) > (
            len(best.normalized),
            bool(best.project),
        ):
            best = secret
    return best
