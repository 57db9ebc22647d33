"""Reading ``.gitmodules``: which folder holds which repository.

Only consulted when a checkout asks for submodules. Relative URLs (``../lib.git``) are
resolved against the URL of the repository that declares them, as ``git submodule``
does.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from tether.source.urls import RepoURL

_SECTION = re.compile(r'^\[\s*submodule\s+"(?P<name>(?:[^"\\]|\\.)*)"\s*\]$')
_SETTING = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9-]*)\s*=\s*(?P<value>.*)$")


@dataclass(frozen=True, slots=True)
class Submodule:
    """One ``[submodule "name"]`` section."""

    name: str
    path: str
    url: str


def parse_gitmodules(text: str) -> tuple[Submodule, ...]:
    """The complete submodule sections of a ``.gitmodules`` file (others are skipped)."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if section := _SECTION.match(line):
            current = sections.setdefault(section["name"], {})
        elif (setting := _SETTING.match(line)) and current is not None:
            current[setting["key"].lower()] = setting["value"].strip().strip('"')
    return tuple(
        Submodule(name, values["path"].strip("/"), values["url"])
        for name, values in sections.items()
        if values.get("path") and values.get("url")
    )


def resolve_submodule_url(parent: RepoURL, url: str) -> str:
    """``url`` made absolute against ``parent`` when it is relative (``./`` or ``../``)."""
    if not url.startswith(("./", "../")):
        return url
    joined = posixpath.normpath(posixpath.join(parent.path.rstrip("/"), url))
    if parent.scp_like:
        return f"{parent.transport_url.rsplit(':', 1)[0]}:{joined}"
    base = parent.transport_url[: len(parent.transport_url) - len(parent.path)]
    return f"{base}{joined if joined.startswith('/') else '/' + joined}"
