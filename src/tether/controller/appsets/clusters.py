"""The ``clusters`` generator: one parameter set per cluster Secret.

Parameters (Argo CD's): ``name``, ``nameNormalized``, ``server``, ``project``, and the
Secret's labels and annotations (``metadata.labels.<key>`` / ``metadata.annotations.<key>``
with fasttemplate, a ``metadata`` map with goTemplate). The local cluster
(``https://kubernetes.default.svc``, named ``in-cluster``) is included when no Secret
describes it and no ``selector`` is given, since it has no labels to match.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import Generated, GenerationContext, requeue_of
from tether.controller.appsets.gotemplate import normalize
from tether.controller.appsets.params import ParamSet
from tether.controller.appsets.selectors import LabelSelector
from tether.model.applicationset import Generator

IN_CLUSTER_SERVER: Final = "https://kubernetes.default.svc"
IN_CLUSTER_NAME: Final = "in-cluster"


def secret_field(secret: Mapping[str, Any], key: str) -> str:
    """A key of a Secret from ``stringData`` or base64 ``data``."""
    string_data = secret.get("stringData") or {}
    if key in string_data:
        return str(string_data[key])
    encoded = (secret.get("data") or {}).get(key)
    if encoded is None:
        return ""
    try:
        return base64.b64decode(str(encoded), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        name = (secret.get("metadata") or {}).get("name", "")
        raise GeneratorError("clusters", f"Secret {name} has invalid data.{key}") from error


async def generate_clusters(generator: Generator, ctx: GenerationContext) -> Generated:
    """One parameter set per selected cluster."""
    body = generator.body
    selector = LabelSelector.parse(body.get("selector"), "clusters")
    secrets = await ctx.clusters.cluster_secrets()
    out: list[ParamSet] = []
    has_local = False
    for secret in sorted(secrets, key=lambda s: (s.get("metadata") or {}).get("name", "")):
        metadata = secret.get("metadata") or {}
        labels = dict(metadata.get("labels") or {})
        annotations = dict(metadata.get("annotations") or {})
        server = secret_field(secret, "server")
        has_local = has_local or server == IN_CLUSTER_SERVER
        if not selector.matches(labels):
            continue
        name = secret_field(secret, "name")
        params: ParamSet = {
            "name": name,
            "nameNormalized": normalize(name),
            "server": server,
            "project": secret_field(secret, "project"),
        }
        if ctx.go_template:
            meta: dict[str, Any] = {}
            if annotations:
                meta["annotations"] = annotations
            if labels:
                meta["labels"] = labels
            params["metadata"] = meta
        else:
            params.update({f"metadata.annotations.{k}": v for k, v in annotations.items()})
            params.update({f"metadata.labels.{k}": v for k, v in labels.items()})
        out.append(params)
    if not has_local and selector.is_empty:
        local: ParamSet = {
            "name": IN_CLUSTER_NAME,
            "nameNormalized": IN_CLUSTER_NAME,
            "server": IN_CLUSTER_SERVER,
            "project": "",
        }
        if ctx.go_template:
            local["metadata"] = {}
        out.insert(0, local)
    # No timed requeue: the reconciler watches cluster Secrets (as Argo CD does).
    return Generated(tuple(out), requeue_of(generator, None))
