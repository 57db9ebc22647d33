"""How the server serves the UI: caching headers, the SPA fallback, and what it leaves alone."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Tether

# The ApplicationSets pages need "/applicationsets" in CLIENT_ROUTES (tether.server.ui)
# before a reload or a shared link reaches them; until then only in-app navigation does.
NOT_YET_SERVED = pytest.mark.xfail(
    strict=True, reason="/applicationsets is not yet in tether.server.ui.CLIENT_ROUTES"
)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/applications",
        "/applications/guestbook",
        "/projects",
        pytest.param("/applicationsets", marks=NOT_YET_SERVED),
        pytest.param("/applicationsets/categories", marks=NOT_YET_SERVED),
    ],
)
def test_client_routes_answer_the_page_revalidated(tether: Tether, path: str) -> None:
    response = httpx.get(f"{tether.url}{path}", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert '<script type="module" src="/assets/js/main.js">' in response.text


def test_assets_carry_an_etag_and_answer_304_when_unchanged(tether: Tether) -> None:
    first = httpx.get(f"{tether.url}/assets/js/main.js", timeout=10)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.headers["cache-control"] == "no-cache"
    again = httpx.get(
        f"{tether.url}/assets/js/main.js",
        headers={"If-None-Match": first.headers["etag"]},
        timeout=10,
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/api/v1/no-such-thing", "/api", "/assets/missing.js", "/docs", "/loginx"]
)
def test_the_fallback_never_shadows_the_api_or_assets(tether: Tether, path: str) -> None:
    response = httpx.get(f"{tether.url}{path}", timeout=10)
    assert response.status_code == 404
    assert "text/html" not in response.headers.get("content-type", "")


def test_metrics_and_the_api_still_answer(tether: Tether) -> None:
    metrics = httpx.get(f"{tether.url}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    version = httpx.get(f"{tether.url}/api/version", timeout=10)
    assert version.json()["Version"]


def test_the_ui_loads_nothing_from_elsewhere(tether: Tether) -> None:
    page = httpx.get(f"{tether.url}/", timeout=10).text
    for asset in ("/assets/style.css", "/assets/js/main.js"):
        assert asset in page
    assert "http://" not in page
    assert "https://" not in page
