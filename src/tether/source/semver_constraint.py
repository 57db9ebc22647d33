"""Semantic-version constraints over tags, as Argo CD reads a Git ``targetRevision``.

The grammar and meaning are those of the constraint library Argo CD uses
(Masterminds semver v3):

- comparators ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=`` (also ``=>``, ``=<``);
- AND by comma or white space (``>=1.2.0 <2``), OR by ``||``;
- wildcards ``x``, ``X``, ``*`` and missing parts (``1.2.*``, ``1.2``, ``*``);
- tilde ``~1.2.3`` (``>=1.2.3 <1.3.0``), ``~1`` (``>=1 <2``), also spelled ``~>``;
- caret ``^1.2.3`` (``>=1.2.3 <2``), ``^0.2.3`` (``>=0.2.3 <0.3``), ``^0.0.3`` (``=0.0.3``);
- hyphen ranges ``1.2 - 1.4.5`` (``>=1.2 <=1.4.5``);
- an optional ``v`` before any version, in constraints and in tags.

Pre-releases: a version with a pre-release part satisfies a comparator only if that
comparator's own version has one (``>=1.2.0-0`` admits ``1.3.0-rc.1``; ``>=1.2.0`` does
not). A pinned version such as ``1.2.0`` or ``v1.2`` is *not* a constraint: Argo CD
resolves it as an ordinary tag name, and :func:`parse_constraint` returns ``None``.
Versions are compared with the ``semver`` package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import semver

_PART = r"(?:0|[1-9][0-9]*|[xX*])"
_VERSION = (
    rf"v?{_PART}(?:\.{_PART})?(?:\.{_PART})?"
    r"(?:-[0-9A-Za-z.\-]+)?(?:\+[0-9A-Za-z.\-]+)?"
)
_OPERATOR = r"!=|>=|=>|<=|=<|~>|>|<|=|~|\^"
_HYPHEN_RANGE = re.compile(rf"(?<![^\s,])({_VERSION})\s+-\s+({_VERSION})(?![^\s,])")
_COMPARATOR = re.compile(rf"\s*(?P<op>{_OPERATOR})?\s*(?P<version>{_VERSION})\s*(?:,|(?=\s)|$)")
_VERSION_PARTS = re.compile(
    r"^v?(?P<major>[0-9]+|[xX*])(?:\.(?P<minor>[0-9]+|[xX*]))?(?:\.(?P<patch>[0-9]+|[xX*]))?"
    r"(?:-(?P<pre>[0-9A-Za-z.\-]+))?(?:\+[0-9A-Za-z.\-]+)?$"
)
_PINNED = re.compile(
    r"^v?[0-9]+(?:\.[0-9]+)?(?:\.[0-9]+)?(?:-[0-9A-Za-z.\-]+)?(?:\+[0-9A-Za-z.\-]+)?$"
)


@dataclass(frozen=True, slots=True)
class _Partial:
    """A version as written in a constraint; ``None`` parts are wildcards."""

    major: int | None
    minor: int | None
    patch: int | None
    prerelease: str

    @property
    def exact(self) -> bool:
        return self.patch is not None

    def lowest(self) -> semver.Version:
        return semver.Version(
            self.major or 0, self.minor or 0, self.patch or 0, self.prerelease or None
        )

    def bumped(self) -> semver.Version | None:
        """The first version past what the wildcards cover (``None``: unbounded)."""
        if self.major is None:
            return None
        if self.minor is None:
            return semver.Version(self.major + 1)
        if self.patch is None:
            return semver.Version(self.major, self.minor + 1)
        return semver.Version(self.major, self.minor, self.patch + 1)


@dataclass(frozen=True, slots=True)
class Comparator:
    """One comparator, compiled to an interval (or, for ``!=``, its complement)."""

    text: str
    lower: semver.Version | None
    lower_inclusive: bool
    upper: semver.Version | None
    upper_inclusive: bool
    negate: bool = False
    admits_prerelease: bool = False
    #: A comparator that matches nothing (``>*``, ``<*``).
    empty: bool = False

    def matches(self, version: semver.Version) -> bool:
        """Whether ``version`` satisfies this comparator."""
        if version.prerelease and not self.admits_prerelease:
            return False
        inside = not self.empty and self._inside(version)
        return inside != self.negate

    def _inside(self, version: semver.Version) -> bool:
        low, high = self.lower, self.upper
        below = low is not None and (version < low or (version == low and not self.lower_inclusive))
        above = high is not None and (
            version > high or (version == high and not self.upper_inclusive)
        )
        return not (below or above)


@dataclass(frozen=True, slots=True)
class Constraint:
    """A parsed constraint: OR of AND-groups of comparators."""

    text: str
    groups: tuple[tuple[Comparator, ...], ...]

    def matches(self, version: semver.Version) -> bool:
        """Whether ``version`` satisfies any group."""
        return any(all(c.matches(version) for c in group) for group in self.groups)

    def best_tag(self, tags: Iterable[str]) -> str | None:
        """The tag with the highest version that satisfies the constraint.

        Tags that are not versions are ignored. Of two tags with the same version
        (``v1.2.0`` and ``1.2.0``) the one that sorts first wins, as refs arrive sorted.
        """
        best: tuple[semver.Version, str] | None = None
        for tag in sorted(tags):
            version = parse_version(tag)
            if version is None or not self.matches(version):
                continue
            if best is None or version > best[0]:
                best = (version, tag)
        return best[1] if best else None


def parse_version(text: str) -> semver.Version | None:
    """A tag name as a version (``v`` prefix and missing minor/patch allowed), or ``None``."""
    if not _PINNED.match(text):
        return None
    try:
        return semver.Version.parse(text.removeprefix("v"), optional_minor_and_patch=True)
    except ValueError:
        return None


def parse_constraint(text: str) -> Constraint | None:
    """Parse ``text`` as a constraint; ``None`` when it is a pinned version or not a constraint."""
    stripped = text.strip()
    if not stripped or _PINNED.match(stripped):
        return None
    groups: list[tuple[Comparator, ...]] = []
    for raw_group in stripped.split("||"):
        group = _parse_group(raw_group)
        if group is None:
            return None
        groups.append(group)
    return Constraint(stripped, tuple(groups))


def _parse_group(text: str) -> tuple[Comparator, ...] | None:
    expanded = _HYPHEN_RANGE.sub(r">=\1 <=\2", text).strip()
    if not expanded:
        return None
    comparators: list[Comparator] = []
    position = 0
    while position < len(expanded):
        match = _COMPARATOR.match(expanded, position)
        if match is None or match.end() == position:
            return None
        comparators.append(_compile(match["op"] or "=", match["version"]))
        position = match.end()
        while position < len(expanded) and expanded[position] in " \t,":
            position += 1
    return tuple(comparators)


def _partial(text: str) -> _Partial:
    match = _VERSION_PARTS.match(text)
    if match is None:  # pragma: no cover - the grammar only hands over valid versions
        raise ValueError(text)
    values: list[int | None] = []
    wildcard = False
    for name in ("major", "minor", "patch"):
        part = match[name]
        # A missing part or any part after a wildcard is itself a wildcard.
        wildcard = wildcard or part is None or part in ("x", "X", "*")
        values.append(None if wildcard else int(part))
    return _Partial(values[0], values[1], values[2], match["pre"] or "")


def _compile(op: str, version_text: str) -> Comparator:
    p = _partial(version_text)
    text = f"{op}{version_text}"
    pre = bool(p.prerelease)
    low, high = p.lowest(), p.bumped()
    if op == "=" or op == "!=":
        negate = op == "!="
        if p.exact:
            return Comparator(text, low, True, low, True, negate, pre)
        return Comparator(text, low, True, high, False, negate, pre)
    if op == ">":
        if p.major is None:
            return Comparator(text, None, True, None, True, admits_prerelease=pre, empty=True)
        if p.exact:
            return Comparator(text, low, False, None, True, admits_prerelease=pre)
        return Comparator(text, high, True, None, True, admits_prerelease=pre)
    if op in (">=", "=>"):
        return Comparator(text, low, True, None, True, admits_prerelease=pre)
    if op == "<":
        if p.major is None:
            return Comparator(text, None, True, None, True, admits_prerelease=pre, empty=True)
        return Comparator(text, None, True, low, False, admits_prerelease=pre)
    if op in ("<=", "=<"):
        if p.exact:
            return Comparator(text, None, True, low, True, admits_prerelease=pre)
        return Comparator(text, None, True, high, False, admits_prerelease=pre)
    if op in ("~", "~>"):
        return Comparator(text, low, True, _tilde_upper(p), False, admits_prerelease=pre)
    return Comparator(text, low, True, _caret_upper(p), False, admits_prerelease=pre)


def _tilde_upper(p: _Partial) -> semver.Version | None:
    if p.major is None:
        return None
    if p.minor is None:
        return semver.Version(p.major + 1)
    return semver.Version(p.major, p.minor + 1)


def _caret_upper(p: _Partial) -> semver.Version | None:
    if p.major is None:
        return None
    if p.major > 0 or p.minor is None:
        return semver.Version(p.major + 1)
    if p.minor > 0 or p.patch is None:
        return semver.Version(0, p.minor + 1)
    return semver.Version(0, 0, p.patch + 1)
