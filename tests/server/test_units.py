"""Pure parts of the server: RBAC policies, label selectors, login throttling, tokens."""

from __future__ import annotations

import pytest

from tether.server.ratelimit import LoginLimiter
from tether.server.rbac import Policy, PolicyError, parse_policy, project_rules
from tether.server.selectors import SelectorError, parse_selector
from tether.server.tokens import InvalidToken, TokenKind, TokenSigner

KEY = b"k" * 32

CSV = """
p, role:deployer, applications, sync, team-*/*, allow
p, role:deployer, applications, get, */*, allow
p, role:deployer, applications, sync, team-a/frozen, deny
p, role:actions, applications, action/apps/Deployment/*, */*, allow
g, alice, role:deployer
g, ops, role:deployer
g, bob, ops
# a comment
"""


@pytest.fixture
def policy() -> Policy:
    return Policy.from_config({"policy.csv": CSV, "policy.default": "role:none"})


@pytest.mark.parametrize(
    ("subject", "resource", "action", "obj", "allowed"),
    [
        ("alice", "applications", "sync", "team-a/web", True),
        ("alice", "applications", "sync", "other/web", False),
        ("alice", "applications", "sync", "team-a/frozen", False),  # deny wins
        ("alice", "applications", "delete", "team-a/web", False),
        ("bob", "applications", "sync", "team-b/x", True),  # g is transitive
        ("carol", "applications", "get", "default/x", False),
        ("admin", "clusters", "delete", "https://anything", True),  # built-in admin
        ("role:readonly", "applications", "get", "any/thing", True),
        ("role:readonly", "applications", "sync", "any/thing", False),
        ("role:actions", "applications", "action/apps/Deployment/restart", "p/a", True),
        ("role:actions", "applications", "action/apps/StatefulSet/restart", "p/a", False),
    ],
)
def test_policy_decisions(
    policy: Policy, subject: str, resource: str, action: str, obj: str, allowed: bool
) -> None:
    assert policy.allows([subject], resource, action, obj) is allowed


def test_policy_default_applies_to_everyone() -> None:
    policy = Policy.from_config({"policy.default": "role:readonly"})
    assert policy.allows(["nobody"], "applications", "get", "p/a")
    assert not policy.allows(["nobody"], "applications", "sync", "p/a")


def test_regex_match_mode() -> None:
    policy = Policy.from_config(
        {
            "policy.matchMode": "regex",
            "policy.csv": "p, u, applications, get, team-[0-9]+/.*, allow",
        }
    )
    assert policy.allows(["u"], "applications", "get", "team-12/web")
    assert not policy.allows(["u"], "applications", "get", "team-x/web")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p, a, b", "a p line has 5 or 6 fields"),
        ("p, a, applications, get, */*, maybe", "effect must be allow or deny"),
        ("g, a", "a g line has 3 fields"),
        ("x, a, b", "starts with p or g"),
    ],
)
def test_bad_policy_lines_name_the_line(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(text)


def test_project_roles_cannot_reach_other_projects() -> None:
    rules = project_rules(
        "team",
        [
            (
                "ci",
                [
                    "p, proj:team:ci, applications, sync, team/*, allow",
                    "p, proj:team:ci, applications, sync, other/*, allow",
                    "p, proj:other:ci, applications, sync, team/*, allow",
                    "p, proj:team:ci, projects, get, team, allow",
                    "garbage line",
                ],
            )
        ],
    )
    assert [(r.subject, r.resource, r.object) for r in rules] == [
        ("proj:team:ci", "applications", "team/*"),
        ("proj:team:ci", "projects", "team"),
    ]


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("", {}, True),
        ("team=a", {"team": "a"}, True),
        ("team==a", {"team": "b"}, False),
        ("team!=a", {}, True),
        ("team", {"team": ""}, True),
        ("!team", {"team": "a"}, False),
        ("env in (prod, staging),team", {"env": "prod", "team": "x"}, True),
        ("env notin (prod)", {"env": "prod"}, False),
        ("app.kubernetes.io/name=web", {"app.kubernetes.io/name": "web"}, True),
    ],
)
def test_selectors(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_selector(selector)(labels) is matches


@pytest.mark.parametrize(
    "selector", ["a=b=c", "a in b", "a in ()", "$(rm -rf)", "a=' or 1=1", "a in (b", "=x"]
)
def test_bad_selectors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(selector)


def test_login_limiter_blocks_then_forgets() -> None:
    now = [0.0]
    limiter = LoginLimiter(lambda: now[0], max_failures=3, window=60)
    for _ in range(3):
        assert limiter.retry_after("admin", "10.0.0.1") == 0
        limiter.failed("admin", "10.0.0.1")
    assert limiter.retry_after("admin", "10.0.0.1") == 60
    assert limiter.retry_after("admin", "10.0.0.2") == 0  # another client is not blocked
    now[0] = 61
    assert limiter.retry_after("admin", "10.0.0.1") == 0


def test_login_limiter_memory_is_bounded() -> None:
    limiter = LoginLimiter(lambda: 0.0, max_entries=100)
    for index in range(10_000):
        limiter.failed(f"user-{index}", "client")
    assert len(limiter) == 100


def test_tokens_round_trip_and_expire() -> None:
    now = [1000.0]
    signer = TokenSigner(KEY, lambda: now[0])
    token, claims = signer.issue("ci:apiKey", lifetime=60, token_id="t1")
    assert signer.verify(token) == claims
    assert claims.kind is TokenKind.API_KEY
    assert claims.account == "ci"
    now[0] += 120
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b.c",
        TokenSigner(b"x" * 32, lambda: 1000.0).issue("admin")[0],  # another key
    ],
)
def test_invalid_tokens(token: str) -> None:
    with pytest.raises(InvalidToken):
        TokenSigner(KEY, lambda: 1000.0).verify(token)


def test_project_token_subject() -> None:
    _, claims = TokenSigner(KEY, lambda: 1000.0).issue("proj:team:ci")
    assert claims.kind is TokenKind.PROJECT
    assert claims.project_role == ("team", "ci")
