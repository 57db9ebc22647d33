"""Semver constraints over tags, with Argo CD's (Masterminds semver v3) meaning."""

from __future__ import annotations

import pytest

from tether.source import parse_constraint
from tether.source.semver_constraint import parse_version

TAGS = (
    "v0.0.3",
    "v0.0.4",
    "v0.2.3",
    "v0.3.0",
    "v1.0.0",
    "v1.2.0",
    "v1.2.5",
    "v1.3.0-rc.1",
    "v1.3.0",
    "1.4.0",
    "v2.0.0-beta.2",
    "v2.0.0",
    "v2.1",
    "release-3",
    "latest",
)


@pytest.mark.parametrize(
    ("constraint", "best"),
    [
        (">=1.2.0 <2", "1.4.0"),
        (">=1.2.0, <1.3", "v1.2.5"),
        ("1.2.*", "v1.2.5"),
        ("1.2.x", "v1.2.5"),
        ("v1.2.X", "v1.2.5"),
        ("^1.2", "1.4.0"),
        ("^1.2.6", "1.4.0"),
        ("^0.2.3", "v0.2.3"),
        ("^0.0.3", "v0.0.3"),
        ("^0.0", "v0.0.4"),
        ("~1.2", "v1.2.5"),
        ("~1", "1.4.0"),
        ("~>1.2.1", "v1.2.5"),
        ("*", "v2.1"),
        ("x", "v2.1"),
        (">1", "v2.1"),
        (">2", None),  # ">2" means above every 2.x
        (">2.0.0", "v2.1"),
        ("<=1.2", "v1.2.5"),
        ("<1.2", "v1.0.0"),
        ("=1.3.0", "v1.3.0"),
        ("!=2.1.0", "v2.0.0"),
        ("!=2.x", "1.4.0"),
        ("1.0 - 1.2", "v1.2.5"),
        ("1.0.0 - 1.2.0", "v1.2.0"),
        ("<1 || >=2.0.0 <2.1", "v2.0.0"),
        (">= 1.2.0 < 1.3.0", "v1.2.5"),
        # Pre-releases only when the comparator names one.
        (">=1.3.0-0", "v2.1"),
        (">=1.3.0-0 <1.3.0-rc.2", "v1.3.0-rc.1"),
        (">=2.0.0-0 <=2.0.0-beta.9", "v2.0.0-beta.2"),
        ("~1.3.0-0", "v1.3.0"),
        # No tag satisfies these.
        (">=3", None),
        ("^0.4", None),
        (">*", None),
    ],
)
def test_best_tag(constraint: str, best: str | None) -> None:
    parsed = parse_constraint(constraint)
    assert parsed is not None
    assert parsed.best_tag(TAGS) == best


@pytest.mark.parametrize(
    "revision",
    ["1.2.0", "v1.2.0", "v1.2", "1", "1.2.3-rc.1", "main", "HEAD", "", "release-1.0", "a/b", "v"],
)
def test_pins_and_names_are_not_constraints(revision: str) -> None:
    assert parse_constraint(revision) is None


def test_equal_versions_prefer_the_tag_that_sorts_first() -> None:
    parsed = parse_constraint("^1")
    assert parsed is not None
    assert parsed.best_tag(["v1.0.0", "1.0.0"]) == "1.0.0"


@pytest.mark.parametrize(
    ("tag", "version"),
    [("v1.2.3", "1.2.3"), ("1.2", "1.2.0"), ("v2", "2.0.0"), ("1.0.0-rc.1+b7", "1.0.0-rc.1+b7")],
)
def test_tag_versions(tag: str, version: str) -> None:
    assert str(parse_version(tag)) == version


@pytest.mark.parametrize("tag", ["latest", "v1.2.3.4", "01.2.3", "release-1"])
def test_tags_that_are_not_versions(tag: str) -> None:
    assert parse_version(tag) is None
