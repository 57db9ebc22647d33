"""Decoding the Kubernetes protobuf encoding for the simple kinds kubectl sends that way.

kubectl's typed subcommands (``kubectl create namespace|configmap|secret|
serviceaccount``, ``kubectl auth can-i|whoami``) send
``application/vnd.kubernetes.protobuf`` bodies: the magic ``k8s`` plus a zero byte,
then a ``runtime.Unknown`` envelope (type meta and the raw message). This module
decodes those kinds into the JSON form the rest of the server works with, using the
field numbers of ``k8s.io/api``'s ``generated.proto``. Other
kinds are refused with ``415``, so the client knows to send JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from tether.localcluster.errors import bad_request, unsupported_media_type

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

Field = tuple[int, int, Any]  # field number, wire type, value (int or bytes)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise bad_request("protobuf: truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[Field]:
    """The ``(number, wire type, value)`` fields of one message, in order."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise bad_request("protobuf: truncated field")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            yield number, wire, data[pos : pos + size]
            pos += size
        else:
            raise bad_request(f"protobuf: unsupported wire type {wire}")


def _text(value: Any) -> str:
    return bytes(value).decode("utf-8")


def _entry(value: bytes, decode_value: Callable[[Any], Any]) -> tuple[str, Any]:
    key, item = "", None
    for number, _, raw in fields(value):
        if number == 1:
            key = _text(raw)
        elif number == 2:
            item = decode_value(raw)
    return key, item if item is not None else decode_value(b"")


def _bytes_b64(value: Any) -> str:
    return base64.b64encode(bytes(value)).decode()


def _owner_reference(value: bytes) -> dict[str, Any]:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    ref: dict[str, Any] = {}
    for number, _, raw in fields(value):
        if number in names:
            ref[names[number]] = _text(raw)
        elif number == 6:
            ref["controller"] = bool(raw)
        elif number == 7:
            ref["blockOwnerDeletion"] = bool(raw)
    return ref


def _object_meta(value: bytes) -> dict[str, Any]:
    strings = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for number, _, raw in fields(value):
        if number in strings:
            if raw:  # the encoder writes empty strings too; JSON omits them
                meta[strings[number]] = _text(raw)
        elif number == 7:
            meta["generation"] = raw
        elif number in (11, 12):
            key, item = _entry(raw, _text)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = item
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(raw))
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(raw))
    return meta


def _config_map(value: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, raw in fields(value):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            key, item = _entry(raw, _text)
            obj.setdefault("data", {})[key] = item
        elif number == 3:
            key, item = _entry(raw, _bytes_b64)
            obj.setdefault("binaryData", {})[key] = item
        elif number == 4:
            obj["immutable"] = bool(raw)
    return obj


def _secret(value: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, raw in fields(value):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            key, item = _entry(raw, _bytes_b64)
            obj.setdefault("data", {})[key] = item
        elif number == 3:
            obj["type"] = _text(raw)
        elif number == 4:
            key, item = _entry(raw, _text)
            obj.setdefault("stringData", {})[key] = item
        elif number == 5:
            obj["immutable"] = bool(raw)
    return obj


def _namespace(value: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, raw in fields(value):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            finalizers = [_text(v) for n, _, v in fields(raw) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
    return obj


def _service_account(value: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _, raw in fields(value):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 3:
            name = next((_text(v) for n, _, v in fields(raw) if n == 1), "")
            obj.setdefault("imagePullSecrets", []).append({"name": name})
        elif number == 4:
            obj["automountServiceAccountToken"] = bool(raw)
    return obj


def _strings(value: bytes, names: dict[int, str]) -> dict[str, str]:
    return {names[n]: _text(v) for n, _, v in fields(value) if n in names and v}


_RESOURCE_ATTRIBUTES = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}


def _access_review(value: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"spec": {}}
    for number, _, raw in fields(value):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            for sub, _, attrs in fields(raw):
                if sub == 1:
                    obj["spec"]["resourceAttributes"] = _strings(attrs, _RESOURCE_ATTRIBUTES)
                elif sub == 2:
                    obj["spec"]["nonResourceAttributes"] = _strings(attrs, {1: "path", 2: "verb"})
    return obj


def _rules_review(value: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"spec": {}}
    for number, _, raw in fields(value):
        if number == 1:
            obj["metadata"] = _object_meta(raw)
        elif number == 2:
            obj["spec"] = _strings(raw, {1: "namespace"})
    return obj


def _self_review(value: bytes) -> dict[str, Any]:
    meta = next((_object_meta(raw) for number, _, raw in fields(value) if number == 1), {})
    return {"metadata": meta}


_DECODERS: dict[tuple[str, str], Callable[[bytes], dict[str, Any]]] = {
    ("v1", "ConfigMap"): _config_map,
    ("v1", "Secret"): _secret,
    ("v1", "Namespace"): _namespace,
    ("v1", "ServiceAccount"): _service_account,
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): _access_review,
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): _rules_review,
    ("authentication.k8s.io/v1", "SelfSubjectReview"): _self_review,
}


def decode(body: bytes) -> dict[str, Any]:
    """The object in a protobuf-encoded request body; 415 for kinds not decoded here."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf: the body does not start with the Kubernetes magic number")
    api_version = kind = ""
    raw = b""
    for number, _, value in fields(body[len(MAGIC) :]):
        if number == 1:
            for sub, _, text in fields(value):
                if sub == 1:
                    api_version = _text(text)
                elif sub == 2:
                    kind = _text(text)
        elif number == 2:
            raw = bytes(value)
    decoder = _DECODERS.get((api_version, kind))
    if decoder is None:
        raise unsupported_media_type("application/json, application/yaml")
    try:
        obj = decoder(raw)
    except (UnicodeDecodeError, TypeError, ValueError) as error:
        raise bad_request(f"protobuf: malformed {kind}: {error}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}
