"""Role-based access control with Argo CD's policy language.

Pure: a :class:`Policy` is built from text (``argocd-rbac-cm``'s ``policy.csv``,
``policy.default``, ``policy.matchMode``, and project roles) and answers
:meth:`Policy.allows`. The language is Argo CD's CSV::

    p, <subject>, <resource>, <action>, <object>, <allow|deny>
    g, <user or group>, <role>

``g`` lines are transitive (a role may inherit a role). A request is allowed when some
matching ``p`` line allows it and none denies it: deny wins. ``resource`` and ``action``
match exactly or by ``*``; ``object`` is a glob (``*`` crosses ``/``) or, with
``policy.matchMode: regex``, a regular expression. Application objects are
``<project>/<app>``. The built-in roles ``role:readonly`` and ``role:admin`` are always
defined, ``admin`` is in ``role:admin``, and ``policy.default`` is a role every
authenticated subject has.

Project roles (``proj:<project>:<role>``) take their policies from the AppProject's
``spec.roles[].policies``; as in Argo CD, a project policy only counts for objects of
its own project, so a project role can never reach another project.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Final

from tether.model.patterns import glob_match


class Resource(StrEnum):
    """What a policy line can govern (Argo CD's names)."""

    APPLICATIONS = "applications"
    APPLICATIONSETS = "applicationsets"
    PROJECTS = "projects"
    REPOSITORIES = "repositories"
    CLUSTERS = "clusters"
    ACCOUNTS = "accounts"
    CERTIFICATES = "certificates"
    GPGKEYS = "gpgkeys"
    LOGS = "logs"
    EXEC = "exec"
    EXTENSIONS = "extensions"


class Action(StrEnum):
    """The actions Argo CD checks (``action/<group>/<kind>/<name>`` for resource actions)."""

    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    SYNC = "sync"
    OVERRIDE = "override"
    ACTION = "action"
    INVOKE = "invoke"


class Effect(StrEnum):
    """Whether a matching line allows or denies."""

    ALLOW = "allow"
    DENY = "deny"


class PolicyError(ValueError):
    """A policy line that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``p`` line."""

    subject: str
    resource: str
    action: str
    object: str
    effect: Effect


ADMIN_ROLE: Final = "role:admin"
READONLY_ROLE: Final = "role:readonly"

#: Argo CD's built-in policy (``builtin-policy.csv``), in its language.
BUILTIN_POLICY: Final = """
p, role:readonly, applications, get, */*, allow
p, role:readonly, applicationsets, get, */*, allow
p, role:readonly, certificates, get, *, allow
p, role:readonly, clusters, get, *, allow
p, role:readonly, repositories, get, *, allow
p, role:readonly, projects, get, *, allow
p, role:readonly, accounts, get, *, allow
p, role:readonly, gpgkeys, get, *, allow
p, role:readonly, logs, get, */*, allow
p, role:admin, applications, *, */*, allow
p, role:admin, applicationsets, *, */*, allow
p, role:admin, clusters, *, *, allow
p, role:admin, repositories, *, *, allow
p, role:admin, projects, *, *, allow
p, role:admin, accounts, *, *, allow
p, role:admin, certificates, *, *, allow
p, role:admin, gpgkeys, *, *, allow
p, role:admin, logs, *, *, allow
p, role:admin, exec, *, */*, allow
p, role:admin, extensions, *, *, allow
g, role:admin, role:readonly
g, admin, role:admin
"""


def _rows(text: str, origin: str) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text), skipinitialspace=True)
    for number, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        yield number, cells


def parse_policy(text: str, origin: str = "policy.csv") -> tuple[list[Rule], list[tuple[str, str]]]:
    """The ``p`` rules and ``g`` groupings of a policy text; :class:`PolicyError` on bad lines."""
    rules: list[Rule] = []
    groupings: list[tuple[str, str]] = []
    for number, cells in _rows(text, origin):
        where = f"{origin} line {number}"
        if cells[0] == "p":
            if len(cells) not in (5, 6):
                raise PolicyError(f"{where}: a p line has 5 or 6 fields, got {len(cells)}")
            effect_text = cells[5].lower() if len(cells) == 6 else Effect.ALLOW.value
            if effect_text not in (Effect.ALLOW.value, Effect.DENY.value):
                raise PolicyError(f"{where}: effect must be allow or deny, got {cells[5]!r}")
            rules.append(Rule(cells[1], cells[2], cells[3], cells[4], Effect(effect_text)))
        elif cells[0] == "g":
            if len(cells) != 3:
                raise PolicyError(f"{where}: a g line has 3 fields, got {len(cells)}")
            groupings.append((cells[1], cells[2]))
        else:
            raise PolicyError(f"{where}: a line starts with p or g, got {cells[0]!r}")
    return rules, groupings


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _match_key(pattern: str, value: str) -> bool:
    """Resource and action matching: exact, ``*``, or a trailing ``*`` prefix (``action/*``)."""
    if pattern == "*" or pattern == value:
        return True
    return pattern.endswith("*") and value.startswith(pattern[:-1])


