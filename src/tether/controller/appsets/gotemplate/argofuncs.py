"""The functions Argo CD adds to Sprig for ApplicationSet templates.

``normalize`` and ``slugify`` make names valid for Kubernetes; ``toYaml``/``fromYaml``
(and ``fromYamlArray``) convert between data and YAML text the way Argo CD does
(through JSON, so keys come out sorted and the trailing newline is dropped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from tether.controller.appsets.gotemplate.functions import CallError, Function, Kind, fn
from tether.controller.appsets.gotemplate.sprig import from_json, jsonable
from tether.render.errors import RenderError
from tether.render.yamlio import load_documents

_INVALID_DNS = re.compile(r"[^-a-z0-9.]")
_SLUG_INVALID = re.compile(r"[^a-z0-9_-]")
MAX_DNS_NAME = 253


def normalize(name: str) -> str:
    """Argo CD's ``SanitizeName``: lower case, ``[-a-z0-9.]`` only, at most 253 characters."""
    cleaned = _INVALID_DNS.sub("-", name.lower())[:MAX_DNS_NAME]
    return cleaned.strip("-.")


def slugify(*args: Any) -> str:
    """``slugify [maxSize] [smartTruncate] NAME``: a URL-safe slug, 50 characters by default.

    Smart truncation cuts at a ``-`` boundary so no word is split.
    """
    if not args:
        raise CallError("slugify needs a name")
    max_size, smart, name = 50, True, args[-1]
    if len(args) > 1:
        max_size = int(args[0])
    if len(args) > 2:
        smart = bool(args[1])
    if not isinstance(name, str):
        raise CallError(f"slugify: expected a string name, got {name!r}")
    slug = _SLUG_INVALID.sub("-", normalize(name).replace("&", "and").replace("@", "at"))
    slug = re.sub(r"-+", "-", slug).strip("-_")
    if max_size <= 0 or len(slug) <= max_size:
        return slug
    if not smart:
        return slug[:max_size]
    words: list[str] = re.findall(r"[^-]*-?", slug)
    if len(words[0]) > max_size:
        return words[0][:max_size]
    truncated = ""
    for word in words:
        if len(truncated) + len(word) - 1 <= max_size:
            truncated += word
        else:
            break
    return truncated.strip("-")


class _GoYamlDumper(yaml.SafeDumper):
    """PyYAML styled like Go's YAML encoder: double quotes where quotes are needed."""

    def choose_scalar_style(self) -> Any:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def to_yaml(value: Any) -> str:
    """Argo CD's ``toYaml``: YAML of the value's JSON form, without the final newline."""
    if value is None:
        return "null"
    text: str = yaml.dump(
        jsonable(value),
        Dumper=_GoYamlDumper,
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=float("inf"),
    )
    return text.removesuffix("\n").removesuffix("\n...")


def _parse_yaml(text: str) -> Any:
    # Parameters may carry repository content: parse within the hostile-input limits.
    try:
        documents = load_documents(text, name="fromYaml")
    except RenderError as error:
        raise CallError(f"error converting YAML to JSON: {error}") from error
    return from_json(json.dumps(documents[0] if documents else None))


def from_yaml(text: str) -> dict[str, Any]:
    """Argo CD's ``fromYaml``: a YAML mapping as data (numbers become float64)."""
    parsed = _parse_yaml(text)
    if parsed is None:
        return {}
    if not isinstance(parsed, Mapping):
        raise CallError("error unmarshaling JSON: cannot unmarshal into map[string]interface {}")
    return dict(parsed)


def from_yaml_array(text: str) -> list[Any]:
    """Argo CD's ``fromYamlArray``: a YAML sequence as data."""
    parsed = _parse_yaml(text)
    if parsed is None:
        return []
    if not isinstance(parsed, list):
        raise CallError("error unmarshaling JSON: cannot unmarshal into []interface {}")
    return parsed


ARGO_FUNCTIONS: dict[str, Function] = {
    "normalize": fn(Kind.STRING)(normalize),
    "slugify": fn(variadic=Kind.ANY)(slugify),
    "toYaml": fn(Kind.ANY)(to_yaml),
    "fromYaml": fn(Kind.STRING)(from_yaml),
    "fromYamlArray": fn(Kind.STRING)(from_yaml_array),
}
