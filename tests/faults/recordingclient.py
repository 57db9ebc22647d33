"""A cluster client that remembers every write the server acknowledged.

A server that is ``kill -9``-ed owes its clients exactly the writes it answered with a
2xx: those must be there after a restart, whatever happened next. :class:`RecordingClient`
is a real :class:`~tether.kube.KubeClient` (the controller under test uses it as its
only client) that keeps, for every successful create, apply, replace and patch, the
object's identity and the resourceVersion the server returned. Dry runs write nothing
and are not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.kube import KubeClient


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """One write the server answered with success: the object as it was stored."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str
    resource_version: int

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}@{self.resource_version}"


class RecordingClient(KubeClient):
    """A :class:`KubeClient` whose :attr:`acknowledged` lists every write that succeeded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The writes the server acknowledged, in the order the answers arrived.
        self.acknowledged: list[Acknowledged] = []

    def _record(self, result: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        metadata = result.get("metadata") or {}
        if not dry_run and metadata.get("uid"):
            self.acknowledged.append(
                Acknowledged(
                    api_version=str(result.get("apiVersion", "")),
                    kind=str(result.get("kind", "")),
                    namespace=str(metadata.get("namespace", "")),
                    name=str(metadata["name"]),
                    uid=str(metadata["uid"]),
                    resource_version=int(metadata["resourceVersion"]),
                )
            )
        return result

    async def apply(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Server-side apply, recorded when acknowledged."""
        return self._record(await super().apply(*args, **kwargs), kwargs.get("dry_run", False))

    async def create(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Create, recorded when acknowledged."""
        return self._record(await super().create(*args, **kwargs), kwargs.get("dry_run", False))

    async def replace(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Replace, recorded when acknowledged."""
        return self._record(await super().replace(*args, **kwargs), kwargs.get("dry_run", False))

    async def patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Patch, recorded when acknowledged."""
        return self._record(await super().patch(*args, **kwargs), kwargs.get("dry_run", False))
