"""ApplicationSet generation inside the API server, for previews that write nothing.

``POST /api/v1/applicationsets/generate`` and ``dryRun`` creates run the controller's
own generators and templates (:mod:`tether.controller.appsets`) in the server:

Git
    through a :class:`~tether.source.GitCache` private to the server app, whose
    mirrors live in a temporary folder removed with it; the credentials are the
    repository and repo-creds Secrets as they are at each call.
Clusters, Secrets, ConfigMaps
    read from the control namespace, but the Secrets that pull-request, SCM-provider
    and plugin generators send as tokens (to URLs the ApplicationSet's author chose)
    only when labelled ``app.kubernetes.io/part-of: argocd``, and never the server's
    own keys (:func:`server_owned`).
Limits
    a generation ends after :data:`GENERATE_TIMEOUT` seconds (503); an unreachable
    repository is a 503, any other generator or template failure a 400 naming it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI

from tether.controller.appsets import AppSetError, GeneratorError
from tether.controller.appsets.clusters import secret_field
from tether.controller.appsets.generate import generate
from tether.controller.appsets.generator import GenerationContext
from tether.controller.appsets.render import render_applications
from tether.controller.appsets.sources import ClusterInputs, GitRepositories, SnapshotRepositories
from tether.kube import KubeClient, KubeError, NotFound
from tether.model import keys
from tether.model.applicationset import ApplicationSet
from tether.server.accounts import SERVER_KEY
from tether.server.context import ServerContext
from tether.server.errors import BadInput, Unavailable, from_kube_error
from tether.server.store import INITIAL_ADMIN_SECRET, SECRET
from tether.source import CredentialStore, GitCache, RepositoryUnreachable

#: Longest a server-side generation may take, fetches and hosted APIs included.
GENERATE_TIMEOUT: Final = 60.0
#: Seconds a hosted-API generator (pull requests, SCM, plugin) may wait for an answer.
HTTP_TIMEOUT: Final = 20.0
#: The label a Secret needs before server-side generation reads it (Argo CD's marker).
PART_OF_LABEL: Final = "app.kubernetes.io/part-of"


class _RepositorySecrets:
    """Repository and repo-creds Secrets, listed afresh before each generation."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self._client = client
        self._namespace = namespace
        self._secrets: tuple[Mapping[str, Any], ...] = ()

    def repository_secrets(self) -> Iterable[Mapping[str, Any]]:
        """The Secrets as last listed (the Git cache asks synchronously)."""
        return self._secrets

    async def refresh(self) -> None:
        """List the labelled Secrets now."""
        selector = (
            f"{keys.SECRET_TYPE_LABEL} in "
            f"({keys.SECRET_TYPE_REPOSITORY},{keys.SECRET_TYPE_REPO_CREDS})"
        )
        listed = await self._client.list("v1", "Secret", self._namespace, label_selector=selector)
        self._secrets = tuple(listed.items)


def server_owned(name: str, key: str) -> bool:
    """Whether ``name``/``key`` holds one of the server's own credentials."""
    if name == INITIAL_ADMIN_SECRET:
        return True
    return name == SECRET and (
        key in (SERVER_KEY, "server.secretkey") or key.startswith(("admin.", "accounts."))
    )


class GuardedInputs:
    """Cluster Secrets, Secrets and ConfigMaps for generators run on a caller's behalf.

    Tokens are read only from Secrets marked ``app.kubernetes.io/part-of: argocd``
    (``argocd-secret``, the home of plugin tokens, is one) and never from the keys
    that sign sessions or hold passwords.
    """

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self._client = client
        self._namespace = namespace
        self._inputs = ClusterInputs(client, namespace)

    async def cluster_secrets(self) -> Sequence[Mapping[str, Any]]:
        """Every cluster Secret (generators expose only names, servers and metadata)."""
        return await self._inputs.cluster_secrets()

    async def secret_value(self, name: str, key: str) -> str:
        """One key of a marked Secret; ``LookupError`` says why when refused or absent."""
        if server_owned(name, key):
            raise LookupError(f"Secret {name} key {key} holds the server's credentials")
        try:
            secret = await self._client.get("v1", "Secret", name, self._namespace)
        except NotFound as error:
            raise LookupError(f"Secret {self._namespace}/{name} not found") from error
        except KubeError as error:
            raise LookupError(str(error)) from error
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if name != SECRET and labels.get(PART_OF_LABEL) != "argocd":
            raise LookupError(
                f"Secret {self._namespace}/{name} is not labelled {PART_OF_LABEL}: argocd, "
                "which Secrets read by generators through the API must be"
            )
        value = secret_field(secret, key)
        if not value:
            raise LookupError(f"Secret {self._namespace}/{name} has no key {key}")
        return value

    async def config_map(self, name: str) -> Mapping[str, str]:
        """A ConfigMap's data (plugin settings)."""
        return await self._inputs.config_map(name)


class ServerGeneration:
    """What generation inside the server reads: a private Git cache and guarded inputs.

    The cache's mirrors live in a temporary folder removed when this object goes (or
    when the process exits).
    """

    def __init__(self, client: KubeClient, namespace: str) -> None:
        folder = Path(tempfile.mkdtemp(prefix="tether-appset-git-"))
        weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        self._credentials = _RepositorySecrets(client, namespace)
        self.repositories = GitRepositories(
            GitCache(folder, credentials=CredentialStore(self._credentials))
        )
        self.inputs = GuardedInputs(client, namespace)

    async def generate(self, appset: ApplicationSet) -> list[dict[str, Any]]:
        """The Applications ``appset`` generates now; :class:`ApiError` when it cannot."""
        name = appset.metadata.name
        what = f"failed to generate the applications of applicationset {name}"
        try:
            async with asyncio.timeout(GENERATE_TIMEOUT):
                await self._credentials.refresh()
                context = GenerationContext(
                    appset,
                    SnapshotRepositories(self.repositories),
                    self.inputs,
                    self.inputs,
                    http_timeout=HTTP_TIMEOUT,
                )
                results, _ = await generate(context)
        except TimeoutError as error:
            raise Unavailable(f"{what}: timed out after {GENERATE_TIMEOUT:g} s") from error
        except GeneratorError as error:
            if _caused_by(error, RepositoryUnreachable):
                raise Unavailable(f"{what}: {error}") from error
            raise BadInput(f"{what}: {error}") from error
        except KubeError as error:
            raise from_kube_error(error) from error
        try:
            rendered = render_applications(appset, results)
        except AppSetError as error:
            raise BadInput(f"{what}: {error}") from error
        if rendered.failures:
            first, more = rendered.failures[0], len(rendered.failures) - 1
            extra = f" (and {more} more)" if more else ""
            raise BadInput(f"{what}: {first}{extra}")
        return list(rendered.applications)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` or an error it was raised from is a ``kind``."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__
    return False


def generation_of(app: FastAPI, ctx: ServerContext) -> ServerGeneration:
    """The app's :class:`ServerGeneration`, made on first use (most servers never need it)."""
    state = app.state
    generation: ServerGeneration | None = getattr(state, "appset_generation", None)
    if generation is None:
        generation = ServerGeneration(ctx.client, ctx.namespace)
        state.appset_generation = generation
    return generation
