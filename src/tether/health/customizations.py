"""Custom health checks in Lua, loaded from Argo CD's two formats.

**Settings** (the ``argocd-cm`` ConfigMap's ``data``), both spellings Argo CD reads:

- one key per kind: ``resource.customizations.health.<group>_<Kind>`` holds the script
  and ``resource.customizations.useOpenLibs.<group>_<Kind>`` (``true``/``false``)
  opens the standard libraries to it. The core group is written without group
  (``resource.customizations.health.Pod``); ``all`` is the key ``*/*``: every kind of
  a named group (as in Argo CD, it cannot match a core kind, keyed ``Pod``);
- the older nested key ``resource.customizations``: a YAML map from ``group/Kind`` to
  ``{health.lua: <script>, health.lua.useOpenLibs: <bool>}``. Only these keys may use
  wildcards (``"*.aws.crossplane.io/*"``), because ``*`` is not allowed in ConfigMap
  keys; ``*``, ``?`` and ``[...]`` are understood, and a ``*`` may span the ``/``.

Where both spellings name the same kind, the per-kind key wins, as in Argo CD. Other
customization types (``ignoreDifferences``, ``actions``, ...) are not health's concern
and are skipped.

**Directories** laid out like Argo CD's ``resource_customizations``:
``<root>/<group>/<Kind>/health.lua``, and ``<root>/<Kind>/health.lua`` for the core
group. A ``_`` in a group or kind directory name matches any run of characters
(``_.crossplane.io/_``). Scripts from a directory run with the standard libraries
open, as Argo CD runs its bundled scripts.

**Lookup order** for an object: the settings' exact key, then the settings' wildcard
keys in the order they are written, then the directory's exact path, then its wildcard
paths in sorted order. A match replaces the built-in check.

**Results**: the script returns a table ``{status = ..., message = ...}``. A status
other than Healthy, Progressing, Degraded, Suspended, Missing or Unknown gives
``Unknown``, "Lua returned an invalid health status"; a return value that is not a
table gives ``Unknown``, "expect table output from Lua script, not <type>" (both
Argo CD's messages); a script that fails gives ``Unknown``, "failed to run health
check <source>: <error>".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import lupa.lua51 as lua
import yaml

from tether.health.errors import CustomizationError
from tether.health.sandbox import LuaSandbox, ScriptError, ScriptResult
from tether.model import Health, HealthStatus

SETTINGS_KEY = "resource.customizations"
SCRIPT_FILE = "health.lua"
#: Larger scripts are refused: health checks are a page of Lua, not a program.
MAX_SCRIPT_BYTES = 256 * 1024

_STATUSES = {status.value: status for status in HealthStatus}
_GLOB_CHARS = frozenset("*?[")
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@dataclass(frozen=True, slots=True)
class LuaHealthCheck:
    """One custom health script and where it came from."""

    #: A ConfigMap key or a file path, for messages.
    source: str
    script: str
    open_libs: bool

    def assess(self, obj: Mapping[str, Any], sandbox: LuaSandbox) -> Health:
        """Run the script on ``obj``; any failure is ``Unknown`` with the reason."""
        try:
            result = sandbox.run(self.script, obj, open_libs=self.open_libs)
            return _interpret(result)
        # LuaError and UnicodeError: a result too odd to read back, or not UTF-8.
        except (ScriptError, lua.LuaError, UnicodeError) as error:
            return Health(
                HealthStatus.UNKNOWN, f"failed to run health check {self.source}: {error}"
            )


def _interpret(result: ScriptResult) -> Health:
    if result.lua_type != "table":
        return Health(
            HealthStatus.UNKNOWN, f"expect table output from Lua script, not {result.lua_type}"
        )
    status = _STATUSES.get(result.status) if isinstance(result.status, str) else None
    if status is None:
        return Health(HealthStatus.UNKNOWN, "Lua returned an invalid health status")
    message = "" if result.message is None else result.message
    if not isinstance(message, str):
        return Health(HealthStatus.UNKNOWN, "Lua returned a health message that is not a string")
    return Health(status, message)


@functools.cache
def default_sandbox() -> LuaSandbox:
    """The process-wide sandbox, so that scripts compile once whoever loads them."""
    return LuaSandbox()


def _object_key(group: str, kind: str) -> str:
    return f"{group}/{kind}" if group else kind


@dataclass
class HealthOverrides:
    """The custom checks in force, in lookup order; see the module docs.

    Build one with :meth:`from_settings`, :meth:`from_directory` or :func:`load_overrides`.
    """

    #: Settings checks keyed as Argo CD keys them (``group/Kind`` or ``Kind``).
    settings: dict[str, LuaHealthCheck] = field(default_factory=dict)
    #: Directory checks keyed by ``(group, Kind)`` directory names (``_`` as wildcard).
    directory: dict[tuple[str, str], LuaHealthCheck] = field(default_factory=dict)
    sandbox: LuaSandbox = field(default_factory=default_sandbox)
    _found: dict[tuple[str, str], LuaHealthCheck | None] = field(
        default_factory=dict, init=False, repr=False
    )
    _settings_wildcards: list[tuple[str, LuaHealthCheck]] = field(init=False, repr=False)
    _directory_wildcards: list[tuple[re.Pattern[str], re.Pattern[str], LuaHealthCheck]] = field(
        init=False, repr=False
    )

    def __post_init__(self) -> None:
        self._settings_wildcards = [
            (key, check) for key, check in self.settings.items() if _GLOB_CHARS & set(key)
        ]
        self._directory_wildcards = [
            (_wildcard(group), _wildcard(kind), check)
            for (group, kind), check in sorted(self.directory.items())
            if "_" in group or "_" in kind
        ]

    @classmethod
    def from_settings(
        cls, data: Mapping[str, Any], *, sandbox: LuaSandbox | None = None
    ) -> HealthOverrides:
        """The checks a settings ConfigMap's ``data`` defines.

        Raises :class:`CustomizationError` for a key or value Argo CD would refuse.
        """
        settings = _parse_settings(data)
        return cls(settings=settings, sandbox=sandbox or default_sandbox())

    @classmethod
    def from_directory(cls, root: Path, *, sandbox: LuaSandbox | None = None) -> HealthOverrides:
        """The checks under a customizations directory; raises :class:`CustomizationError`."""
        return cls(directory=dict(_scan_directory(root)), sandbox=sandbox or default_sandbox())

    def combined_with(self, other: HealthOverrides) -> HealthOverrides:
        """These checks, with ``other``'s filling the gaps (self's settings win)."""
        return HealthOverrides(
            settings={**other.settings, **self.settings},
            directory={**other.directory, **self.directory},
            sandbox=self.sandbox,
        )

    def find(self, group: str, kind: str) -> LuaHealthCheck | None:
        """The custom check for objects of ``group``/``kind``, if any."""
        memo = (group, kind)
        if memo in self._found:
            return self._found[memo]
        found = self._search(group, kind)
        self._found[memo] = found
        return found

    def _search(self, group: str, kind: str) -> LuaHealthCheck | None:
        key = _object_key(group, kind)
        exact = self.settings.get(key)
        if exact is not None:
            return exact
        for pattern, check in self._settings_wildcards:
            if fnmatchcase(key, pattern):
                return check
        exact = self.directory.get((group, kind))
        if exact is not None:
            return exact
        for group_pattern, kind_pattern, check in self._directory_wildcards:
            if group_pattern.fullmatch(group) and kind_pattern.fullmatch(kind):
                return check
        return None

    def assess(self, obj: Mapping[str, Any], group: str, kind: str) -> Health | None:
        """The custom verdict on ``obj``, or ``None`` when no custom check applies."""
        check = self.find(group, kind)
        return None if check is None else check.assess(obj, self.sandbox)


def _wildcard(name: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in name.split("_")))


def load_overrides(
    *, settings: Mapping[str, Any] | None = None, directory: Path | None = None
) -> HealthOverrides:
    """The checks of a settings ConfigMap's ``data`` and a customizations directory."""
    overrides = HealthOverrides.from_settings(settings or {})
    if directory is not None:
        overrides = overrides.combined_with(HealthOverrides.from_directory(directory))
    return overrides


