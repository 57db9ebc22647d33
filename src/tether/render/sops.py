"""SOPS-encrypted manifests: decrypting them with age keys, and encrypting them.

A SOPS document is an ordinary YAML or JSON document whose leaf values are replaced by
``ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<str|int|float|bool|bytes>]`` and
which carries a top-level ``sops`` mapping: the data key wrapped for each recipient
(``age: [{recipient: age1..., enc: <armored age file>}]``), ``lastmodified``, the
encrypted ``mac`` and the rule choosing which values are encrypted. Keys stay in clear.

Format, as SOPS writes it:

- each value is AES-256-GCM encrypted under the 32-byte data key with a 32-byte random
  IV; the additional data is the value's path, its mapping keys joined and ended by
  ``:`` (``data:password:``); items of a list share their list's path;
- plaintexts are the value's text: ``True``/``False`` for booleans, Go's shortest
  decimal form for floats; empty strings are stored empty, ``null`` is left alone;
- a value is encrypted unless the rule says otherwise: ``unencrypted_suffix`` (the
  default, ``_unencrypted``) exempts values under a key with that suffix,
  ``encrypted_suffix`` / ``encrypted_regex`` encrypt only values under a matching key,
  ``unencrypted_regex`` exempts values under a matching key;
- the MAC is the upper-case hex SHA-512 of every value's plaintext in document order
  (with ``mac_only_encrypted``, only encrypted values, after a fixed prefix), encrypted
  like a value with ``lastmodified`` (RFC 3339) as additional data.

Decryption fails closed: no identity for the data key, a value or the MAC that fails
authentication, a MAC that does not match, a value left in clear where the rule says
it must be encrypted, or metadata that is missing or malformed is a :class:`SopsError`
whose message names the document and the value's key path, never a plaintext.
Only age recipients are supported (no KMS, PGP, Vault, nor Shamir key groups), and
only the key-based rules: documents using ``encrypted_comment_regex`` or
``unencrypted_comment_regex`` are refused, since parsed YAML has no comments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyrage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyrage import x25519

from tether.render.errors import RenderError

#: The key of the metadata mapping in an encrypted document.
METADATA_KEY = "sops"
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"
#: The SOPS format version written into documents this module encrypts.
FORMAT_VERSION = "3.9.0"
_IV_SIZE = 32
_TAG_SIZE = 16
_ENC = re.compile(
    r"^ENC\[AES256_GCM,data:(?P<data>[A-Za-z0-9+/=]*),iv:(?P<iv>[A-Za-z0-9+/=]+),"
    r"tag:(?P<tag>[A-Za-z0-9+/=]+),type:(?P<type>[a-z0-9]+)\]$"
)
#: SOPS starts the MAC of ``mac_only_encrypted`` documents with SHA-256("sops"), so such
#: a MAC can never equal the MAC over all values.
_MAC_ONLY_ENCRYPTED_PREFIX = hashlib.sha256(b"sops").digest()
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_GO_INT = re.compile(r"^[+-]?[0-9]+$")
_OTHER_KEY_TYPES = ("pgp", "kms", "gcp_kms", "azure_kv", "hc_vault")


class SopsError(RenderError):
    """A SOPS document could not be decrypted (or encrypted); nothing of it is used."""

    def __init__(self, subject: str, cause: str) -> None:
        super().__init__(subject, f"cannot decrypt SOPS document: {cause}")


@dataclass(frozen=True, slots=True)
class SopsRules:
    """Which values of a document are encrypted (SOPS's four mutually exclusive rules)."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: str = ""
    encrypted_regex: str = ""
    mac_only_encrypted: bool = False

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> SopsRules:
        """The rules stored in a ``sops`` mapping (the default suffix when none is)."""
        fields = {
            key: metadata.get(key) or ""
            for key in (
                "unencrypted_suffix",
                "encrypted_suffix",
                "unencrypted_regex",
                "encrypted_regex",
            )
        }
        for key, value in fields.items():
            if not isinstance(value, str):
                raise ValueError(f"sops.{key} must be a string")
        if not any(fields.values()):
            fields["unencrypted_suffix"] = DEFAULT_UNENCRYPTED_SUFFIX
        return cls(**fields, mac_only_encrypted=metadata.get("mac_only_encrypted") is True)

    def to_metadata(self) -> dict[str, Any]:
        """The rule entries of a ``sops`` mapping, as SOPS writes them."""
        out: dict[str, Any] = {
            key: value
            for key, value in (
                ("unencrypted_suffix", self.unencrypted_suffix),
                ("encrypted_suffix", self.encrypted_suffix),
                ("unencrypted_regex", self.unencrypted_regex),
                ("encrypted_regex", self.encrypted_regex),
            )
            if value
        }
        if not out:
            out["unencrypted_suffix"] = DEFAULT_UNENCRYPTED_SUFFIX
        if self.mac_only_encrypted:
            out["mac_only_encrypted"] = True
        return out

    def encrypts(self, path: Sequence[str]) -> bool:
        """Whether the value at ``path`` (its mapping keys) is encrypted."""
        encrypted = True
        suffix = self.unencrypted_suffix or (
            "" if self._other_rule_set() else DEFAULT_UNENCRYPTED_SUFFIX
        )
        if suffix and any(key.endswith(suffix) for key in path):
            encrypted = False
        if self.encrypted_suffix:
            encrypted = any(key.endswith(self.encrypted_suffix) for key in path)
        if self.unencrypted_regex and any(re.search(self.unencrypted_regex, k) for k in path):
            encrypted = False
        if self.encrypted_regex:
            encrypted = any(re.search(self.encrypted_regex, key) for key in path)
        return encrypted

    def _other_rule_set(self) -> bool:
        return bool(self.encrypted_suffix or self.unencrypted_regex or self.encrypted_regex)


def is_encrypted(document: Any) -> bool:
    """Whether ``document`` is a SOPS document (a mapping with ``sops`` metadata)."""
    if not isinstance(document, Mapping):
        return False
    metadata = document.get(METADATA_KEY)
    return isinstance(metadata, Mapping) and "mac" in metadata


def parse_identities(text: str, *, source: str = "age key") -> tuple[x25519.Identity, ...]:
    """The age X25519 identities in ``text`` (a ``keys.txt``: one per line, ``#`` comments).

    Errors name the line, never its content.
    """
    identities = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            raise SopsError(
                source, f"line {number} is not an age X25519 secret key (AGE-SECRET-KEY-1...)"
            ) from None
    return tuple(identities)


def decrypt_document(
    document: Mapping[str, Any], identities: Sequence[x25519.Identity], *, name: str
) -> dict[str, Any]:
    """``document`` decrypted and verified, without its ``sops`` key.

    ``name`` (the file or object the document came from) is the subject of errors.
    """
    metadata = document.get(METADATA_KEY)
    if not isinstance(metadata, Mapping):
        raise SopsError(name, "no sops metadata")
    try:
        rules = SopsRules.from_metadata(metadata)
    except ValueError as error:
        raise SopsError(name, str(error)) from None
    if metadata.get("key_groups"):
        raise SopsError(name, "key groups (Shamir secret sharing) are not supported")
    for rule in ("encrypted_comment_regex", "unencrypted_comment_regex"):
        # These rules depend on YAML comments, which parsed documents no longer have;
        # guessing would mean treating encrypted values as clear or the reverse.
        if metadata.get(rule):
            raise SopsError(name, f"sops.{rule} (comment-based rules) is not supported")
    key = _data_key(metadata, identities, name)
    digest = hashlib.sha512()
    if rules.mac_only_encrypted:
        digest.update(_MAC_ONLY_ENCRYPTED_PREFIX)

    def leaf(value: Any, path: tuple[str, ...]) -> Any:
        encrypted = rules.encrypts(path)
        if encrypted:
            if not isinstance(value, str):
                raise SopsError(name, f"value at {_show(path)} should be encrypted but is not")
            value = _decrypt_value(value, key, _additional_data(path), name, _show(path))
        if encrypted or not rules.mac_only_encrypted:
            digest.update(_plaintext(value, name, path))
        return value

    body = {k: v for k, v in document.items() if k != METADATA_KEY}
    decrypted = _walk(body, (), leaf, name)
    _verify_mac(metadata, key, digest.hexdigest().upper(), name)
    assert isinstance(decrypted, dict)
    return decrypted


def decrypt_objects(
    documents: Iterable[Any], identities: Sequence[x25519.Identity], *, name: str
) -> list[Any]:
    """``documents`` with every SOPS document decrypted; others pass through unchanged."""
    return [
        decrypt_document(document, identities, name=f"{name} document {number}")
        if is_encrypted(document)
        else document
        for number, document in enumerate(documents, start=1)
    ]


def encrypt_document(
    document: Mapping[str, Any],
    recipients: Sequence[str],
    *,
    rules: SopsRules = SopsRules(),
    now: datetime | None = None,
    name: str = "document",
) -> dict[str, Any]:
    """``document`` encrypted for the age ``recipients`` (``age1...``), as SOPS would.

    ``now`` becomes ``lastmodified`` (in UTC, as SOPS writes it); by default the current time.
    """
    if METADATA_KEY in document:
        raise SopsError(name, "the document is already encrypted (it has a sops key)")
    try:
        parsed = [x25519.Recipient.from_str(r) for r in recipients]
    except pyrage.RecipientError:
        raise SopsError(name, "a recipient is not an age X25519 public key (age1...)") from None
    if not parsed:
        raise SopsError(name, "at least one age recipient is required")
    key = os.urandom(32)
    digest = hashlib.sha512()
    if rules.mac_only_encrypted:
        digest.update(_MAC_ONLY_ENCRYPTED_PREFIX)

    def leaf(value: Any, path: tuple[str, ...]) -> Any:
        encrypted = rules.encrypts(path)
        plaintext = _plaintext(value, name, path)
        if encrypted or not rules.mac_only_encrypted:
            digest.update(plaintext)
        if not encrypted or (plaintext == b"" and isinstance(value, str)):
            return value
        return _encrypt_bytes(plaintext, _type_name(value), key, _additional_data(path))

    encrypted_body = _walk(dict(document), (), leaf, name)
    modified = _rfc3339((now or datetime.now(UTC)).astimezone(UTC))  # SOPS writes UTC
    mac = _encrypt_bytes(digest.hexdigest().upper().encode(), "str", key, modified)
    metadata: dict[str, Any] = {
        "age": [
            {
                "recipient": str(recipient),
                "enc": pyrage.encrypt(key, [recipient], armored=True).decode("ascii"),
            }
            for recipient in parsed
        ],
        "lastmodified": modified,
        "mac": mac,
        **rules.to_metadata(),
        "version": FORMAT_VERSION,
    }
    return {**encrypted_body, METADATA_KEY: metadata}


# --- the pieces ----------------------------------------------------------------------


def _walk(
    value: Any, path: tuple[str, ...], leaf: Callable[[Any, tuple[str, ...]], Any], name: str
) -> Any:
    """Apply ``leaf`` to every leaf in document order; ``None`` is neither walked nor hashed."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SopsError(name, f"key {key!r} under {_show(path)} is not a string")
            out[key] = _walk(item, (*path, key), leaf, name)
        return out
    if isinstance(value, list):
        return [_walk(item, path, leaf, name) for item in value]
    if value is None:
        return None
    return leaf(value, path)


def _data_key(
    metadata: Mapping[str, Any], identities: Sequence[x25519.Identity], name: str
) -> bytes:
    entries = metadata.get("age") or []
    if not isinstance(entries, list) or not all(
        isinstance(e, Mapping) and isinstance(e.get("enc"), str) for e in entries
    ):
        raise SopsError(name, "sops.age must be a list of {recipient, enc} entries")
    if not entries:
        others = [k for k in _OTHER_KEY_TYPES if metadata.get(k)]
        detail = f" (it is encrypted for {', '.join(others)} only)" if others else ""
        raise SopsError(name, f"no age recipients in its sops metadata{detail}")
    if not identities:
        raise SopsError(name, "no age identity is configured to decrypt it")
    for entry in entries:
        try:
            key: bytes = pyrage.decrypt(entry["enc"].encode("ascii"), list(identities))
        except (pyrage.DecryptError, UnicodeEncodeError):
            continue
        if len(key) == 32:
            return key
        raise SopsError(name, "the data key for one recipient is not 32 bytes long")
    recipients = ", ".join(str(e.get("recipient", "?")) for e in entries)
    raise SopsError(
        name, f"none of the configured age identities matches its recipients ({recipients})"
    )


def _decrypt_value(text: str, key: bytes, additional: str, name: str, where: str) -> Any:
    if text == "":
        return ""
    match = _ENC.match(text)
    if match is None:
        raise SopsError(name, f"value at {where} is not in SOPS's ENC[AES256_GCM,...] format")
    try:
        data, iv, tag = (base64.b64decode(match[p], validate=True) for p in ("data", "iv", "tag"))
    except binascii.Error:
        raise SopsError(name, f"value at {where} has invalid base64") from None
    if len(tag) != _TAG_SIZE or not iv:
        raise SopsError(name, f"value at {where} has a malformed IV or tag")
    try:
        plaintext = AESGCM(key).decrypt(iv, data + tag, additional.encode())
    except InvalidTag:
        raise SopsError(
            name, f"value at {where} failed authentication (tampered, or moved to another key)"
        ) from None
    return _typed(plaintext, match["type"], name, where)


def _typed(plaintext: bytes, kind: str, name: str, where: str) -> Any:
    """The value of a decrypted plaintext, by its SOPS type (parsed as Go parses it)."""
    try:
        text = plaintext.decode("utf-8")
    except UnicodeDecodeError:
        raise SopsError(name, f"value at {where} is not UTF-8 text") from None
    if kind in ("str", "bytes"):
        return text
    if kind in ("int", "int64") and _GO_INT.match(text):
        return int(text)
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            pass
    if kind == "bool" and text in _GO_TRUE | _GO_FALSE:
        return text in _GO_TRUE
    raise SopsError(name, f"value at {where} has type {kind!r} that its plaintext does not fit")


def _encrypt_bytes(plaintext: bytes, kind: str, key: bytes, additional: str) -> str:
    iv = os.urandom(_IV_SIZE)
    sealed = AESGCM(key).encrypt(iv, plaintext, additional.encode())
    data, tag = sealed[:-_TAG_SIZE], sealed[-_TAG_SIZE:]
    b64 = base64.b64encode
    return (
        f"ENC[AES256_GCM,data:{b64(data).decode()},iv:{b64(iv).decode()},"
        f"tag:{b64(tag).decode()},type:{kind}]"
    )


def _verify_mac(metadata: Mapping[str, Any], key: bytes, computed: str, name: str) -> None:
    stored = metadata.get("mac")
    modified = metadata.get("lastmodified")
    if not isinstance(stored, str) or not stored or modified is None:
        raise SopsError(name, "its sops metadata has no mac or no lastmodified")
    try:
        additional = _rfc3339(modified)
    except ValueError:
        raise SopsError(name, "sops.lastmodified is not an RFC 3339 time") from None
    expected = _decrypt_value(stored, key, additional, name, "sops.mac")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, computed):
        raise SopsError(name, "MAC mismatch: the document was changed after it was encrypted")


def _additional_data(path: Sequence[str]) -> str:
    return "".join(f"{key}:" for key in path)


def _show(path: Sequence[str]) -> str:
    return repr(":".join(path)) if path else "the top level"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, bytes):
        return "bytes"
    return "str"


def _plaintext(value: Any, name: str, path: Sequence[str]) -> bytes:
    """The bytes SOPS encrypts and hashes for ``value``."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise SopsError(name, f"value at {_show(path)} is not a finite number")
        # Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, no exponent.
        return format(Decimal(repr(value)).normalize(), "f").encode()
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, datetime | date):
        # Unquoted YAML timestamps: SOPS keeps their text, which parsing has lost.
        raise SopsError(name, f"value at {_show(path)} is a YAML timestamp; quote it")
    raise SopsError(name, f"value at {_show(path)} has unsupported type {type(value).__name__}")


def _rfc3339(value: Any) -> str:
    """``value`` as Go's ``time.RFC3339`` writes it (whole seconds, ``Z`` for UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    assert offset is not None
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
