"""The ``plugin`` generator: parameters from an HTTP service, Argo CD's plugin protocol.

``configMapRef.name`` names a ConfigMap in the control namespace with ``baseUrl``,
``requestTimeout`` (seconds, optional) and ``token``: ``$<secret-name>:<key>`` names
a key of any Secret of the control namespace, ``$<key>`` a key of ``argocd-secret``
(Argo CD's two forms). tether POSTs
``{"applicationSetName": ..., "input": {"parameters": ...}}`` to
``<baseUrl>/api/v1/getparams.execute`` with ``Authorization: Bearer <token>`` and reads
``{"output": {"parameters": [ {...}, ... ]}}``. Each object becomes a parameter set
(flattened with fasttemplate), plus ``generator.input.parameters``.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import (
    DEFAULT_API_REQUEUE_SECONDS,
    Generated,
    GenerationContext,
    requeue_of,
)
from tether.controller.appsets.hosted import BODY_EXCERPT
from tether.controller.appsets.params import ParamSet, as_go_data, flatten
from tether.model.applicationset import Generator

KIND = "plugin"
PATH = "/api/v1/getparams.execute"
#: Argo CD's settings Secret, where ``$<key>`` token references point.
SETTINGS_SECRET = "argocd-secret"


async def _token(reference: str, ctx: GenerationContext) -> str:
    if not reference:
        return ""
    if not reference.startswith("$") or len(reference) < 2:
        raise GeneratorError(KIND, "token must be a reference: $<secret-name>:<key> or $<key>")
    name, colon, key = reference[1:].partition(":")
    if not colon:
        name, key = SETTINGS_SECRET, name
    try:
        return await ctx.secrets.secret_value(name, key)
    except LookupError as error:
        raise GeneratorError(KIND, f"failed to read the token: {error}") from error


def _timeout(raw: str | None, default: float) -> float:
    """``requestTimeout`` (seconds) from the plugin's ConfigMap, else ``default``."""
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError as error:
        raise GeneratorError(
            KIND, f"requestTimeout must be a number of seconds: {raw!r}"
        ) from error
    if seconds <= 0:
        raise GeneratorError(KIND, f"requestTimeout must be positive: {raw!r}")
    return seconds


async def generate_plugin(generator: Generator, ctx: GenerationContext) -> Generated:
    """Ask the plugin service for parameter sets."""
    ref = generator.body.get("configMapRef") or {}
    name = ref.get("name") if isinstance(ref, Mapping) else None
    if not name:
        raise GeneratorError(KIND, "configMapRef.name is required")
    try:
        config = await ctx.secrets.config_map(str(name))
    except LookupError as error:
        raise GeneratorError(KIND, f"failed to read ConfigMap {name}: {error}") from error
    base_url = str(config.get("baseUrl", "")).rstrip("/")
    if not base_url:
        raise GeneratorError(KIND, f"ConfigMap {name} has no baseUrl")
    token = await _token(str(config.get("token", "")), ctx)
    parameters = ((generator.body.get("input") or {}).get("parameters")) or {}
    request = {"applicationSetName": ctx.appset.metadata.name, "input": {"parameters": parameters}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = base_url + PATH
    timeout = _timeout(config.get("requestTimeout"), ctx.http_timeout)
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.post(url, json=request, headers=headers)
    except httpx.HTTPError as error:
        raise GeneratorError(KIND, f"failed to call {url}: {type(error).__name__}") from error
    if response.status_code >= 400:
        raise GeneratorError(
            KIND,
            f"failed to call {url}: HTTP {response.status_code}: {response.text[:BODY_EXCERPT]}",
        )
    try:
        objects = response.json()["output"]["parameters"]
    except (ValueError, KeyError, TypeError) as error:
        raise GeneratorError(KIND, f"failed to call {url}: unexpected response") from error
    if not isinstance(objects, list) or not all(isinstance(o, Mapping) for o in objects):
        raise GeneratorError(KIND, f"failed to call {url}: parameters must be a list of objects")
    out: list[ParamSet] = []
    for obj in objects:
        params: ParamSet = dict(as_go_data(obj)) if ctx.go_template else flatten(obj)
        params["generator"] = {"input": {"parameters": parameters}}
        out.append(params)
    return Generated(tuple(out), requeue_of(generator, DEFAULT_API_REQUEUE_SECONDS))