# --- settings ------------------------------------------------------------------------


def _parse_bool(source: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CustomizationError(source, f"{text!r} is not a boolean")


def _split_key(source: str, group_kind: str) -> str:
    if group_kind == "all":
        return "*/*"
    parts = group_kind.split("_")
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 1 and group_kind:
        return group_kind
    raise CustomizationError(source, "expected <group>_<Kind> or <Kind> after the type")


def _parse_settings(data: Mapping[str, Any]) -> dict[str, LuaHealthCheck]:
    scripts: dict[str, tuple[str, str]] = {}  # key -> (source, script)
    open_libs: dict[str, bool] = {}
    for key, (source, script, opened) in _nested_entries(data.get(SETTINGS_KEY)):
        if script is not None:
            scripts[key] = (source, script)
        if opened is not None:
            open_libs[key] = opened
    for name, value in data.items():
        parts = str(name).split(".", 3)
        if len(parts) < 4 or f"{parts[0]}.{parts[1]}" != SETTINGS_KEY:
            continue
        customization, group_kind = parts[2], parts[3]
        if customization == "health":
            if not isinstance(value, str):
                raise CustomizationError(name, "the script must be a string")
            scripts[_split_key(name, group_kind)] = (name, value)
        elif customization == "useOpenLibs":
            open_libs[_split_key(name, group_kind)] = _parse_bool(name, value)
    return {
        key: LuaHealthCheck(source=source, script=script, open_libs=open_libs.get(key, False))
        for key, (source, script) in scripts.items()
        if script.strip()
    }


def _nested_entries(raw: Any) -> Iterator[tuple[str, tuple[str, str | None, bool | None]]]:
    if raw is None or raw == "":
        return
    try:
        parsed = yaml.safe_load(raw) if isinstance(raw, str) else raw
    except yaml.YAMLError as error:
        raise CustomizationError(SETTINGS_KEY, f"not valid YAML: {error}") from error
    if parsed is None:
        return
    if not isinstance(parsed, Mapping):
        raise CustomizationError(SETTINGS_KEY, "expected a map from group/Kind to customizations")
    for key, entry in parsed.items():
        source = f"{SETTINGS_KEY}[{key}]"
        if not isinstance(entry, Mapping):
            raise CustomizationError(source, "expected a map of customizations")
        script = entry.get("health.lua")
        if script is not None and not isinstance(script, str):
            raise CustomizationError(source, "health.lua must be a string")
        opened = entry.get("health.lua.useOpenLibs")
        yield str(key), (source, script, None if opened is None else _parse_bool(source, opened))


# --- directories ---------------------------------------------------------------------


def _scan_directory(root: Path) -> Iterator[tuple[tuple[str, str], LuaHealthCheck]]:
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
