"""Local accounts: the built-in ``admin`` and those declared in ``argocd-cm``.

As in Argo CD, an account is declared by ``accounts.<name>: apiKey, login`` in
``argocd-cm`` (``accounts.<name>.enabled: "false"`` disables it); ``admin`` always
exists unless ``admin.enabled: "false"``, and may log in. Passwords are bcrypt hashes in
``argocd-secret`` (``admin.password``/``admin.passwordMtime`` for admin,
``accounts.<name>.password``/``.passwordMtime`` for the others); API token records are
``admin.tokens``/``accounts.<name>.tokens``, a JSON list of ``{id, iat, exp}``. A token
whose id is no longer listed is revoked.

On first start :func:`bootstrap` generates the token-signing key and the admin password,
storing the password in clear only in ``argocd-initial-admin-secret`` (key
``password``), where ``argocd admin initial-password`` looks for it.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import bcrypt
import orjson

from tether.kube import AlreadyExists
from tether.server.clock import Clock, from_rfc3339, to_rfc3339
from tether.server.store import INITIAL_ADMIN_SECRET, SettingsStore, Snapshot, encode

ADMIN: Final = "admin"
#: Key of ``argocd-secret`` holding the token-signing key (Argo CD's own is
#: ``server.secretkey``; tether keeps its own so the two never share a key).
SERVER_KEY: Final = "tether-server-key"
#: bcrypt cost: Argo CD's (Go's ``bcrypt.DefaultCost``).
BCRYPT_ROUNDS: Final = 10
#: Account names as Argo CD accepts them (DNS-label-like); nothing else reaches a key.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")
MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 72  # bcrypt reads no more


class Capability(StrEnum):
    """What an account may do: log in with a password, or hold API tokens."""

    LOGIN = "login"
    API_KEY = "apiKey"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An issued API token: its id, issue time and expiry (0: never), in Unix seconds."""

    id: str
    issued_at: int
    expires_at: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The wire form Argo CD stores and returns."""
        out: dict[str, Any] = {"id": self.id, "iat": self.issued_at}
        if self.expires_at:
            out["exp"] = self.expires_at
        return out


@dataclass(frozen=True, slots=True)
class Account:
    """One local account as the settings describe it (the hash never leaves the server)."""

    name: str
    enabled: bool
    capabilities: frozenset[Capability]
    password_hash: str = field(default="", repr=False)
    password_mtime: float = 0.0
    tokens: tuple[TokenRecord, ...] = ()

    def can(self, capability: Capability) -> bool:
        """Whether the account is enabled and has ``capability``."""
        return self.enabled and capability in self.capabilities

    def to_dict(self) -> dict[str, Any]:
        """Argo CD's ``Account`` message: name, enabled, capabilities, tokens."""
        return {
            "name": self.name,
            "enabled": self.enabled,
            "capabilities": sorted(c.value for c in self.capabilities),
            "tokens": [t.to_dict() for t in self.tokens],
        }


def is_valid_name(name: str) -> bool:
    """Whether ``name`` can be an account name."""
    return bool(_NAME.match(name))


def secret_keys(name: str) -> tuple[str, str, str]:
    """The ``argocd-secret`` keys of an account: password hash, its mtime, token records."""
    prefix = ADMIN if name == ADMIN else f"accounts.{name}"
    return f"{prefix}.password", f"{prefix}.passwordMtime", f"{prefix}.tokens"


def _capabilities(text: str) -> frozenset[Capability]:
    values = {c.value for c in Capability}
    return frozenset(Capability(p.strip()) for p in text.split(",") if p.strip() in values)


def _tokens(text: str) -> tuple[TokenRecord, ...]:
    try:
        raw = orjson.loads(text) if text else []
    except orjson.JSONDecodeError:
        return ()
    records = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and item.get("id"):
            records.append(
                TokenRecord(str(item["id"]), int(item.get("iat") or 0), int(item.get("exp") or 0))
            )
    return tuple(records)


