"""Preparing rendered objects for a sync: default namespaces and hook names."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from tether.kube import Discovery, KubeError
from tether.model.hooks import is_hook


async def assign_namespaces(
    objects: Iterable[Mapping[str, Any]], namespace: str, discovery: Discovery
) -> list[dict[str, Any]]:
    """Put namespaced objects without a namespace into the destination ``namespace``.

    Cluster-scoped objects keep none (a namespace set on one is dropped, as the API
    server ignores it). Kinds the server does not serve yet (custom resources whose CRD
    this sync creates) are treated as namespaced, as Argo CD does.
    """
    out = []
    for obj in objects:
        metadata = dict(obj.get("metadata") or {})
        try:
            resource = await discovery.resolve(
                str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
            )
            namespaced = resource.namespaced
        except KubeError:
            namespaced = True
        if namespaced and not metadata.get("namespace") and namespace:
            metadata["namespace"] = namespace
        elif not namespaced:
            metadata.pop("namespace", None)
        out.append({**obj, "metadata": metadata})
    return out


def name_hooks(objects: Iterable[Mapping[str, Any]], sync_id: str) -> list[dict[str, Any]]:
    """Give hooks that only have ``generateName`` a name that is stable for the operation.

    The name is the prefix plus a digest of the operation's sync id and the hook's
    content, so a resumed operation computes the same name and finds the hook it
    created instead of creating another.
    """
    out = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        if is_hook(obj) and not metadata.get("name") and metadata.get("generateName"):
            digest = hashlib.sha256(
                sync_id.encode() + orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
            ).hexdigest()[:5]
            name = f"{metadata['generateName']}{digest}"[:63].rstrip("-.")
            out.append({**obj, "metadata": {**metadata, "name": name}})
        else:
            out.append(dict(obj))
    return out
