"""SOPS with age: round trips, a fixture built from the format spec, fail-closed checks."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
import pytest
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrage import x25519

from tether.render.sops import (
    SopsError,
    SopsRules,
    decrypt_document,
    decrypt_objects,
    encrypt_document,
    is_encrypted,
    parse_identities,
)

FIXTURES = Path(__file__).resolve().parents[2] / "testdata" / "render" / "sops"
SECRETS = ("correct-horse-battery-staple", "hunter2", "s3cr3t-api-key", "c2VjcmV0LWtleS1ieXRlcw==")
WHEN = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((FIXTURES / name).read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def identity() -> x25519.Identity:
    [key] = parse_identities((FIXTURES / "age-key.txt").read_text())
    return key


@pytest.fixture(scope="module")
def recipient(identity: x25519.Identity) -> str:
    return str(identity.to_public())


def assert_no_secret(error: pytest.ExceptionInfo[SopsError]) -> None:
    message = str(error.value)
    assert message.startswith("failed to render ")
    assert not any(secret in message for secret in SECRETS), message


def encrypted_paths(document: Any, path: str = "") -> list[str]:
    """The key paths whose value is an ENC[...] string."""
    if isinstance(document, dict):
        return [
            p
            for key, value in document.items()
            if key != "sops"
            for p in encrypted_paths(value, f"{path}{key}:")
        ]
    if isinstance(document, list):
        return [p for item in document for p in encrypted_paths(item, path)]
    return [path] if isinstance(document, str) and document.startswith("ENC[") else []


@pytest.mark.parametrize(
    ("fixture", "rules", "encrypted"),
    [
        (
            "config-plain.yaml",
            SopsRules(),
            # everything but the *_unencrypted key; null stays null
            [
                "apiVersion:",
                "kind:",
                "metadata:name:",
                "spec:replicas:",
                "spec:ratio:",
                "spec:huge:",
                "spec:enabled:",
                "spec:disabled:",
                "spec:hosts:",
                "spec:hosts:",
                "spec:apiKey_secret:",
                "spec:nested:name:",
                "spec:nested:password:",
            ],
        ),
        (
            "secret-plain.yaml",
            SopsRules(encrypted_regex="^(data|stringData)$"),
            ["stringData:username:", "stringData:password:", "data:tls.key:"],
        ),
        (
            "config-plain.yaml",
            SopsRules(encrypted_suffix="_secret"),
            ["spec:apiKey_secret:"],
        ),
        (
            "config-plain.yaml",
            SopsRules(unencrypted_regex="^(apiVersion|kind|metadata|spec)$"),
            [],
        ),
        (
            "config-plain.yaml",
            SopsRules(encrypted_regex="^(password|apiKey_secret)$", mac_only_encrypted=True),
            ["spec:apiKey_secret:", "spec:nested:password:"],
        ),
    ],
)
def test_round_trip_honours_the_rules(
    identity: x25519.Identity,
    recipient: str,
    fixture: str,
    rules: SopsRules,
    encrypted: list[str],
) -> None:
    plain = load(fixture)
    sealed = encrypt_document(plain, [recipient], rules=rules, now=WHEN)
    assert is_encrypted(sealed)
    assert encrypted_paths(sealed) == encrypted
    assert sealed["sops"]["lastmodified"] == "2026-11-22T03:30:00Z"
    assert decrypt_document(sealed, [identity], name=fixture) == plain


def test_stored_fixture_decrypts_to_its_plain_twin(identity: x25519.Identity) -> None:
    assert decrypt_document(load("secret-encrypted.yaml"), [identity], name="f") == load(
        "secret-plain.yaml"
    )


def test_a_document_built_step_by_step_from_the_format_spec(
    identity: x25519.Identity, recipient: str
) -> None:
    """Every byte of this document follows SOPS's format description, not our encryptor."""
    data_key = bytes(range(32))
    lastmodified = "2026-01-02T03:04:05Z"

    def enc(plaintext: bytes, kind: str, additional: str, iv_byte: int) -> str:
        iv = bytes([iv_byte]) * 32  # SOPS uses 32-byte IVs
        sealed = AESGCM(data_key).encrypt(iv, plaintext, additional.encode())
        b64 = base64.b64encode
        return (
            f"ENC[AES256_GCM,data:{b64(sealed[:-16]).decode()},iv:{b64(iv).decode()},"
            f"tag:{b64(sealed[-16:]).decode()},type:{kind}]"
        )

    # Values in document order; with encrypted_regex only stringData is encrypted, but the
    # MAC covers every value: apiVersion, kind, metadata.name, then the secrets.
    mac = hashlib.sha512(b"v1" + b"Secret" + b"db" + b"hunter2" + b"5432" + b"True").hexdigest()
    document = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {
            "password": enc(b"hunter2", "str", "stringData:password:", 1),
            "port": enc(b"5432", "int", "stringData:port:", 2),
            "tls": enc(b"True", "bool", "stringData:tls:", 3),
        },
        "sops": {
            "age": [
                {
                    "recipient": recipient,
                    "enc": pyrage.encrypt(data_key, [identity.to_public()], armored=True).decode(),
                }
            ],
            "lastmodified": lastmodified,
            "mac": enc(mac.upper().encode(), "str", lastmodified, 4),
            "encrypted_regex": "^stringData$",
            "version": "3.9.0",
        },
    }
    assert decrypt_document(document, [identity], name="spec") == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": "hunter2", "port": 5432, "tls": True},
    }


