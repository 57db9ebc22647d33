"""``ignoreDifferences``: fields left out of the comparison, per application and system-wide.

Per application, ``spec.ignoreDifferences[]`` entries select objects by ``group`` and
``kind`` (globs: ``*`` matches anything; an empty group is the core group) and
optionally an exact ``name`` and ``namespace``, and name fields three ways:

- ``jsonPointers``: RFC 6901 pointers (``/spec/replicas``);
- ``jqPathExpressions``: jq path expressions
  (``.spec.template.spec.initContainers[] | select(.name == "istio-init")``), each
  bounded by a time limit (see :mod:`tether.diff.jq`);
- ``managedFieldsManagers``: every field those managers own in the live object's
  ``managedFields`` (for example ``kube-controller-manager``).

System-wide, the settings ConfigMap holds the same three lists as YAML under
``resource.customizations.ignoreDifferences.<group>_<kind>`` (``apps_Deployment``;
``Service`` or ``_Service`` for the core group) and
``resource.customizations.ignoreDifferences.all`` (every kind), and in the older form
where ``resource.customizations`` maps ``<group>/<kind>`` to an ``ignoreDifferences``
YAML string. ``resource.compareoptions`` may set ``ignoreResourceStatusField``.

Ignored fields are removed from both sides before comparing; containers left empty
by the removal go too. :mod:`tether.diff.respect` applies the same rules to a
manifest before it is applied (``RespectIgnoreDifferences=true``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from tether.diff.errors import IgnoreRuleError
from tether.diff.fieldset import manager_trees, owned_paths, union
from tether.diff.jq import JqRunner, check_expression
from tether.diff.normalize import StatusComparison
from tether.diff.pointer import (
    MISSING,
    Path,
    get_path,
    parse_pointer,
    removal_order,
    remove_path,
    resolve_tokens,
)
from tether.model import ResourceKey

SETTINGS_PREFIX = "resource.customizations.ignoreDifferences."
LEGACY_SETTINGS_KEY = "resource.customizations"
COMPARE_OPTIONS_KEY = "resource.compareoptions"


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """One ``ignoreDifferences`` entry, validated; ``source`` names where it came from."""

    source: str
    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    def matches(self, key: ResourceKey) -> bool:
        """Whether this rule applies to the object ``key`` identifies."""
        return (
            fnmatch.fnmatchcase(key.group, self.group)
            and fnmatch.fnmatchcase(key.kind, self.kind)
            and self.name in ("", key.name)
            and self.namespace in ("", key.namespace)
        )


@dataclass(frozen=True, slots=True)
class DiffSettings:
    """The system-wide comparison settings read from the settings ConfigMap."""

    ignore: tuple[IgnoreRule, ...] = ()
    status: StatusComparison = StatusComparison.IGNORE_ALL

    @classmethod
    def from_config_map(cls, data: Mapping[str, str]) -> DiffSettings:
        """Read ``resource.customizations*`` and ``resource.compareoptions`` keys."""
        rules: list[IgnoreRule] = []
        for setting in sorted(data):
            if setting.startswith(SETTINGS_PREFIX):
                group_kind = setting[len(SETTINGS_PREFIX) :]
                if group_kind == "all":
                    group, kind = "*", "*"
                else:
                    group, _, kind = group_kind.rpartition("_")
                body = _load_yaml(setting, data[setting])
                rules.append(_rule(setting, {**body, "group": group, "kind": kind}))
        if LEGACY_SETTINGS_KEY in data:
            rules.extend(_legacy_rules(data[LEGACY_SETTINGS_KEY]))
        status = StatusComparison.IGNORE_ALL
        if COMPARE_OPTIONS_KEY in data:
            options = _load_yaml(COMPARE_OPTIONS_KEY, data[COMPARE_OPTIONS_KEY])
            value = options.get("ignoreResourceStatusField", status.value)
            try:
                status = StatusComparison(str(value).lower())
            except ValueError as error:
                raise IgnoreRuleError(
                    COMPARE_OPTIONS_KEY,
                    f"ignoreResourceStatusField: {value}",
                    "expected one of all, crd, none",
                ) from error
        return cls(ignore=tuple(rules), status=status)


def parse_ignore_differences(entries: Sequence[Mapping[str, Any]] | None) -> tuple[IgnoreRule, ...]:
    """Validate an Application's ``spec.ignoreDifferences`` list."""
    return tuple(
        _rule(f"spec.ignoreDifferences[{i}]", entry) for i, entry in enumerate(entries or ())
    )


