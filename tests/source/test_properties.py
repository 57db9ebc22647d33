"""Properties that must hold for any input: redaction never leaks, semver picks the maximum."""

from __future__ import annotations

import string
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from tether.source import InvalidRepositoryURL, parse_constraint, parse_repo_url, redact_url
from tether.source.semver_constraint import parse_version

# Long enough, and marked, so that a secret cannot occur by chance in host or path.
secrets = st.text(
    alphabet=string.ascii_letters + string.digits + "!$&'()*+,;=-._~%/?#@:", min_size=6
).map(lambda s: f"SECRET{s}")
users = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8)
suffixes = st.sampled_from(["/org/repo.git", "/r", "", "/r?x=1", ":99999/r", "/a b"])


def shown_forms(url: str) -> list[str]:
    """Every string the package may show for ``url``: its forms, or its error."""
    try:
        parsed = parse_repo_url(url)
    except InvalidRepositoryURL as exc:
        return [str(exc), repr(exc), redact_url(url)]
    return [str(parsed), repr(parsed), parsed.redacted, parsed.transport_url, redact_url(url)]


@given(user=users, password=secrets, suffix=suffixes)
def test_redaction_never_leaks_a_password(user: str, password: str, suffix: str) -> None:
    url = f"https://{user}:{quote(password, safe='')}@git.example.com{suffix}"

    for shown in shown_forms(url):
        assert password not in shown
        assert quote(password, safe="") not in shown


versions = st.builds(
    lambda major, minor, patch, pre: f"v{major}.{minor}.{patch}" + (f"-rc.{pre}" if pre else ""),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(1, 3)),
)
constraints = st.sampled_from(
    ["*", "^1", "~1.2", ">=1.2.0 <3", "1.x", "<=2.1", "!=1.2.0", "^0.2", ">=1.0.0-0", "1.1 - 2.2"]
)


@given(tags=st.lists(versions, max_size=12), constraint=constraints)
def test_best_tag_is_the_highest_match(tags: list[str], constraint: str) -> None:
    parsed = parse_constraint(constraint)
    assert parsed is not None
    matching = [
        version
        for version in (parse_version(tag) for tag in tags)
        if version is not None and parsed.matches(version)
    ]

    best = parsed.best_tag(tags)

    if not matching:
        assert best is None
    else:
        assert best is not None
        assert parse_version(best) == max(matching)
