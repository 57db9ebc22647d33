"""Custom health checks from a directory in Argo CD's ``resource_customizations`` layout.

``<root>/<group>/<Kind>/health.lua``, and ``<root>/<Kind>/health.lua`` for the core
group. A ``_`` in a group or kind directory name matches any run of characters
(``_.crossplane.io/_`` serves every kind of every group ending in ``.crossplane.io``).
A directory's exact paths are looked up before its wildcard paths, which are tried in
sorted order; the first match wins. Scripts from a directory run with the standard
libraries open, as Argo CD runs its bundled scripts. Scripts are read once, bounded in
size, and must stay inside the directory (a symlink leading out is refused).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tether.health.errors import CustomizationError
from tether.health.lua_check import LuaHealthCheck

SCRIPT_FILE = "health.lua"
#: Larger scripts are refused: health checks are a page of Lua, not a program.
MAX_SCRIPT_BYTES = 256 * 1024


@dataclass(frozen=True)
class CheckDirectory:
    """The checks of one directory, keyed by ``(group, Kind)`` directory names."""

    checks: dict[tuple[str, str], LuaHealthCheck]
    _wildcards: list[tuple[re.Pattern[str], re.Pattern[str], LuaHealthCheck]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        wildcards = [
            (_wildcard(group), _wildcard(kind), check)
            for (group, kind), check in sorted(self.checks.items())
            if "_" in group or "_" in kind
        ]
        object.__setattr__(self, "_wildcards", wildcards)

    @classmethod
    def scan(cls, root: Path) -> CheckDirectory:
        """Read every ``health.lua`` under ``root``; raises :class:`CustomizationError`."""
        return cls(dict(_scan(root)))

    def find(self, group: str, kind: str) -> LuaHealthCheck | None:
        """The check for ``group``/``kind``: its exact path, else the first wildcard path."""
        exact = self.checks.get((group, kind))
        if exact is not None:
            return exact
        for group_pattern, kind_pattern, check in self._wildcards:
            if group_pattern.fullmatch(group) and kind_pattern.fullmatch(kind):
                return check
        return None


def _wildcard(name: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in name.split("_")))


def _scan(root: Path) -> Iterator[tuple[tuple[str, str], LuaHealthCheck]]:
    if not root.is_dir():
        raise CustomizationError(str(root), "not a directory")
    resolved_root = root.resolve()
    for first in sorted(root.iterdir()):
        if not first.is_dir():
            continue
        if (first / SCRIPT_FILE).is_file():
            yield ("", first.name), _read_script(resolved_root, first / SCRIPT_FILE)
        for second in sorted(first.iterdir()):
            if second.is_dir() and (second / SCRIPT_FILE).is_file():
                yield (first.name, second.name), _read_script(resolved_root, second / SCRIPT_FILE)


def _read_script(root: Path, path: Path) -> LuaHealthCheck:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise CustomizationError(str(path), "resolves outside the customizations directory")
    size = resolved.stat().st_size
    if size > MAX_SCRIPT_BYTES:
        raise CustomizationError(str(path), f"{size} bytes is more than {MAX_SCRIPT_BYTES}")
    try:
        script = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CustomizationError(str(path), str(error)) from error
    return LuaHealthCheck(source=str(path), script=script, open_libs=True)
