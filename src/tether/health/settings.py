"""Custom health checks from a settings ConfigMap (``argocd-cm``), in both spellings.

- One key per kind: ``resource.customizations.health.<group>_<Kind>`` holds the script
  and ``resource.customizations.useOpenLibs.<group>_<Kind>`` (``true``/``false``)
  opens the standard libraries to it. The core group is written without group
  (``resource.customizations.health.Pod``); ``all`` is the key ``*/*``: every kind of
  a named group (as in Argo CD, it cannot match a core kind, keyed ``Pod``).
- The older nested key ``resource.customizations``: a YAML map from ``group/Kind`` to
  ``{health.lua: <script>, health.lua.useOpenLibs: <bool>}``. Only these keys may use
  wildcards (``"*.aws.crossplane.io/*"``), because ``*`` is not allowed in ConfigMap
  keys; ``*``, ``?`` and ``[...]`` are understood, and a ``*`` may span the ``/``.

Where both spellings name the same kind, the per-kind key wins, as in Argo CD. Other
customization types (``ignoreDifferences``, ``actions``, ...) are not health's concern
and are skipped. Scripts run with closed libraries unless ``useOpenLibs`` says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from tether.health.errors import CustomizationError
from tether.health.lua_check import LuaHealthCheck

SETTINGS_KEY = "resource.customizations"

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


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


def parse_settings(data: Mapping[str, Any]) -> dict[str, LuaHealthCheck]:
    """The health checks of a settings ConfigMap's ``data``, keyed ``group/Kind``.

    Raises :class:`CustomizationError` naming the key Argo CD would refuse.
    """
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
