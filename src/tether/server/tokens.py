"""JSON Web Tokens: issuing and reading the server's bearer tokens.

Tokens are HS256 JWTs signed with the key in ``argocd-secret`` (``tether-server-key``),
issued by ``argocd`` as Argo CD's are, with the subject naming who they stand for:

- ``<account>`` for a session opened with a password (``POST /api/v1/session``),
- ``<account>:apiKey`` for an account's API token,
- ``proj:<project>:<role>`` for a project role's token.

This module only signs and checks signatures and times (with the injected clock, so
expiry is testable); whether a well-signed token is still honoured (not logged out, not
deleted, the password not changed since) is :mod:`tether.server.auth`'s decision.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import jwt

from tether.server.clock import Clock

ISSUER: Final = "argocd"
_ALGORITHM: Final = "HS256"
#: Tolerated clock skew between servers sharing a key, in seconds.
LEEWAY: Final = 5


class InvalidToken(Exception):
    """The token is malformed, badly signed, expired or not yet valid."""


class TokenKind(StrEnum):
    """What a token stands for, read from its subject."""

    SESSION = "session"
    API_KEY = "apiKey"
    PROJECT = "project"


@dataclass(frozen=True, slots=True)
class Claims:
    """The checked claims of a token."""

    subject: str
    token_id: str
    issued_at: int
    expires_at: int  # 0: never

    @property
    def kind(self) -> TokenKind:
        """Session, API key or project role, from the subject's shape."""
        if self.subject.startswith("proj:"):
            return TokenKind.PROJECT
        if self.subject.endswith(":apiKey"):
            return TokenKind.API_KEY
        return TokenKind.SESSION

    @property
    def account(self) -> str:
        """The account a session or API token belongs to (``""`` for project tokens)."""
        if self.kind is TokenKind.PROJECT:
            return ""
        return self.subject.removesuffix(":apiKey")

    @property
    def project_role(self) -> tuple[str, str]:
        """``(project, role)`` of a project token."""
        _, project, role = [*self.subject.split(":", 2), "", ""][:3]
        return project, role


class TokenSigner:
    """Signs and verifies tokens with one key and one clock."""

    def __init__(self, key: bytes, clock: Clock) -> None:
        if len(key) < 32:
            raise ValueError("the token-signing key must be at least 32 bytes")
        self._key = key
        self._clock = clock

    def issue(self, subject: str, *, lifetime: float = 0, token_id: str = "") -> tuple[str, Claims]:
        """A signed token for ``subject``, expiring after ``lifetime`` seconds (0: never)."""
        now = int(self._clock())
        claims = Claims(
            subject=subject,
            token_id=token_id or str(uuid.uuid4()),
            issued_at=now,
            expires_at=now + int(lifetime) if lifetime > 0 else 0,
        )
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": claims.subject,
            "jti": claims.token_id,
            "iat": claims.issued_at,
            "nbf": claims.issued_at,
        }
        if claims.expires_at:
            payload["exp"] = claims.expires_at
        return jwt.encode(payload, self._key, algorithm=_ALGORITHM), claims

    def verify(self, token: str) -> Claims:
        """The claims of a well-signed, current token; :class:`InvalidToken` otherwise."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=ISSUER,
                # Times are checked below against the injected clock.
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["sub", "iat", "jti"],
                },
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(f"invalid token: {error}") from error
        now = self._clock()
        subject, token_id = payload.get("sub"), payload.get("jti")
        issued_at, expires_at = payload.get("iat"), payload.get("exp", 0)
        if not isinstance(subject, str) or not isinstance(token_id, str):
            raise InvalidToken("invalid token: sub and jti must be strings")
        if not isinstance(issued_at, int) or not isinstance(expires_at, int):
            raise InvalidToken("invalid token: iat and exp must be integers")
        if issued_at > now + LEEWAY:
            raise InvalidToken("invalid token: issued in the future")
        if expires_at and expires_at <= now - LEEWAY:
            raise InvalidToken("token is expired")
        return Claims(subject, token_id, issued_at, expires_at)
