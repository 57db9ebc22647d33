"""Authentication: logging in, reading tokens, and deciding whether a token still counts.

A request authenticates with a token, sent either as ``Authorization: Bearer <token>``
(the CLI, scripts) or as the ``argocd.token`` cookie (the UI; set ``HttpOnly`` and
``SameSite=Strict`` by ``POST /api/v1/session``). A token is honoured when it is
well-signed and current (:mod:`tether.server.tokens`) and:

- session token: the account exists, is enabled and may log in; the token was not
  logged out; it was issued after the account's last password change;
- API token: the account exists, is enabled, has ``apiKey``, and still lists the
  token's id in its records (deleting the record revokes the token);
- project token: the AppProject's role still lists the token's id.

Cross-site request forgery: a browser attaches cookies to requests other sites make it
send, but cannot add custom headers to them without a CORS preflight, which this server
never grants. So a mutating request (anything but GET, HEAD, OPTIONS) authenticated by
the cookie must carry ``X-Requested-With: XMLHttpRequest``; bearer-token requests need
nothing more, as a browser never adds that header by itself.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

from tether.kube import KubeClient, KubeError, NotFound
from tether.model import API_VERSION, AppProject, SpecError
from tether.model.wire import parse_duration
from tether.server.accounts import (
    SERVER_KEY,
    Account,
    Capability,
    accounts_of,
    verify_password,
)
from tether.server.clock import Clock
from tether.server.errors import BadInput, PermissionDenied, RateLimited, Unauthenticated
from tether.server.ratelimit import LoginLimiter
from tether.server.store import SettingsStore, Snapshot
from tether.server.tokens import Claims, InvalidToken, TokenKind, TokenSigner

log = logging.getLogger(__name__)

COOKIE: Final = "argocd.token"
CSRF_HEADER: Final = "X-Requested-With"
CSRF_VALUE: Final = "XMLHttpRequest"
#: ``argocd-secret`` key of logged-out session tokens: JSON ``{token id: expiry}``.
REVOKED_KEY: Final = "tether.revokedTokens"
#: ``users.session.duration`` default, as in Argo CD.
DEFAULT_SESSION_SECONDS: Final = 24 * 3600.0
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the RBAC subject, the name to record, and the token's claims."""

    subject: str
    username: str
    claims: Claims

    @property
    def kind(self) -> TokenKind:
        """Session, API key or project role."""
        return self.claims.kind


def session_seconds(settings: Mapping[str, str]) -> float:
    """``users.session.duration`` of ``argocd-cm`` in seconds (the default when unreadable)."""
    text = settings.get("users.session.duration", "")
    if not text:
        return DEFAULT_SESSION_SECONDS
    try:
        return parse_duration(text, "users.session.duration") or DEFAULT_SESSION_SECONDS
    except SpecError:
        return DEFAULT_SESSION_SECONDS


def revoked_tokens(secret: Mapping[str, str]) -> dict[str, int]:
    """The logged-out session tokens recorded in ``argocd-secret``."""
    try:
        data = orjson.loads(secret.get(REVOKED_KEY) or "{}")
    except orjson.JSONDecodeError:
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


