"""The protobuf request decoder: known fields decoded, unknown data refused, not dropped."""

from __future__ import annotations

import pytest

from tether.localcluster.errors import APIError
from tether.localcluster.protobuf import MAGIC, decode


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def envelope(api_version: str, kind: str, message: bytes) -> bytes:
    type_meta = field(1, api_version.encode()) + field(2, kind.encode())
    return MAGIC + field(1, type_meta) + field(2, message)


def meta(name: str) -> bytes:
    return field(1, name.encode()) + field(2, b"") + field(7, 0)  # zero values are sent too


def test_config_map_with_maps_and_zero_values() -> None:
    entry = field(1, b"k") + field(2, b"v")
    binary = field(1, b"raw") + field(2, b"\x00\x01")
    body = envelope("v1", "ConfigMap", field(1, meta("c")) + field(2, entry) + field(3, binary))
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"k": "v"},
        "binaryData": {"raw": "AAE="},
    }


def test_pointer_fields_keep_zero_and_negative_numbers_decode() -> None:
    spec = field(1, 0) + field(5, (1 << 64) - 3)  # replicas: 0 (a pointer), minReadySeconds: -3
    body = envelope("apps/v1", "Deployment", field(1, meta("d")) + field(2, spec))
    assert decode(body)["spec"] == {"replicas": 0, "minReadySeconds": -3}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (envelope("v1", "ConfigMap", field(1, meta("c")) + field(99, b"data")), 415),
        (envelope("rbac.authorization.k8s.io/v1", "Role", field(1, meta("r"))), 415),
        (b"not protobuf", 400),
        (MAGIC + b"\x0a\xff", 400),
    ],
    ids=["unknown-field-with-data", "kind-not-decoded", "no-magic", "truncated"],
)
def test_what_cannot_be_decoded_is_refused(body: bytes, code: int) -> None:
    with pytest.raises(APIError) as refused:
        decode(body)
    assert refused.value.code == code


def test_unknown_fields_that_are_empty_are_tolerated() -> None:
    body = envelope("v1", "ConfigMap", field(1, meta("c")) + field(99, b"") + field(98, 0))
    assert decode(body)["metadata"] == {"name": "c"}
