"""The set of served resource types, built-in and from CustomResourceDefinitions.

The registry answers the lookups the HTTP layer and the controllers need: a type by
URL (``group``, ``version``, ``plural``), by ``apiVersion`` and kind, and the groups
and versions that discovery lists. Custom types are added and removed at runtime by
the CRD controller; every change bumps :attr:`Registry.generation`, so cached
discovery documents know when to rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from tether.localcluster.resources import BUILTIN, ResourceType


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ``("apps", "v1")``; ``v1`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


class Registry:
    """Served resource types, indexed for lookup."""

    def __init__(self, types: Iterable[ResourceType] = BUILTIN) -> None:
        """Start with ``types`` (the built-in kinds by default)."""
        self._by_key: dict[tuple[str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self.generation = 0
        for rtype in types:
            self.add(rtype)

    def add(self, rtype: ResourceType) -> None:
        """Serve ``rtype`` (replacing a type with the same group and plural)."""
        old = self._by_key.get(rtype.key)
        if old is not None:
            self._by_kind.pop((old.group, old.kind), None)
        self._by_key[rtype.key] = rtype
        self._by_kind[(rtype.group, rtype.kind)] = rtype
        self.generation += 1

    def remove(self, group: str, plural: str) -> None:
        """Stop serving ``plural.group``."""
        old = self._by_key.pop((group, plural), None)
        if old is not None:
            self._by_kind.pop((old.group, old.kind), None)
            self.generation += 1

    def get(self, group: str, plural: str) -> ResourceType | None:
        """The type stored as ``(group, plural)``, whatever its versions."""
        return self._by_key.get((group, plural))

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type a URL names, if ``version`` is served."""
        rtype = self._by_key.get((group, plural))
        if rtype is None or version not in rtype.versions:
            return None
        return rtype

    def for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        """The type of objects with this ``apiVersion`` and ``kind``."""
        group, version = split_api_version(api_version)
        rtype = self._by_kind.get((group, kind))
        if rtype is None or version not in rtype.versions:
            return None
        return rtype

    def kind_in_group(self, group: str, kind: str) -> ResourceType | None:
        """The type of ``kind`` in ``group`` at any version (owner references use this)."""
        return self._by_kind.get((group, kind))

    def __iter__(self) -> Iterator[ResourceType]:
        """Every served type."""
        return iter(list(self._by_key.values()))

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions, preferred first; the core group is ``""``."""
        result: dict[str, list[str]] = {}
        for rtype in self._by_key.values():
            versions = result.setdefault(rtype.group, [])
            for version in rtype.versions:
                if version not in versions:
                    versions.append(version)
        for group, versions in result.items():
            result[group] = sorted(versions, key=_version_priority)
        return result

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        """The types served at ``group/version``, sorted by plural."""
        return sorted(
            (t for t in self._by_key.values() if t.group == group and version in t.versions),
            key=lambda t: t.plural,
        )


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if match is None:
        return (3, 0, 0)
    major = int(match.group(1))
    stage = {"": 0, "beta": 1, "alpha": 2}[match.group(2) or ""]
    minor = int(match.group(3) or 0)
    return (stage, -major, -minor)
