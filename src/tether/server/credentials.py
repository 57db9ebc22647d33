"""Repository and cluster credentials: labelled Secrets with write-only fields.

As in Argo CD, a repository is a Secret labelled ``argocd.argoproj.io/secret-type:
repository`` and a cluster one labelled ``cluster``, in the control namespace, with
their fields as ``data`` keys. :class:`CredentialSecrets` lists, finds (by normalised
URL for repositories, by server URL for clusters), writes and deletes them. Sensitive
fields are write-only: a read never returns them, and an update that omits one keeps
the stored value (so a client that read an object and writes it back loses nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.kube import AlreadyExists, KubeClient, KubeError, NotFound, ObjectList
from tether.model import keys
from tether.server.errors import BadInput, NotFoundError, from_kube_error
from tether.server.store import decode_secret_data, encode


@dataclass(frozen=True, slots=True)
class CredentialKind:
    """How one kind of credential Secret is named, matched and shown."""

    secret_type: str
    name_prefix: str
    key_field: str  # the data key identifying the object (``url`` or ``server``)
    normalize: Callable[[str], str]
    sensitive: frozenset[str]


class CredentialSecrets:
    """CRUD over the credential Secrets of one kind in the control namespace."""

    def __init__(self, client: KubeClient, namespace: str, kind: CredentialKind) -> None:
        self.client = client
        self.namespace = namespace
        self.kind = kind

    def secret_name(self, key: str) -> str:
        """A stable Secret name for an object key (``repo-<hash>``, ``cluster-<hash>``)."""
        digest = hashlib.sha256(self.kind.normalize(key).encode()).hexdigest()[:10]
        return f"{self.kind.name_prefix}-{digest}"

    async def _list(self) -> ObjectList:
        try:
            return await self.client.list(
                "v1",
                "Secret",
                self.namespace,
                label_selector=f"{keys.SECRET_TYPE_LABEL}={self.kind.secret_type}",
            )
        except KubeError as error:
            raise from_kube_error(error) from error

    async def all(self) -> list[dict[str, str]]:
        """Every object's fields (sensitive ones included: callers must not return them)."""
        return [decode_secret_data(s) for s in (await self._list()).items]

    async def find(self, key: str) -> tuple[dict[str, Any], dict[str, str]] | None:
        """The Secret and fields of the object whose key matches ``key`` after normalising."""
        wanted = self.kind.normalize(key)
        for secret in (await self._list()).items:
            data = decode_secret_data(secret)
            if self.kind.normalize(data.get(self.kind.key_field, "")) == wanted:
                return secret, data
        return None

    async def write(
        self, fields: Mapping[str, str], *, upsert: bool, create: bool
    ) -> dict[str, str]:
        """Create or update an object; omitted sensitive fields keep their stored values."""
        key = fields.get(self.kind.key_field, "")
        if not key:
            raise BadInput(f"{self.kind.key_field} is required")
        found = await self.find(key)
        if found is None and not create:
            raise NotFoundError(f"{self.kind.secret_type} {key} not found")
        if found is not None:
            secret, stored = found
            merged = dict(stored)
            merged.update(fields)
            if create and not upsert and _public(merged, self.kind) != _public(stored, self.kind):
                raise BadInput(
                    f"existing {self.kind.secret_type} spec is different; "
                    "use upsert flag to force update"
                )
            secret["data"] = {k: encode(v) for k, v in merged.items() if v != ""}
            secret.pop("stringData", None)
            try:
                await self.client.replace(secret)
            except KubeError as error:
                raise from_kube_error(error) from error
            return merged
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.secret_name(key),
                "namespace": self.namespace,
                "labels": {keys.SECRET_TYPE_LABEL: self.kind.secret_type},
            },
            "type": "Opaque",
            "data": {k: encode(v) for k, v in fields.items() if v != ""},
        }
        try:
            await self.client.create(secret)
        except AlreadyExists as error:
            raise BadInput(f"{self.kind.secret_type} {key} already exists") from error
        except KubeError as error:
            raise from_kube_error(error) from error
        return dict(fields)

    async def delete(self, key: str) -> dict[str, str]:
        """Delete the object whose key matches; returns its stored fields."""
        found = await self.find(key)
        if found is None:
            raise NotFoundError(f"{self.kind.secret_type} {key} not found")
        secret, data = found
        try:
            await self.client.delete("v1", "Secret", secret["metadata"]["name"], self.namespace)
        except NotFound:
            pass
        except KubeError as error:
            raise from_kube_error(error) from error
        return data


def _public(fields: Mapping[str, str], kind: CredentialKind) -> dict[str, str]:
    return {k: v for k, v in fields.items() if k not in kind.sensitive}


def public_fields(fields: Mapping[str, str], kind: CredentialKind) -> dict[str, str]:
    """The fields that may be shown: everything but the sensitive ones."""
    return _public(fields, kind)
