r"""Argo CD's glob dialect, for ``directory.include``/``exclude`` and generate-paths.

Argo CD matches these patterns with gobwas/glob compiled without separators, so:

- ``*`` matches any run of characters, ``/`` included (``*.yaml`` matches
  ``sub/dir/a.yaml``), and ``**`` means the same;
- ``?`` matches one character, ``[abc]``, ``[a-z]`` and ``[!abc]`` one of (or none of)
  a set;
- ``{a,b,c}`` matches any of the comma-separated alternatives, which may themselves
  hold patterns and nest;
- ``\`` escapes the next character.

A pattern is matched against the whole path (relative to the application folder).
"""

from __future__ import annotations

import re
from functools import lru_cache


def glob_match(pattern: str, path: str) -> bool:
    """Whether ``path`` matches the Argo CD glob ``pattern`` in full."""
    return _compile(pattern).fullmatch(path) is not None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    """The regular expression equivalent to ``pattern`` (unbalanced brackets are literal)."""
    out: list[str] = []
    depth = 0  # open ``{`` groups, so that commas inside them separate alternatives
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if char == "*":
            while i + 1 < len(pattern) and pattern[i + 1] == "*":
                i += 1
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                escaped = "".join("\\" + c if c in "\\^[]" else c for c in body)
                out.append(f"[{'^' if negate else ''}{escaped}]")
                i = end
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(char))
        i += 1
    out.extend(")" * depth)
    return re.compile("".join(out), re.DOTALL)