def accounts_of(snapshot: Snapshot) -> dict[str, Account]:
    """Every account the settings declare, admin included, by name."""
    cm, secret = snapshot.settings, snapshot.secret
    names = {ADMIN}
    for key in cm:
        if key.startswith("accounts.") and key.count(".") == 1:
            name = key.removeprefix("accounts.")
            if is_valid_name(name):
                names.add(name)
    accounts: dict[str, Account] = {}
    for name in sorted(names):
        password_key, mtime_key, tokens_key = secret_keys(name)
        if name == ADMIN:
            enabled = cm.get("admin.enabled", "true").strip().lower() != "false"
            capabilities = _capabilities(cm.get("accounts.admin", "")) or frozenset(
                {Capability.LOGIN}
            )
        else:
            enabled = cm.get(f"accounts.{name}.enabled", "true").strip().lower() != "false"
            capabilities = _capabilities(cm[f"accounts.{name}"])
        accounts[name] = Account(
            name=name,
            enabled=enabled,
            capabilities=capabilities,
            password_hash=secret.get(password_key, ""),
            password_mtime=from_rfc3339(secret.get(mtime_key, "")) or 0.0,
            tokens=_tokens(secret.get(tokens_key, "")),
        )
    return accounts


async def hash_password(password: str) -> str:
    """Bcrypt hash of ``password`` (in a thread: hashing takes tens of milliseconds)."""
    hashed = await asyncio.to_thread(
        bcrypt.hashpw, password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)
    )
    return hashed.decode()


async def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (false for a missing or bad hash)."""
    if not password_hash:
        # Spend the same time as a real check so that timing does not reveal accounts.
        await asyncio.to_thread(bcrypt.checkpw, b"x", _DUMMY_HASH)
        return False
    try:
        return await asyncio.to_thread(bcrypt.checkpw, password.encode(), password_hash.encode())
    except ValueError:
        return False


_DUMMY_HASH = bcrypt.hashpw(b"unused", bcrypt.gensalt(BCRYPT_ROUNDS))


def check_new_password(password: str) -> str:
    """Why ``password`` may not be set, or ``""`` when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the new password must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password.encode()) > MAX_PASSWORD_LENGTH:
        return f"the new password must be at most {MAX_PASSWORD_LENGTH} bytes"
    return ""


async def set_password(store: SettingsStore, name: str, password: str, clock: Clock) -> None:
    """Store a new password hash for ``name``; earlier session tokens stop working."""
    password_key, mtime_key, _ = secret_keys(name)
    hashed = await hash_password(password)
    now = to_rfc3339(clock())
    await store.update_secret(lambda _: {password_key: hashed, mtime_key: now})


async def bootstrap(store: SettingsStore, clock: Clock) -> None:
    """Create the signing key and the admin password when they do not exist yet.

    The clear password is written to ``argocd-initial-admin-secret`` before its hash is
    stored, so a crash in between never leaves an admin whose password nobody knows.
    """
    current = (await store.snapshot()).secret
    if not current.get(SERVER_KEY):
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        await store.update_secret(lambda data: {} if data.get(SERVER_KEY) else {SERVER_KEY: key})
    password_key, mtime_key, _ = secret_keys(ADMIN)
    if current.get(password_key):
        store.invalidate()
        return
    password = secrets.token_urlsafe(12)
    initial = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": INITIAL_ADMIN_SECRET, "namespace": store.namespace},
        "type": "Opaque",
        "data": {"password": encode(password)},
    }
    try:
        await store.client.create(initial)
    except AlreadyExists:
        existing = await store.client.get("v1", "Secret", INITIAL_ADMIN_SECRET, store.namespace)
        stored = base64.b64decode((existing.get("data") or {}).get("password", "")).decode()
        if stored:
            password = stored
        else:  # an emptied initial Secret: give it the new password
            existing["data"] = {"password": encode(password)}
            await store.client.replace(existing)
    hashed = await hash_password(password)
    now = to_rfc3339(clock())
    await store.update_secret(
        lambda data: {} if data.get(password_key) else {password_key: hashed, mtime_key: now}
    )
