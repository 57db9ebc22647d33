"""Repository URLs: parsing, the normalised form used for matching, and redaction.

Accepted forms::

    https://host[:port]/org/repo[.git]      http://...
    ssh://[user@]host[:port]/org/repo       [user@]host:org/repo   (scp-like)
    git://host[:port]/org/repo              file:///absolute/path

The *normalised* form (:attr:`RepoURL.normalized`) is what webhooks, credential lookup
and the mirror cache compare: it drops the scheme, the user, a default port, a trailing
``/`` and a ``.git`` suffix, and lower-cases the host, so
``https://GitHub.com/org/repo.git/`` and ``git@github.com:org/repo`` are one repository.
Paths keep their case: servers disagree on whether ``Org/Repo`` and ``org/repo`` differ.

A URL may carry credentials (``https://user:token@host/...``). They are accepted and
used, but :func:`redact_url` is the only way a URL leaves this package: it replaces the
password, or an HTTP user name that stands alone (commonly a token), with ``***``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from tether.source.errors import InvalidRepositoryURL

_MASK = "***"


class Scheme(StrEnum):
    """Transport of a repository URL; scp-like URLs are :attr:`SSH`."""

    HTTPS = "https"
    HTTP = "http"
    SSH = "ssh"
    GIT = "git"
    FILE = "file"


_DEFAULT_PORTS = {Scheme.HTTPS: 443, Scheme.HTTP: 80, Scheme.SSH: 22, Scheme.GIT: 9418}

# user@host:path with no scheme. The host is a DNS name, an IPv4 address or a bracketed
# IPv6. The path must not start with "//" (a scheme-less URL), and its first segment
# must hold no "@": "user:password@host:path" would otherwise parse as host "user".
_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>[A-Za-z0-9][A-Za-z0-9.\-]*|\[[0-9A-Fa-f:.]+\])"
    r":(?!//)(?![^/]*@)(?P<path>\S+)$"
)
# Userinfo in any scheme://userinfo@ occurrence inside free text.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/\s@]+)@")


@dataclass(frozen=True, slots=True)
class RepoURL:
    """A parsed repository URL. ``str()`` and ``repr()`` never show the password."""

    scheme: Scheme
    host: str
    port: int | None
    path: str
    username: str = ""
    password: str = field(default="", repr=False)
    scp_like: bool = False

    @property
    def normalized(self) -> str:
        """The matching key: ``host[:port]/path`` (or the absolute path for ``file://``)."""
        path = self.path.strip("/")
        if path.endswith(".git"):
            path = path[: -len(".git")]
        path = path.rstrip("/")
        if self.scheme is Scheme.FILE:
            return "/" + path
        host = self.host.lower()
        if self.port is not None and self.port != _DEFAULT_PORTS[self.scheme]:
            host = f"{host}:{self.port}"
        return f"{host}/{path}"

    @property
    def has_credentials(self) -> bool:
        """Whether the URL itself carries an HTTP user name or any password."""
        return bool(self.password) or (self.scheme in _HTTP_SCHEMES and bool(self.username))

    @property
    def redacted(self) -> str:
        """The URL as written, with its secret (if any) replaced by ``***``."""
        return self._render(_redact_userinfo(self.scheme, self.username, self.password))

    @property
    def transport_url(self) -> str:
        """The URL handed to Git: no secret; the user name only where SSH needs it."""
        user = self.username if self.scheme is Scheme.SSH else ""
        return self._render(user)

    def _render(self, userinfo: str) -> str:
        at = f"{userinfo}@" if userinfo else ""
        if self.scp_like:
            return f"{at}{self.host}:{self.path}"
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme.value}://{at}{self.host}{port}{self.path}"

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        # Not the generated repr: an HTTP user name alone is often a token.
        return f"RepoURL({self.redacted!r})"


_HTTP_SCHEMES = frozenset({Scheme.HTTP, Scheme.HTTPS})


