"""Talking to hosted Git services (GitHub, GitLab, Gitea) and generator plugins.

Shared by the ``pullRequest``, ``scmProvider`` and ``plugin`` generators: the API base
URL, the token read from a Secret (``tokenRef: {secretName, key}``), bounded
pagination, and errors that name the request but never the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import GenerationContext

#: Stop following pages after this many (100 items each): a runaway API, not real data.
MAX_PAGES: Final = 50
PAGE_SIZE: Final = 100
#: How much of an error body goes into a message.
BODY_EXCERPT: Final = 200

PROVIDERS: Final = ("github", "gitlab", "gitea")
DEFAULT_API: Final = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com",
    "gitea": "",
}


@dataclass(frozen=True, slots=True)
class Provider:
    """Which service a generator body names, its settings, and its token."""

    name: str
    settings: Mapping[str, Any]
    api: str
    token: str

    def headers(self) -> dict[str, str]:
        """The authentication header the service expects (none without a token)."""
        if not self.token:
            return {}
        if self.name == "gitlab":
            return {"PRIVATE-TOKEN": self.token}
        return {"Authorization": f"token {self.token}"}


async def provider_of(
    generator_type: str, body: Mapping[str, Any], ctx: GenerationContext
) -> Provider:
    """The single provider configured in a generator body, its token resolved."""
    found = [name for name in PROVIDERS if name in body]
    if len(found) != 1:
        raise GeneratorError(
            generator_type,
            f"expected exactly one of {', '.join(PROVIDERS)}; found {found or 'none'}",
        )
    name = found[0]
    settings = body[name]
    if not isinstance(settings, Mapping):
        raise GeneratorError(generator_type, f"{name} must be an object")
    api = str(settings.get("api") or DEFAULT_API[name]).rstrip("/")
    if not api:
        raise GeneratorError(generator_type, f"{name}.api is required")
    token = await token_of(generator_type, settings.get("tokenRef"), ctx)
    return Provider(name, settings, api, token)


async def token_of(generator_type: str, ref: Any, ctx: GenerationContext) -> str:
    """The token a ``tokenRef`` points at ("" without one)."""
    if ref is None:
        return ""
    if not isinstance(ref, Mapping) or not ref.get("secretName") or not ref.get("key"):
        raise GeneratorError(generator_type, "tokenRef needs secretName and key")
    try:
        return await ctx.secrets.secret_value(str(ref["secretName"]), str(ref["key"]))
    except LookupError as error:
        raise GeneratorError(generator_type, f"failed to read the token: {error}") from error


def client_for(provider_settings: Mapping[str, Any], ctx: GenerationContext) -> httpx.AsyncClient:
    """An HTTP client honouring ``insecure`` (skip TLS verification) and the timeout."""
    verify = not bool(provider_settings.get("insecure", False))
    return httpx.AsyncClient(verify=verify, timeout=ctx.http_timeout, trust_env=False)


async def get_json(
    client: httpx.AsyncClient,
    generator_type: str,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, Any] | None = None,
    allow_missing: bool = False,
) -> Any:
    """GET a JSON document; ``None`` for a 404 when ``allow_missing``."""
    try:
        response = await client.get(url, headers=dict(headers), params=dict(params or {}))
    except httpx.HTTPError as error:
        raise GeneratorError(
            generator_type, f"failed to get {url}: {type(error).__name__}: {error}"
        ) from error
    if allow_missing and response.status_code == 404:
        return None
    if response.status_code >= 400:
        excerpt = response.text[:BODY_EXCERPT]
        raise GeneratorError(
            generator_type, f"failed to get {url}: HTTP {response.status_code}: {excerpt}"
        )
    try:
        return response.json()
    except ValueError as error:
        raise GeneratorError(generator_type, f"failed to get {url}: invalid JSON") from error


async def get_pages(
    client: httpx.AsyncClient,
    generator_type: str,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, Any],
    size_param: str = "per_page",
) -> list[Any]:
    """Every item of a paginated list (``page``/``per_page``), page by page."""
    items: list[Any] = []
    for page in range(1, MAX_PAGES + 1):
        query = {**params, "page": page, size_param: PAGE_SIZE}
        batch = await get_json(client, generator_type, url, headers=headers, params=query)
        if not isinstance(batch, list):
            raise GeneratorError(generator_type, f"failed to get {url}: expected a JSON list")
        items.extend(batch)
        if len(batch) < PAGE_SIZE:
            return items
    raise GeneratorError(generator_type, f"failed to get {url}: more than {MAX_PAGES} pages")