def _legacy_rules(text: str) -> list[IgnoreRule]:
    customizations = _load_yaml(LEGACY_SETTINGS_KEY, text)
    rules = []
    for group_kind, customization in sorted(customizations.items()):
        if not isinstance(customization, Mapping) or "ignoreDifferences" not in customization:
            continue
        source = f"{LEGACY_SETTINGS_KEY}[{group_kind}]"
        group, _, kind = str(group_kind).rpartition("/")
        body = customization["ignoreDifferences"]
        body = _load_yaml(source, body) if isinstance(body, str) else body
        if not isinstance(body, Mapping):
            raise IgnoreRuleError(source, "ignoreDifferences", "expected a mapping")
        rules.append(_rule(source, {**body, "group": group, "kind": kind}))
    return rules


def _load_yaml(source: str, text: str) -> dict[str, Any]:
    try:
        loaded = yaml.load(text, Loader=yaml.CSafeLoader) if text.strip() else {}
    except yaml.YAMLError as error:
        raise IgnoreRuleError(source, "<yaml>", f"invalid YAML: {error}") from error
    if not isinstance(loaded, dict):
        raise IgnoreRuleError(source, "<yaml>", "expected a mapping")
    return loaded


def _strings(source: str, entry: Mapping[str, Any], field: str) -> tuple[str, ...]:
    value = entry.get(field) or ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise IgnoreRuleError(source, field, "expected a list of strings")
    return tuple(value)


def _rule(source: str, entry: Mapping[str, Any]) -> IgnoreRule:
    if not isinstance(entry, Mapping):
        raise IgnoreRuleError(source, "<entry>", "expected a mapping")
    pointers = _strings(source, entry, "jsonPointers")
    expressions = _strings(source, entry, "jqPathExpressions")
    for pointer in pointers:
        try:
            parse_pointer(pointer)
        except ValueError as error:
            raise IgnoreRuleError(source, pointer, str(error)) from error
    for expression in expressions:
        try:
            check_expression(expression)
        except ValueError as error:
            raise IgnoreRuleError(source, expression, str(error)) from error
    return IgnoreRule(
        source=source,
        group=str(entry.get("group") or ""),
        kind=str(entry.get("kind") or ""),
        name=str(entry.get("name") or ""),
        namespace=str(entry.get("namespace") or ""),
        json_pointers=pointers,
        jq_path_expressions=expressions,
        managed_fields_managers=_strings(source, entry, "managedFieldsManagers"),
    )


def matching(rules: Iterable[IgnoreRule], key: ResourceKey) -> tuple[IgnoreRule, ...]:
    """The rules that apply to ``key``."""
    return tuple(rule for rule in rules if rule.matches(key))


def selected_paths(
    rules: Sequence[IgnoreRule],
    doc: Any,
    *,
    live: Mapping[str, Any] | None,
    jq: JqRunner,
    managers: bool = True,
) -> list[Path]:
    """Every path in ``doc`` the rules name; manager ownership is read from ``live``."""
    paths: list[Path] = []
    for rule in rules:
        for pointer in rule.json_pointers:
            path = resolve_tokens(doc, parse_pointer(pointer))
            if path:
                paths.append(path)
        for expression in rule.jq_path_expressions:
            # path() also names absent fields (`.a.b` on `{}`); keep only those present.
            found = jq.paths(expression, doc)
            paths.extend(p for p in found if get_path(doc, p) is not MISSING)
        if managers and live is not None and rule.managed_fields_managers:
            tree = union(manager_trees(live, rule.managed_fields_managers))
            paths.extend(owned_paths(doc, tree))
    return paths


def remove_ignored(doc: Any, paths: list[Path]) -> None:
    """Delete ``paths`` from ``doc`` and the containers that removal leaves empty."""
    for path in sorted(set(paths), key=removal_order, reverse=True):
        if remove_path(doc, path):
            for depth in range(len(path) - 1, 0, -1):
                parent = get_path(doc, path[:depth])
                if parent or parent is MISSING:
                    break
                remove_path(doc, path[:depth])
