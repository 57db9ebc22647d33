"""The composition root of the long-running commands (``tether up``, ``tether controller``).

Here the pieces get what the management cluster holds for them: repository credentials
(Argo CD ``repository`` and ``repo-creds`` Secrets) for the Git cache, SOPS age keys
for the renderer, and the controller's renderer for the server's ``/manifests``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pyrage import x25519

from tether.controller.clusters import UnknownDestination
from tether.controller.comparison import ComparisonFailed
from tether.kube import KubeClient, KubeError, NotFound
from tether.model import keys
from tether.model.application import Application
from tether.render.renderer import Renderer
from tether.render.settings import RenderSettings
from tether.render.sops import parse_identities
from tether.server.errors import FailedPrecondition
from tether.source import CredentialStore, GitCache

log = logging.getLogger(__name__)

#: The Secret whose ``*.agekey`` entries hold the age identities that decrypt SOPS files
#: (the same shape as Flux's decryption Secret).
SOPS_SECRET = "tether-sops-age"


class ClusterRepositorySecrets:
    """Repository Secrets of the control namespace, re-listed every ``interval`` seconds.

    The Git cache asks for credentials synchronously on every fetch; it is answered from
    the latest list, so a rotated password is used from the next refresh on.
    """

    def __init__(self, client: KubeClient, namespace: str, *, interval: float = 10.0) -> None:
        self._client = client
        self._namespace = namespace
        self._interval = interval
        self._secrets: tuple[Mapping[str, Any], ...] = ()
        self._task: asyncio.Task[None] | None = None

    def repository_secrets(self) -> Iterable[Mapping[str, Any]]:
        """The Secrets as last listed."""
        return self._secrets

    async def refresh(self) -> None:
        """List the labelled Secrets now."""
        selector = (
            f"{keys.SECRET_TYPE_LABEL} in "
            f"({keys.SECRET_TYPE_REPOSITORY},{keys.SECRET_TYPE_REPO_CREDS})"
        )
        listed = await self._client.list("v1", "Secret", self._namespace, label_selector=selector)
        self._secrets = tuple(listed.items)

    async def start(self) -> None:
        """List once, then keep the list fresh in the background."""
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="repository secrets")

    async def close(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except KubeError as error:
                log.warning("%s; keeping the last repository credentials", error)


async def sops_settings(client: KubeClient, namespace: str) -> RenderSettings:
    """Render settings with the age identities of the ``tether-sops-age`` Secret, if any."""
    try:
        secret = await client.get("v1", "Secret", SOPS_SECRET, namespace)
    except NotFound:
        return RenderSettings()
    identities: list[x25519.Identity] = []
    for name, value in (secret.get("data") or {}).items():
        if name.endswith(".agekey"):
            text = base64.b64decode(value).decode()
            identities.extend(parse_identities(text, source=f"{SOPS_SECRET}/{name}"))
    return RenderSettings(sops_identities=tuple(identities))


async def git_cache(
    client: KubeClient, namespace: str, folder: Path
) -> tuple[GitCache, ClusterRepositorySecrets]:
    """A Git cache that authenticates with the cluster's repository Secrets."""
    secrets = ClusterRepositorySecrets(client, namespace)
    await secrets.start()
    return GitCache(folder, credentials=CredentialStore(secrets)), secrets


class ControllerManifests:
    """The server's ``/manifests``: the controller's own render of an application."""

    def __init__(self, controller: Any) -> None:
        self._controller = controller

    async def manifests(self, app: Application, revision: str = "") -> list[dict[str, Any]]:
        """Render ``app`` at ``revision`` (its targets when empty) as the controller would."""
        controller = self._controller
        destination = app.spec.destination
        revisions = (revision,) if revision else ()
        try:
            connection = controller.clusters.resolve(destination.server, destination.name)
            shas = await controller.comparer.resolve_revisions(app, revisions, True)
            rendered = await controller.comparer.render_manifests(app, connection, shas, False)
        except ComparisonFailed as failure:
            raise FailedPrecondition(failure.message) from failure
        except UnknownDestination as error:
            raise FailedPrecondition(f"failed to render {app.qualified_name}: {error}") from error
        return [dict(obj) for obj in rendered.objects]


def renderer_for(settings: RenderSettings) -> Renderer:
    """The renderer the controller uses, with ``settings``."""
    return Renderer(settings=settings)