@pytest.fixture
def sealed(recipient: str) -> dict[str, Any]:
    return encrypt_document(
        load("secret-plain.yaml"),
        [recipient],
        rules=SopsRules(encrypted_regex="^(data|stringData)$"),
        now=WHEN,
    )


def test_wrong_key_fails_closed(sealed: dict[str, Any]) -> None:
    stranger = x25519.Identity.generate()
    with pytest.raises(SopsError, match="none of the configured age identities matches") as caught:
        decrypt_document(sealed, [stranger], name="secret.yaml")
    assert_no_secret(caught)


def test_no_identity_at_all_fails_closed(sealed: dict[str, Any]) -> None:
    with pytest.raises(SopsError, match="no age identity is configured"):
        decrypt_document(sealed, [], name="secret.yaml")


def flip_ciphertext(value: str) -> str:
    data = value.split("data:")[1].split(",")[0]
    raw = bytearray(base64.b64decode(data))
    raw[0] ^= 0x01
    return value.replace(data, base64.b64encode(bytes(raw)).decode())


def test_tampered_ciphertext_fails_authentication(
    sealed: dict[str, Any], identity: x25519.Identity
) -> None:
    sealed["stringData"]["password"] = flip_ciphertext(sealed["stringData"]["password"])
    with pytest.raises(
        SopsError, match="value at 'stringData:password' failed authentication"
    ) as c:
        decrypt_document(sealed, [identity], name="secret.yaml")
    assert_no_secret(c)


def test_a_value_moved_to_another_key_fails_authentication(
    sealed: dict[str, Any], identity: x25519.Identity
) -> None:
    values = sealed["stringData"]
    values["username"], values["password"] = values["password"], values["username"]
    with pytest.raises(SopsError, match="failed authentication") as caught:
        decrypt_document(sealed, [identity], name="secret.yaml")
    assert_no_secret(caught)


def test_tampered_mac_fails_closed(sealed: dict[str, Any], identity: x25519.Identity) -> None:
    sealed["sops"]["mac"] = flip_ciphertext(sealed["sops"]["mac"])
    with pytest.raises(SopsError, match=r"value at sops\.mac failed authentication") as caught:
        decrypt_document(sealed, [identity], name="secret.yaml")
    assert_no_secret(caught)


def test_changed_lastmodified_fails_closed(
    sealed: dict[str, Any], identity: x25519.Identity
) -> None:
    sealed["sops"]["lastmodified"] = "2030-01-01T00:00:00Z"
    with pytest.raises(SopsError, match=r"sops\.mac failed authentication"):
        decrypt_document(sealed, [identity], name="secret.yaml")


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda d: d["metadata"].update(name="other"), id="clear value changed"),
        pytest.param(lambda d: d["metadata"].update(labels={"x": "y"}), id="clear value added"),
        pytest.param(lambda d: d["stringData"].pop("username"), id="encrypted value removed"),
        pytest.param(lambda d: d.update(type="kubernetes.io/tls"), id="type changed"),
    ],
)
def test_changes_to_the_document_break_the_mac(
    sealed: dict[str, Any], identity: x25519.Identity, edit: Any
) -> None:
    edit(sealed)
    with pytest.raises(SopsError, match="MAC mismatch") as caught:
        decrypt_document(sealed, [identity], name="secret.yaml")
    assert_no_secret(caught)


def test_a_clear_value_where_encryption_is_required_is_refused(
    sealed: dict[str, Any], identity: x25519.Identity
) -> None:
    sealed["stringData"]["password"] = 42
    with pytest.raises(SopsError, match="'stringData:password' should be encrypted"):
        decrypt_document(sealed, [identity], name="secret.yaml")


