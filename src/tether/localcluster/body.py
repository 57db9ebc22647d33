"""Decoding request bodies, with the limits that keep hostile input harmless.

Bodies over :data:`MAX_BODY` (3 MiB, kube-apiserver's limit) are refused with 413
before they are read to the end. JSON is decoded by orjson (which does not recurse in
Python); YAML, for apply patches and YAML uploads, by PyYAML's C loader with aliases
refused. Every decoded document is then measured without recursion: anything nested
deeper than :data:`MAX_DEPTH` is a ``400 BadRequest``, so no later walk over it (merge,
validation, managed fields) can exhaust the stack.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from tether.localcluster import protobuf
from tether.localcluster.errors import APIError, bad_request, unsupported_media_type

MAX_BODY = 3 * 1024 * 1024
MAX_DEPTH = 100

_YAML_TYPES = ("application/yaml", "application/apply-patch+yaml", "text/yaml")
#: Encodings kube-apiserver also accepts that this server does not decode.
_UNSUPPORTED = ("application/cbor",)


class _JsonLikeLoader(yaml.CSafeLoader):
    """The C safe loader resolving scalars as Kubernetes does (timestamps stay strings)."""


_JsonLikeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def decode(body: bytes, content_type: str) -> Any:
    """The document in ``body``; 400 if malformed or too deep."""
    if len(body) > MAX_BODY:
        raise APIError(413, "RequestEntityTooLarge", "the request is too large")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == protobuf.MEDIA_TYPE:
        return protobuf.decode(body)
    if media in _UNSUPPORTED:
        raise unsupported_media_type("application/json, application/yaml")
    if media in _YAML_TYPES and not body.lstrip().startswith(b"{"):
        value = _decode_yaml(body)
    else:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise bad_request(f"couldn't get version/kind; json parse error: {error}") from None
        if body.count(b"{") + body.count(b"[") <= MAX_DEPTH:
            # Each level of JSON nesting opens with its own bracket, so a text with no
            # more brackets than the limit cannot nest deeper (brackets inside strings
            # only make the bound looser). Counting bytes in C spares most bodies the walk.
            return value
    check_depth(value)
    return value


def decode_object(body: bytes, content_type: str) -> dict[str, Any]:
    """Like :func:`decode`, but the document must be an object."""
    value = decode(body, content_type)
    if not isinstance(value, dict):
        raise bad_request(
            "couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{_json_type(value)} into Go value of type struct {{ APIVersion string "
            '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
        )
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null"


def _decode_yaml(body: bytes) -> Any:
    try:
        # Aliases would let a small document stand for a huge one: refuse them (the
        # event scan runs in C and costs a fraction of the load).
        for event in yaml.parse(body, Loader=_JsonLikeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise bad_request("error decoding YAML: aliases are not allowed")
        return yaml.load(body, Loader=_JsonLikeLoader)
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        raise bad_request(f"error decoding YAML: {error}") from None


def check_depth(value: Any) -> None:
    """400 if ``value`` nests deeper than :data:`MAX_DEPTH` (measured iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise bad_request(
                f"the request body is nested too deeply (more than {MAX_DEPTH} levels)"
            )
        if isinstance(node, dict):
            stack.extend(
                (child, depth + 1) for child in node.values() if isinstance(child, dict | list)
            )
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
