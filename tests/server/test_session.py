"""Logging in and out, cookies and CSRF, token expiry and revocation, throttling."""

from __future__ import annotations

import pytest
from serverharness import Harness

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_first_start_creates_key_admin_password_and_initial_secret(server: Harness) -> None:
    secret = await server.kube.get("v1", "Secret", "argocd-secret", server.namespace)
    assert {"tether-server-key", "admin.password", "admin.passwordMtime"} <= set(secret["data"])
    assert server.admin_password not in str(secret)  # only the bcrypt hash is stored


async def test_login_with_wrong_password_is_refused_with_one_message(server: Harness) -> None:
    wrong = await server.http.post(
        "/api/v1/session", json={"username": "admin", "password": "nope-nope"}
    )
    unknown = await server.http.post(
        "/api/v1/session", json={"username": "ghost", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"] == "invalid username or password"


async def test_session_token_works_as_bearer_and_cookie_with_csrf(server: Harness) -> None:
    response = await server.http.post(
        "/api/v1/session", json={"username": "admin", "password": server.admin_password}
    )
    cookie = response.headers["set-cookie"]
    assert "argocd.token=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    token = response.json()["token"]
    server.http.cookies.clear()
    server.http.cookies.set("argocd.token", token)
    try:
        me = await server.http.get("/api/v1/session/userinfo")
        assert me.json()["username"] == "admin"
        # No X-Requested-With: refused before anything is read.
        forged = await server.http.post("/api/v1/applications", json={})
        assert forged.status_code == 403
        assert "X-Requested-With" in forged.json()["error"]
        allowed = await server.http.post(
            "/api/v1/applications", json={}, headers={"X-Requested-With": "XMLHttpRequest"}
        )
        assert allowed.status_code == 400  # past CSRF and authentication: the body is judged
    finally:
        server.http.cookies.clear()


async def test_logout_revokes_the_token(server: Harness) -> None:
    token = await server.login("admin", server.admin_password)
    assert (
        await server.http.delete("/api/v1/session", headers=server.auth(token))
    ).status_code == 200
    again = await server.http.get("/api/v1/session/userinfo", headers=server.auth(token))
    assert again.status_code == 401
    assert (
        await server.http.get("/api/v1/session/userinfo", headers=server.auth())
    ).status_code == 200


async def test_session_expires_with_the_clock(server: Harness) -> None:
    await server.put_config("argocd-cm", {"users.session.duration": "1h"})
    token = await server.login("admin", server.admin_password)
    server.clock.advance(3601 + 10)
    response = await server.http.get("/api/v1/session/userinfo", headers=server.auth(token))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]


async def test_failed_logins_are_throttled_per_user_and_client(server: Harness) -> None:
    for _ in range(5):
        response = await server.http.post(
            "/api/v1/session", json={"username": "admin", "password": "wrong-password"}
        )
        assert response.status_code == 401
    throttled = await server.http.post(
        "/api/v1/session", json={"username": "admin", "password": server.admin_password}
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"username": "admin"}',
        b'{"username": ["admin"], "password": "x"}',
        b"[]",
    ],
)
async def test_malformed_login_bodies_are_400(server: Harness, body: bytes) -> None:
    response = await server.http.post(
        "/api/v1/session", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("invalid request")


async def test_password_change_invalidates_older_sessions(server: Harness) -> None:
    old = await server.login("admin", server.admin_password)
    server.clock.advance(5)
    changed = await server.http.put(
        "/api/v1/account/password",
        headers=server.auth(old),
        json={"currentPassword": server.admin_password, "newPassword": "a-new-password"},
    )
    assert changed.status_code == 200, changed.text
    server.clock.advance(5)
    assert (
        await server.http.get("/api/v1/session/userinfo", headers=server.auth(old))
    ).status_code == 401
    new = await server.login("admin", "a-new-password")
    assert (
        await server.http.get("/api/v1/session/userinfo", headers=server.auth(new))
    ).status_code == 200


async def test_api_tokens_expire_and_are_revoked_by_deleting_them(server: Harness) -> None:
    await server.put_config("argocd-cm", {"accounts.ci": "apiKey"})
    made = await server.http.post(
        "/api/v1/account/ci/token", headers=server.auth(), json={"expiresIn": 60, "id": "t1"}
    )
    assert made.status_code == 200, made.text
    token = made.json()["token"]
    account = await server.http.get("/api/v1/account/ci", headers=server.auth())
    assert [t["id"] for t in account.json()["tokens"]] == ["t1"]
    assert (
        await server.http.get("/api/v1/applications", headers=server.auth(token))
    ).status_code == 200
    revoked = await server.http.delete("/api/v1/account/ci/token/t1", headers=server.auth())
    assert revoked.status_code == 200
    server.app.state.context.store.invalidate()
    assert (
        await server.http.get("/api/v1/applications", headers=server.auth(token))
    ).status_code == 401
