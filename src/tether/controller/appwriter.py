"""Writing Applications: status fields, the operation request, finalizers.

Every write is a JSON patch of the Application. Writes built from a cached copy that
turns out to be stale (a field it removes is gone, a ``resourceVersion`` it tests has
moved) are dropped and the app is refreshed again shortly, against a newer copy; a
write that removes the ``operation`` request reads the app from the API server first,
since leaving the request behind would start the operation again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from tether.controller.status import needs_write, status_patch
from tether.kube import Conflict, Invalid, KubeClient, NotFound
from tether.live import ClusterCache
from tether.model import ResourceKey
from tether.model.application import Application

log = logging.getLogger(__name__)

APPLICATION = ("argoproj.io/v1alpha1", "Application")


def app_key(namespace: str, name: str) -> str:
    """The queue key of an application."""
    return f"{namespace}/{name}"


class ApplicationWriter:
    """Reads and patches Applications of the management cluster."""

    def __init__(
        self,
        client: KubeClient,
        cache: ClusterCache,
        retry: Callable[[str, float], None],
    ) -> None:
        """``retry(key, delay)`` asks for another refresh after a dropped stale write."""
        self.client = client
        self.cache = cache
        self.retry = retry

    def cached(self, key: str) -> dict[str, Any] | None:
        """The watch cache's copy of the app ``namespace/name``."""
        namespace, _, name = key.partition("/")
        return self.cache.get(ResourceKey("argoproj.io", "Application", namespace, name))

    async def read(self, key: str) -> dict[str, Any] | None:
        """The app ``namespace/name`` as the API server has it now (``None``: gone)."""
        namespace, _, name = key.partition("/")
        try:
            return await self.client.get(*APPLICATION, name, namespace)
        except NotFound:
            return None

    async def write_status(
        self, app: Application, fields: Mapping[str, Any], clear_operation: bool
    ) -> None:
        """Write ``status`` fields of ``app``; remove its ``operation`` when asked."""
        key = app_key(app.namespace, app.name)
        obj = await self.read(key) if clear_operation else self.cached(key)
        if obj is not None:
            await self.patch(obj, status_patch(obj, fields, clear_operation=clear_operation))

    async def write_fields(self, obj: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
        """Write ``status`` fields unless nothing but timestamps would change."""
        if needs_write(obj.get("status") or {}, fields):
            await self.patch(obj, status_patch(obj, fields))

    async def patch(self, obj: Mapping[str, Any], ops: list[dict[str, Any]]) -> None:
        """Apply a JSON patch to the Application ``obj``."""
        if not ops:
            return
        metadata = obj.get("metadata") or {}
        try:
            await self.client.patch(
                *APPLICATION, metadata["name"], metadata.get("namespace"), ops, patch_type="json"
            )
        except NotFound:
            return
        except (Invalid, Conflict) as error:
            # Our copy was stale: let the next refresh write against a newer one.
            log.info("%s; will retry on the next reconcile", error)
            self.retry(app_key(metadata.get("namespace", ""), metadata["name"]), 0.2)