@dataclass(frozen=True)
class Policy:
    """A compiled policy: rules by subject, and each subject's roles (transitively)."""

    rules: tuple[Rule, ...]
    groupings: tuple[tuple[str, str], ...] = ()
    default_role: str = ""
    regex: bool = False
    _by_subject: dict[str, list[Rule]] = field(default_factory=dict, repr=False)
    _parents: dict[str, set[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for rule in self.rules:
            self._by_subject.setdefault(rule.subject, []).append(rule)
        for member, role in self.groupings:
            self._parents.setdefault(member, set()).add(role)

    @classmethod
    def from_config(
        cls,
        rbac_cm: Mapping[str, str],
        project_rules: Iterable[Rule] = (),
    ) -> Policy:
        """The policy of ``argocd-rbac-cm`` data plus the built-in and project rules.

        ``policy.csv`` and every ``policy.<name>.csv`` key are read, as Argo CD does.
        """
        builtin_rules, builtin_groups = parse_policy(BUILTIN_POLICY, "built-in policy")
        rules, groups = list(builtin_rules), list(builtin_groups)
        for key in sorted(rbac_cm):
            if key == "policy.csv" or (key.startswith("policy.") and key.endswith(".csv")):
                more_rules, more_groups = parse_policy(rbac_cm[key], key)
                rules += more_rules
                groups += more_groups
        rules += project_rules
        return cls(
            rules=tuple(rules),
            groupings=tuple(groups),
            default_role=rbac_cm.get("policy.default", "").strip(),
            regex=rbac_cm.get("policy.matchMode", "glob").strip() == "regex",
        )

    def roles_of(self, subjects: Iterable[str]) -> set[str]:
        """Every subject and role reached from ``subjects`` through ``g`` lines."""
        seen: set[str] = set()
        pending = [s for s in subjects if s]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            pending.extend(self._parents.get(current, ()))
        return seen

    def _match_object(self, pattern: str, value: str) -> bool:
        if self.regex:
            compiled = _regex(pattern)
            return compiled is not None and compiled.fullmatch(value) is not None
        return glob_match(pattern, value)

    def allows(self, subjects: Iterable[str], resource: str, action: str, obj: str) -> bool:
        """Whether any of ``subjects`` (a user and its groups) may do ``action`` on ``obj``."""
        return self.checker(subjects, resource, action)(obj)

    def checker(self, subjects: Iterable[str], resource: str, action: str) -> Callable[[str], bool]:
        """A fast ``obj -> allowed`` for one caller, resource and action.

        Resolves roles and keeps only the rules that can match once, so deciding for
        each of a thousand listed objects costs one glob match per remaining rule.
        """
        subjects = list(subjects)
        if self.default_role:
            subjects.append(self.default_role)
        rules = [
            rule
            for role in self.roles_of(subjects)
            for rule in self._by_subject.get(role, ())
            if _match_key(rule.resource, resource) and _match_key(rule.action, action)
        ]
        denies = [r.object for r in rules if r.effect is Effect.DENY]
        allows = [r.object for r in rules if r.effect is Effect.ALLOW]

        def decide(obj: str) -> bool:
            if any(self._match_object(pattern, obj) for pattern in denies):
                return False
            return any(self._match_object(pattern, obj) for pattern in allows)

        return decide


def project_rules(project: str, roles: Iterable[tuple[str, Iterable[str]]]) -> list[Rule]:
    """The rules of an AppProject's roles (``(role name, policy lines)`` pairs).

    A line is kept only when its subject is the role's own ``proj:<project>:<role>`` and
    its object lies in the project (``<project>/...``, or the project itself for the
    ``projects`` resource), so a project can grant nothing outside itself. Lines that do
    not parse are skipped: a typo in one project must not lock every project out.
    """
    kept: list[Rule] = []
    for role, lines in roles:
        subject = f"proj:{project}:{role}"
        for line in lines:
            try:
                rules, _ = parse_policy(line, f"project {project} role {role}")
            except PolicyError:
                continue
            for rule in rules:
                in_project = rule.object.startswith(f"{project}/") or (
                    rule.resource == Resource.PROJECTS and rule.object == project
                )
                if rule.subject == subject and in_project:
                    kept.append(rule)
    return kept
