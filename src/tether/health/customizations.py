"""Custom health checks in Lua: which one applies to an object.

Two sources, in Argo CD's formats: a settings ConfigMap (:mod:`tether.health.settings`)
and directories laid out like Argo CD's ``resource_customizations``
(:mod:`tether.health.directory`): the operator's own, and tether's bundled directory
(``tether/health/bundled``: cert-manager Certificate, Issuer and ClusterIssuer,
Sealed Secrets, External Secrets, with the verdicts and messages of the checks Argo
CD bundles for them).

**Lookup order** for an object: the settings' exact key, then the settings' wildcard
keys in the order they are written, then each directory in turn (the operator's before
the bundled one): its exact path, then its wildcard paths. The first match replaces
the built-in check, as a custom check does in Argo CD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from tether.health.directory import CheckDirectory
from tether.health.lua_check import LuaHealthCheck, default_sandbox
from tether.health.sandbox import LuaSandbox
from tether.health.settings import parse_settings
from tether.model import Health

BUNDLED_DIRECTORY = Path(__file__).resolve().parent / "bundled"

_GLOB_CHARS = frozenset("*?[")


def _object_key(group: str, kind: str) -> str:
    return f"{group}/{kind}" if group else kind


@dataclass(frozen=True)
class HealthOverrides:
    """The custom checks in force, in lookup order.

    Build one with :meth:`from_settings`, :meth:`from_directory` or :func:`load_overrides`.
    Lookups are remembered per group and kind, so judging many objects of one kind
    searches once.
    """

    #: Settings checks keyed as Argo CD keys them (``group/Kind`` or ``Kind``).
    settings: dict[str, LuaHealthCheck] = field(default_factory=dict)
    #: Directories, searched in order after the settings.
    directories: tuple[CheckDirectory, ...] = ()
    sandbox: LuaSandbox = field(default_factory=default_sandbox)
    _found: dict[tuple[str, str], LuaHealthCheck | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _settings_wildcards: list[tuple[str, LuaHealthCheck]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        wildcards = [(key, check) for key, check in self.settings.items() if _GLOB_CHARS & set(key)]
        object.__setattr__(self, "_settings_wildcards", wildcards)

    @classmethod
    def from_settings(
        cls, data: Mapping[str, Any], *, sandbox: LuaSandbox | None = None
    ) -> HealthOverrides:
        """The checks a settings ConfigMap's ``data`` defines.

        Raises :class:`CustomizationError` for a key or value Argo CD would refuse.
        """
        return cls(settings=parse_settings(data), sandbox=sandbox or default_sandbox())

    @classmethod
    def from_directory(cls, root: Path, *, sandbox: LuaSandbox | None = None) -> HealthOverrides:
        """The checks under a customizations directory; raises :class:`CustomizationError`."""
        return cls(directories=(CheckDirectory.scan(root),), sandbox=sandbox or default_sandbox())

    def combined_with(self, other: HealthOverrides) -> HealthOverrides:
        """These checks first, then ``other``'s: settings merged, directories after ours."""
        return HealthOverrides(
            settings={**other.settings, **self.settings},
            directories=self.directories + other.directories,
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
        for directory in self.directories:
            found = directory.find(group, kind)
            if found is not None:
                return found
        return None

    def assess(self, obj: Mapping[str, Any], group: str, kind: str) -> Health | None:
        """The custom verdict on ``obj``, or ``None`` when no custom check applies."""
        check = self.find(group, kind)
        return None if check is None else check.assess(obj, self.sandbox)


def load_overrides(
    *,
    settings: Mapping[str, Any] | None = None,
    directory: Path | None = None,
    bundled: bool = True,
) -> HealthOverrides:
    """The custom checks in force, in order of precedence.

    A settings ConfigMap's ``data``, an operator's customizations directory and, unless
    ``bundled`` is false, tether's bundled checks.
    """
    overrides = HealthOverrides.from_settings(settings or {})
    if directory is not None:
        overrides = overrides.combined_with(HealthOverrides.from_directory(directory))
    if bundled:
        overrides = overrides.combined_with(HealthOverrides.from_directory(BUNDLED_DIRECTORY))
    return overrides