def parse_repo_url(url: str, *, prefix: bool = False) -> RepoURL:
    """Parse ``url`` or raise :class:`InvalidRepositoryURL` (whose message is redacted).

    With ``prefix`` the URL may stop at the host (``https://github.com``): credential
    templates are URL prefixes, not repositories.
    """
    text = url.strip()
    if not text or any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise InvalidRepositoryURL(redact_urls_in(text) or '""', "empty or contains whitespace")
    if "://" not in text:
        return _parse_scp_like(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidRepositoryURL(redact_urls_in(text), str(exc)) from exc
    try:
        scheme = Scheme(parts.scheme.lower())
    except ValueError:
        raise InvalidRepositoryURL(
            redact_urls_in(text), f"unsupported scheme {parts.scheme!r}"
        ) from None
    username = unquote(parts.username or "")
    password = unquote(parts.password or "")
    if scheme is Scheme.FILE:
        if parts.hostname not in (None, "", "localhost"):
            raise InvalidRepositoryURL(redact_urls_in(text), "file URLs must be local")
        path = posixpath.normpath(unquote(parts.path)) if parts.path else ""
        if not path.startswith("/") or path == "/":
            raise InvalidRepositoryURL(redact_urls_in(text), "file URLs need an absolute path")
        return RepoURL(Scheme.FILE, "", None, path)
    host = parts.hostname or ""
    if not host:
        raise InvalidRepositoryURL(redact_urls_in(text), "missing host")
    if parts.query or parts.fragment:
        raise InvalidRepositoryURL(redact_urls_in(text), "query strings are not allowed")
    if not prefix and not parts.path.strip("/"):
        raise InvalidRepositoryURL(redact_urls_in(text), "missing repository path")
    if ":" in host:
        host = f"[{host}]"
    return RepoURL(scheme, host, port, parts.path, username, password)


def _parse_scp_like(text: str) -> RepoURL:
    match = _SCP_LIKE.match(text)
    if match is None:
        userinfo, at, rest = text.partition("@")
        user, colon, _ = userinfo.partition(":")
        # "user:password@host:path" is not valid scp syntax, but it still holds a secret.
        shown = f"{user}:{_MASK}@{rest}" if at and colon else text
        raise InvalidRepositoryURL(
            shown, "not a URL (expected scheme://host/path or user@host:path)"
        )
    return RepoURL(
        Scheme.SSH,
        match["host"],
        None,
        match["path"],
        match["user"] or "",
        scp_like=True,
    )


def normalize_url(url: str) -> str:
    """The normalised form of ``url`` (see :attr:`RepoURL.normalized`)."""
    return parse_repo_url(url).normalized


def same_repository(a: str, b: str) -> bool:
    """Whether two URLs name the same repository; unparsable URLs match nothing."""
    try:
        return normalize_url(a) == normalize_url(b)
    except InvalidRepositoryURL:
        return False


def redact_url(url: str) -> str:
    """``url`` with its secret replaced by ``***``; safe for logs, errors and status.

    Works on unparsable input too (best effort on anything that looks like userinfo),
    because the strings that most need redacting are often the malformed ones.
    """
    try:
        return parse_repo_url(url).redacted
    except InvalidRepositoryURL:
        return redact_urls_in(url)


def redact_urls_in(text: str) -> str:
    """Redact the userinfo of every ``scheme://userinfo@`` occurrence in free text."""

    def replace(match: re.Match[str]) -> str:
        scheme_text = match["scheme"]
        user, sep, password = match["userinfo"].partition(":")
        try:
            scheme: Scheme | None = Scheme(scheme_text[:-3].lower())
        except ValueError:
            scheme = None
        # Unknown schemes are treated like HTTP: a lone user name may be a token.
        userinfo = _redact_userinfo(scheme or Scheme.HTTPS, user, password if sep else "")
        return f"{scheme_text}{userinfo}@"

    return _URL_USERINFO.sub(replace, text)


def _redact_userinfo(scheme: Scheme, username: str, password: str) -> str:
    if password:
        return f"{username}:{_MASK}"
    if username and scheme in _HTTP_SCHEMES:
        return _MASK
    return username
