"""The pattern languages of AppProjects: globs, ``!`` negation, ``/regex/`` and Git URLs.

Argo CD matches repository URLs and destinations with glob patterns (``*`` any run of
characters, ``**`` also across separators, ``?`` one character, ``[a-z]`` and ``[!a-z]``
classes, ``{a,b}`` alternatives, backslash escapes). For repository URLs ``/`` is a
separator, so ``https://github.com/org/*`` matches the repositories of ``org`` but not
deeper paths. A pattern that does not compile matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_SSH_URL = re.compile(r"^(ssh://)?([^/:]*?)@[^@]+$")


def _translate(pattern: str, separators: str) -> str:
    """Turn a glob into a regular expression; ``ValueError`` when it is malformed."""
    sep = re.escape(separators)
    one = f"[^{sep}]" if separators else "."
    out: list[str] = []
    i, depth = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 >= len(pattern):
                raise ValueError("trailing escape")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
            else:
                out.append(f"{one}*")
                i += 1
            continue
        if char == "?":
            out.append(one)
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise ValueError("unterminated character class")
            body = pattern[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            if not body:
                raise ValueError("empty character class")
            escaped = "".join(c if c == "-" else re.escape(c) for c in body)
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = end
        elif char == "{":
            out.append("(?:")
            depth += 1
        elif char == "}" and depth:
            out.append(")")
            depth -= 1
        elif char == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(char))
        i += 1
    if depth:
        raise ValueError("unterminated alternatives")
    return "".join(out)


@lru_cache(maxsize=1024)
def _compile(pattern: str, separators: str) -> re.Pattern[str] | None:
    try:
        return re.compile(_translate(pattern, separators), re.DOTALL)
    except (ValueError, re.error):
        return None


def glob_match(pattern: str, value: str, separators: str = "") -> bool:
    """Whether ``value`` matches the glob ``pattern`` as a whole."""
    if pattern == "*" and not separators:
        return True
    compiled = _compile(pattern, separators)
    return compiled is not None and compiled.fullmatch(value) is not None


def is_deny_pattern(pattern: str) -> bool:
    """Whether a project pattern is a negation (``!pattern``)."""
    return pattern.startswith("!")


def pattern_match(pattern: str, value: str, separators: str = "") -> bool:
    """Argo CD's project match: a ``!pattern`` matches every value the pattern does not."""
    if is_deny_pattern(pattern):
        return not glob_match(pattern[1:], value, separators)
    if pattern == "*":
        return True
    return glob_match(pattern, value, separators)


def match_in_list(patterns: Iterable[str], value: str) -> bool:
    """Whether any entry matches: exactly, as a glob, or as a ``/regex/`` (searched, unanchored).

    This is how Argo CD matches ``sourceNamespaces`` and similar namespace lists.
    """
    for pattern in patterns:
        if pattern == value:
            return True
        if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
            try:
                if re.search(pattern[1:-1], value):
                    return True
            except re.error:
                continue
        elif glob_match(pattern, value):
            return True
    return False


def normalize_git_url(url: str) -> str:
    """The form Argo CD compares repository URLs in.

    Lower case, no ``.git`` suffix, and SCP-style SSH addresses
    (``git@github.com:org/repo``) written like URLs (``git@github.com/org/repo``), so that
    the different spellings of one repository compare equal.
    """
    repo = url.strip().lower()
    if _SSH_URL.match(repo) and not repo.startswith("ssh://"):
        repo = "ssh://" + repo.replace(":", "/", 1)
    repo = repo.removesuffix(".git")
    return repo.removeprefix("ssh://")
