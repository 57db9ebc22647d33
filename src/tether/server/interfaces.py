"""What the server asks of the components that render and inspect applications.

The server does not render manifests or compute diffs itself; the controller does. The
endpoints that need those answers take these small interfaces, injected into
:func:`tether.server.app.create_app`. :mod:`tether.server.tree` implements
:class:`ResourceTree` and :class:`ManagedResources` from what the cluster already holds
(``status.resources`` and the live objects); :class:`ManifestSource` renders from Git and
is the controller's to provide.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from tether.kube import KubeClient
from tether.model import Application


class ManifestSource(Protocol):
    """Renders an application's desired objects (``GET .../manifests``, diff targets)."""

    async def manifests(self, app: Application, revision: str = "") -> list[dict[str, Any]]:
        """The objects the app's sources render to at ``revision`` (the target when empty)."""
        ...


class ResourceTree(Protocol):
    """The live objects of an application and their descendants (``GET .../resource-tree``)."""

    async def tree(self, app: Application) -> dict[str, Any]:
        """Argo CD's ``ApplicationTree``: ``{"nodes": [ResourceNode, ...]}``."""
        ...


class ManagedResources(Protocol):
    """Desired and live state of each managed object (``GET .../managed-resources``)."""

    async def managed_resources(self, app: Application) -> list[dict[str, Any]]:
        """Argo CD's ``ResourceDiff`` items, Secret values masked."""
        ...


#: ``on_push(repo_url, revision, changed_paths)``: called for every accepted Git push.
PushHook = Callable[[str, str, Sequence[str]], Awaitable[None]]

#: The client for an application's destination cluster.
DestinationClients = Callable[[Application], Awaitable[KubeClient]]