class Authenticator:
    """Issues and checks tokens against the settings and projects in the cluster."""

    def __init__(
        self,
        client: KubeClient,
        store: SettingsStore,
        clock: Clock,
        limiter: LoginLimiter,
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.limiter = limiter
        self._signer: tuple[str, TokenSigner] | None = None
        self._accounts: tuple[Snapshot, dict[str, Account]] | None = None

    async def accounts(self) -> dict[str, Account]:
        """The accounts of the current settings (parsed once per settings snapshot)."""
        snapshot = await self.store.snapshot()
        if self._accounts is None or self._accounts[0] is not snapshot:
            self._accounts = (snapshot, accounts_of(snapshot))
        return self._accounts[1]

    async def signer(self) -> TokenSigner:
        """The signer for the current key (rebuilt when the key in the Secret changes)."""
        key = (await self.store.snapshot()).secret.get(SERVER_KEY, "")
        if not key:
            raise Unauthenticated("the server has no token-signing key yet")
        if self._signer is None or self._signer[0] != key:
            self._signer = (key, TokenSigner(base64.urlsafe_b64decode(key), self.clock))
        return self._signer[1]

    async def login(self, username: str, password: str, client: str) -> tuple[str, Claims]:
        """A session token for a correct password; failures are counted per client."""
        if not username or not password:
            raise BadInput("username and password are required")
        wait = self.limiter.retry_after(username, client)
        if wait:
            raise RateLimited(
                "too many failed login attempts; try again later",
                headers={"Retry-After": str(int(wait) + 1)},
            )
        snapshot = await self.store.snapshot()
        account = accounts_of(snapshot).get(username)
        ok = await verify_password(password, account.password_hash if account else "")
        if not ok or account is None or not account.can(Capability.LOGIN):
            self.limiter.failed(username, client)
            # One message for every failure: it must not tell which accounts exist.
            raise Unauthenticated("invalid username or password")
        self.limiter.succeeded(username, client)
        signer = await self.signer()
        return signer.issue(username, lifetime=session_seconds(snapshot.settings))

    async def authenticate(self, token: str) -> Principal:
        """The principal a token stands for; :class:`Unauthenticated` when it counts no more."""
        if not token:
            raise Unauthenticated("no session information")
        signer = await self.signer()
        try:
            claims = signer.verify(token)
        except InvalidToken as error:
            raise Unauthenticated(str(error)) from error
        if claims.kind is TokenKind.PROJECT:
            await self._check_project_token(claims)
            return Principal(claims.subject, claims.subject, claims)
        snapshot = await self.store.snapshot()
        account = (await self.accounts()).get(claims.account)
        if account is None or not account.enabled:
            raise Unauthenticated(f"account {claims.account} is disabled or does not exist")
        if claims.kind is TokenKind.SESSION:
            self._check_session(claims, account, snapshot.secret)
        elif not account.can(Capability.API_KEY) or all(
            t.id != claims.token_id for t in account.tokens
        ):
            raise Unauthenticated("token is revoked")
        return Principal(account.name, account.name, claims)

    @staticmethod
    def _check_session(claims: Claims, account: Account, secret: Mapping[str, str]) -> None:
        if not account.can(Capability.LOGIN):
            raise Unauthenticated(f"account {account.name} cannot log in")
        if claims.token_id in revoked_tokens(secret):
            raise Unauthenticated("token is revoked")
        if claims.issued_at < int(account.password_mtime):
            raise Unauthenticated("the password changed since this token was issued")

    async def _check_project_token(self, claims: Claims) -> None:
        project_name, role_name = claims.project_role
        try:
            obj = await self.client.get(
                API_VERSION, "AppProject", project_name, self.store.namespace
            )
            project = AppProject.from_dict(obj)
        except NotFound as error:
            raise Unauthenticated(f"project {project_name} does not exist") from error
        except (KubeError, SpecError) as error:
            raise Unauthenticated(f"failed to check the token of project {project_name}") from error
        for role in project.spec.roles:
            if role.name == role_name and any(
                t.id == claims.token_id if t.id else t.iat == claims.issued_at
                for t in role.jwt_tokens
            ):
                return
        raise Unauthenticated("token is revoked")

    async def logout(self, principal: Principal) -> None:
        """Revoke a session token (API and project tokens are revoked by deleting them)."""
        claims = principal.claims
        if claims.kind is not TokenKind.SESSION:
            raise BadInput("only session tokens can be logged out; delete API tokens instead")
        now = int(self.clock())
        expiry = claims.expires_at or now + int(DEFAULT_SESSION_SECONDS)

        def change(secret: Mapping[str, str]) -> dict[str, str | None]:
            revoked = {k: v for k, v in revoked_tokens(secret).items() if v > now}
            revoked[claims.token_id] = expiry
            return {REVOKED_KEY: orjson.dumps(revoked).decode()}

        await self.store.update_secret(change)


def bearer_token(headers: Mapping[str, str], cookies: Mapping[str, str]) -> tuple[str, bool]:
    """The request's token and whether it came from the cookie."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = cookies.get(COOKIE, "")
    return cookie, bool(cookie)


def check_csrf(method: str, headers: Mapping[str, Any], from_cookie: bool) -> None:
    """Refuse a cookie-authenticated mutating request without the anti-forgery header."""
    if from_cookie and method not in SAFE_METHODS and headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise PermissionDenied(
            f"requests authenticated by cookie must send {CSRF_HEADER}: {CSRF_VALUE}"
        )