@pytest.mark.parametrize(
    ("metadata_edit", "message"),
    [
        ({"age": []}, "no age recipients in its sops metadata"),
        ({"age": [], "pgp": [{"fp": "ABC"}]}, r"encrypted for pgp only"),
        ({"age": "nonsense"}, "sops.age must be a list"),
        ({"mac": ""}, "no mac or no lastmodified"),
        ({"lastmodified": "yesterday"}, "not an RFC 3339 time"),
        ({"key_groups": [{"age": []}]}, "key groups"),
        ({"encrypted_comment_regex": "sops:enc"}, "comment-based rules"),
    ],
)
def test_malformed_metadata_fails_closed(
    sealed: dict[str, Any],
    identity: x25519.Identity,
    metadata_edit: dict[str, Any],
    message: str,
) -> None:
    sealed["sops"].update(metadata_edit)
    with pytest.raises(SopsError, match=message) as caught:
        decrypt_document(sealed, [identity], name="secret.yaml")
    assert_no_secret(caught)


def test_malformed_values_fail_closed(sealed: dict[str, Any], identity: x25519.Identity) -> None:
    sealed["stringData"]["password"] = "ENC[AES256_GCM,data:%%%]"
    with pytest.raises(SopsError, match="not in SOPS's ENC"):
        decrypt_document(sealed, [identity], name="secret.yaml")


def test_identities_file_errors_never_echo_the_key() -> None:
    text = "# my keys\nAGE-SECRET-KEY-1NOTAREALKEYATALL\n"
    with pytest.raises(SopsError, match="line 2 is not an age X25519 secret key") as caught:
        parse_identities(text, source="Secret argocd/sops-age")
    assert "NOTAREALKEY" not in str(caught.value)


def test_decrypt_objects_passes_plain_documents_through(
    sealed: dict[str, Any], identity: x25519.Identity
) -> None:
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    out = decrypt_objects([plain, copy.deepcopy(sealed)], [identity], name="apps/shop/all.yaml")
    assert out == [plain, load("secret-plain.yaml")]
    assert not is_encrypted(plain)


def test_encrypting_twice_or_for_nobody_is_refused(sealed: dict[str, Any], recipient: str) -> None:
    with pytest.raises(SopsError, match="already encrypted"):
        encrypt_document(sealed, [recipient])
    with pytest.raises(SopsError, match="at least one age recipient"):
        encrypt_document(load("secret-plain.yaml"), [])


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_DOCUMENTS = st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda k: k != "sops"),
    st.recursive(
        _LEAVES,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)
        ),
        max_leaves=12,
    ),
    max_size=4,
)
_RULES = st.sampled_from(
    [
        SopsRules(),
        SopsRules(encrypted_regex="^[a-m]"),
        SopsRules(unencrypted_regex="^[a-m]", mac_only_encrypted=True),
        SopsRules(encrypted_suffix="x"),
    ]
)


@settings(max_examples=60, deadline=None)
@given(document=_DOCUMENTS, rules=_RULES)
def test_round_trip_of_any_document(
    identity: x25519.Identity, recipient: str, document: dict[str, Any], rules: SopsRules
) -> None:
    sealed = encrypt_document(document, [recipient], rules=rules, now=WHEN)
    assert decrypt_document(sealed, [identity], name="generated") == document


@pytest.mark.parametrize(
    "lastmodified",
    [
        pytest.param("2026-11-22T03:30:00.000Z", id="fraction: Go writes whole seconds"),
        pytest.param(datetime(2026, 11, 22, 3, 30, tzinfo=UTC), id="unquoted YAML timestamp"),
    ],
)
def test_lastmodified_is_read_as_go_reads_rfc3339(
    sealed: dict[str, Any], identity: x25519.Identity, lastmodified: Any
) -> None:
    sealed["sops"]["lastmodified"] = lastmodified
    assert decrypt_document(sealed, [identity], name="secret.yaml") == load("secret-plain.yaml")


def test_lastmodified_in_another_offset_is_another_text(
    sealed: dict[str, Any], identity: x25519.Identity
) -> None:
    # The same instant, but Go formats it with its offset: the MAC's additional data differs.
    sealed["sops"]["lastmodified"] = "2026-11-22T05:30:00+02:00"
    with pytest.raises(SopsError, match="failed authentication"):
        decrypt_document(sealed, [identity], name="secret.yaml")
