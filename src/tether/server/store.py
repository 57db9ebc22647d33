"""The server's view of Argo CD's settings objects, read through the cluster client.

Three objects in the control namespace hold everything the server needs:
``argocd-cm`` (accounts, session duration, URL), ``argocd-rbac-cm`` (the RBAC policy)
and the Secret ``argocd-secret`` (password hashes, token records, webhook secrets, the
token-signing key). Every request needs some of them, so :class:`SettingsStore` keeps a
copy for a short time (``ttl`` seconds) rather than asking the cluster each time; a
change made by another process is therefore seen within ``ttl``, and a change made
through this store at once. Secret values are decoded here and never leave the server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tether.kube import Conflict, KubeClient, KubeError, NotFound

SETTINGS_CM: Final = "argocd-cm"
RBAC_CM: Final = "argocd-rbac-cm"
SECRET: Final = "argocd-secret"
INITIAL_ADMIN_SECRET: Final = "argocd-initial-admin-secret"

log = logging.getLogger(__name__)

#: Optimistic-concurrency retries of a read-modify-write of ``argocd-secret``.
_WRITE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The three settings objects' data at one moment (missing objects read as empty)."""

    settings: Mapping[str, str]
    rbac: Mapping[str, str]
    secret: Mapping[str, str]


def decode_secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's ``data`` decoded to text; undecodable values are left out."""
    out: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return out


def encode(value: str) -> str:
    """Base64 of a text value, as Secret ``data`` holds it."""
    return base64.b64encode(value.encode()).decode()


class SettingsStore:
    """Cached reads of the settings objects, and writes to ``argocd-secret``."""

    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        *,
        monotonic: Callable[[], float],
        ttl: float = 2.0,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self._monotonic = monotonic
        self._ttl = ttl
        self._snapshot: Snapshot | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    async def snapshot(self) -> Snapshot:
        """The settings; a copy older than ``ttl`` is refreshed in the background.

        Requests never wait for a refresh while a copy exists (a slow cluster must not
        stall every request every ``ttl`` seconds); only the first read, and the one
        after :meth:`invalidate`, waits for the cluster.
        """
        current = self._snapshot
        if current is not None:
            stale = self._monotonic() - self._read_at >= self._ttl
            if stale and (self._refresh is None or self._refresh.done()):
                self._refresh = asyncio.create_task(self._reload(), name="settings refresh")
            return current
        async with self._lock:
            if self._snapshot is None:
                await self._reload()
            assert self._snapshot is not None
            return self._snapshot

    async def _reload(self) -> None:
        try:
            settings, rbac, secret = await asyncio.gather(
                self._config_map(SETTINGS_CM), self._config_map(RBAC_CM), self._secret()
            )
        except KubeError as error:
            if self._snapshot is None:
                raise
            log.warning("failed to refresh the settings, keeping the last copy: %s", error)
            self._read_at = self._monotonic()  # retry after another ttl, not at once
            return
        self._snapshot = Snapshot(settings, rbac, decode_secret_data(secret))
        self._read_at = self._monotonic()

    def invalidate(self) -> None:
        """Forget the cached copy: the next read waits for the cluster."""
        self._snapshot = None

    async def _config_map(self, name: str) -> dict[str, str]:
        try:
            obj = await self.client.get("v1", "ConfigMap", name, self.namespace)
        except NotFound:
            return {}
        return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}

    async def _secret(self) -> dict[str, Any]:
        try:
            return await self.client.get("v1", "Secret", SECRET, self.namespace)
        except NotFound:
            return {}

    async def update_secret(
        self, change: Callable[[Mapping[str, str]], Mapping[str, str | None]]
    ) -> None:
        """Read ``argocd-secret``, compute key changes from its data, write them.

        ``change`` returns the keys to set (``None`` removes a key). The write carries
        the resourceVersion read, so a concurrent writer makes it retry with fresh data
        instead of losing the other write. A missing Secret is created.
        """
        for _ in range(_WRITE_ATTEMPTS):
            secret = await self._secret()
            updates = change(decode_secret_data(secret))
            if not updates:
                return
            data = {k: (None if v is None else encode(v)) for k, v in updates.items()}
            try:
                if not secret:
                    await self.client.create(
                        {
                            "apiVersion": "v1",
                            "kind": "Secret",
                            "metadata": {
                                "name": SECRET,
                                "namespace": self.namespace,
                                "labels": {"app.kubernetes.io/part-of": "argocd"},
                            },
                            "type": "Opaque",
                            "data": {k: v for k, v in data.items() if v is not None},
                        }
                    )
                else:
                    version = secret["metadata"]["resourceVersion"]
                    await self.client.patch(
                        "v1",
                        "Secret",
                        SECRET,
                        self.namespace,
                        {"metadata": {"resourceVersion": version}, "data": data},
                    )
            except Conflict:  # AlreadyExists included: another writer went first
                continue
            self.invalidate()
            return
        raise Conflict("update", f"Secret/{self.namespace}/{SECRET}", "too many concurrent writers")
