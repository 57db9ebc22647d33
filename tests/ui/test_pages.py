"""The UI in a real browser against ``tether up --demo``: login, apps, tree, diff, sync, rollback.

The ``ui-secret`` application (manual sync, a Secret and a ConfigMap) is shared by the
tests that act on it; in file order they sync it from its tile, change its Secret behind
tether's back and read the diff, deploy a second revision and roll back to the first,
then delete it without cascade. Each that needs the first revision deployed makes sure of
it first, so each also passes alone. They wait for what the UI shows, never reloading.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Tether, kubectl, login, screenshot

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "ui"
APP = "ui-secret"
PASSWORD = "correct-horse-battery-staple"
CHANGED = "tr0ub4dor-and-3"


def git(repo: Path, *args: str) -> str:
    """Run git in the demo repository as a committer would."""
    result = subprocess.run(
        ["git", "-c", "user.name=ui test", "-c", "user.email=ui@tether.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


@dataclass(frozen=True)
class SecretApp:
    """The ``ui-secret`` Application (manual sync) and the revision it was created at."""

    name: str
    first_revision: str


@pytest.fixture(scope="module")
def secret_app(tether: Tether) -> SecretApp:
    """Push a Secret and a ConfigMap to the demo repository and create an app for them."""
    repo = tether.demo_repo
    shutil.copytree(TESTDATA / "app-secret", repo / APP)
    git(repo, "add", APP)
    git(repo, "commit", "--quiet", "-m", "ui test: an app with a Secret")
    git(repo, "push", "--quiet", "origin", "HEAD:main")
    revision = git(repo, "rev-parse", "HEAD")
    with tether.api() as api:
        response = api.post(
            "/api/v1/applications",
            json={
                "metadata": {"name": APP, "labels": {"team": "ui"}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": tether.repo_url, "path": APP, "targetRevision": "main"},
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": APP,
                    },
                    "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
                },
            },
        )
        response.raise_for_status()
    return SecretApp(APP, revision)


def ensure_deployed(tether: Tether, app: SecretApp) -> int:
    """Have the app's first revision deployed (synced through the API if it never was).

    Returns the number of history entries then.
    """
    with tether.api() as api:
        path = f"/api/v1/applications/{app.name}"
        history = api.get(path).json().get("status", {}).get("history") or []
        if not any(entry.get("revision") == app.first_revision for entry in history):
            api.post(f"{path}/sync", json={"revision": app.first_revision}).raise_for_status()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = api.get(path).json().get("status") or {}
            history = status.get("history") or []
            phase = (status.get("operationState") or {}).get("phase")
            done = phase in ("Succeeded", "Failed", "Error")
            if done and any(e.get("revision") == app.first_revision for e in history):
                return len(history)
            time.sleep(0.25)
    raise AssertionError(f"{app.name} never deployed {app.first_revision}")


def test_wrong_password_shows_an_error(page: Page, tether: Tether) -> None:
    page.goto(f"{tether.url}/")
    expect(page).to_have_url(f"{tether.url}/login")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Invalid username or password.")
    screenshot(page, "login-error")


def test_login_shows_the_demo_apps_and_logout_ends_the_session(page: Page, tether: Tether) -> None:
    login(page, tether)
    for name in ("root", "guestbook", "settings"):
        expect(page.locator(f"#apps [data-app={name}]")).to_be_visible()
    expect(page.locator("[data-app=guestbook] [data-testid=sync]")).to_have_attribute(
        "data-status", "Synced", timeout=60_000
    )
    screenshot(page, "applications-tiles")
    page.click("[data-view=list]")
    expect(page.locator("#apps table tr[data-app=guestbook]")).to_be_visible()
    screenshot(page, "applications-list")
    page.click("#logout")
    expect(page).to_have_url(f"{tether.url}/login")
    page.goto(f"{tether.url}/applications")
    expect(page).to_have_url(f"{tether.url}/login")


def test_filters_search_and_sort_narrow_the_list(page: Page, tether: Tether) -> None:
    login(page, tether)
    page.fill("#search", "guest")
    expect(page.locator("#apps [data-app]")).to_have_count(1)
    expect(page.locator("#apps [data-app=guestbook]")).to_be_visible()
    expect(page).to_have_url(f"{tether.url}/applications?search=guest")
    page.fill("#search", "")
    page.select_option("select[name=autosync]", "off")
    expect(page.locator("#apps [data-app=guestbook]")).to_have_count(0)
    page.select_option("select[name=autosync]", "")
    page.fill("input[name=namespace]", "guestbook")
    expect(page.locator("#apps [data-app]")).to_have_count(1)
    page.fill("input[name=namespace]", "guest")  # exact names only
    expect(page.locator("#apps-summary")).to_have_text("No applications match.")
    page.fill("input[name=namespace]", "")
    page.fill("input[name=cluster]", "no-such-cluster")
    expect(page.locator("#apps [data-app]")).to_have_count(0)
    expect(page.locator("#apps-summary")).to_have_text("No applications match.")
    page.fill("input[name=cluster]", "in-cluster")
    expect(page.locator("#apps [data-app=guestbook]")).to_be_visible()
    page.fill("input[name=cluster]", "https://kubernetes.default.svc")
    expect(page.locator("#apps [data-app=guestbook]")).to_be_visible()
    page.fill("input[name=cluster]", "")
    page.select_option("select[name=health]", "Healthy")
    expect(page).to_have_url(f"{tether.url}/applications?health=Healthy")
    expect(page.locator("#apps [data-app=guestbook]")).to_be_visible()
    unhealthy = page.locator("#apps [data-testid=health]:not([data-status=Healthy])")
    expect(unhealthy).to_have_count(0)
    page.select_option("select[name=health]", "")
    healthy = page.locator("[data-count='health:Healthy']")
    expect(healthy).to_be_visible()
    healthy.click()
    expect(page.locator("select[name=health]")).to_have_value("Healthy")
    expect(page.locator("[data-count^='health:']")).to_have_count(1)
    page.select_option("select[name=sort]", "health")
    expect(page).to_have_url(f"{tether.url}/applications?health=Healthy&sort=health")


def shown_names(page: Page) -> list[str]:
    return [
        str(n)
        for n in page.locator("#apps [data-app]").evaluate_all(
            "tiles => tiles.map(t => t.dataset.app)"
        )
    ]


def test_sort_and_filters_are_the_servers_and_survive_a_reload(page: Page, tether: Tether) -> None:
    login(page, tether)
    with tether.api() as api:
        everything = api.get("/api/v1/applications").json()["items"]
    names = sorted(app["metadata"]["name"] for app in everything)
    with page.expect_request("**/api/v1/applications?*sortBy=-name*") as request:
        page.select_option("select[name=sort]", "-name")
    assert "limit=100" in request.value.url
    expect(page.locator("#apps [data-app]").first).to_have_attribute("data-app", names[-1])
    assert shown_names(page) == names[::-1][:100]
    page.select_option("select[name=autosync]", "on")
    page.fill("input[name=namespace]", "guestbook")
    query = "namespace=guestbook&autosync=on&sort=-name"
    expect(page).to_have_url(f"{tether.url}/applications?{query}")
    expect(page.locator("#apps [data-app]")).to_have_count(1)
    screenshot(page, "applications-filtered")
    with page.expect_request("**/api/v1/applications?*") as request:
        page.reload()
    assert "destNamespace=guestbook" in request.value.url
    assert "autoSync=true" in request.value.url
    assert "sortBy=-name" in request.value.url
    expect(page.locator("#apps [data-app=guestbook]")).to_be_visible()
    expect(page.locator("select[name=sort]")).to_have_value("-name")
    expect(page.locator("select[name=autosync]")).to_have_value("on")
    page.select_option("select[name=autosync]", "off")
    expect(page.locator("#apps-summary")).to_have_text("No applications match.")


def test_apps_created_and_deleted_elsewhere_come_and_go_live(page: Page, tether: Tether) -> None:
    login(page, tether)
    page.evaluate("window.__sameDocument = true")
    tile = page.locator("#apps [data-app=ui-live]")
    with tether.api() as api:
        api.post(
            "/api/v1/applications",
            json={
                "metadata": {"name": "ui-live"},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": tether.repo_url,
                        "path": "root",
                        "targetRevision": "main",
                    },
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "ui-live",
                    },
                },
            },
        ).raise_for_status()
        expect(tile).to_be_visible()
        api.delete("/api/v1/applications/ui-live?cascade=false").raise_for_status()
        expect(tile).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True


def test_app_page_shows_the_tree_down_to_pods(page: Page, tether: Tether) -> None:
    login(page, tether)
    page.click("#apps [data-app=guestbook] h3 a")
    expect(page).to_have_url(f"{tether.url}/applications/guestbook")
    expect(page.locator("[data-testid=app-health]")).to_have_attribute("data-status", "Healthy")
    for kind in ("Deployment", "ReplicaSet", "Pod", "Service"):
        expect(page.locator(f"svg.tree .node[data-kind={kind}]").first).to_be_visible()
    screenshot(page, "application-tree")
    page.locator("svg.tree .node[data-kind=Deployment]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=live-manifest]")).to_contain_text("kind: Deployment")
    page.keyboard.press("ArrowRight")
    expect(page.locator("[data-testid=desired-manifest]")).to_contain_text("kind: Deployment")
    page.keyboard.press("Escape")
    expect(page.locator("#resource-panel")).to_be_hidden()
    expect(page.locator("svg.tree .node[data-kind=Deployment]")).to_be_focused()
    page.click("#tab-list")
    expect(page.locator("[data-testid=resource-list]")).to_contain_text("ReplicaSet")


def test_sync_turns_the_badge_synced_without_reload(
    page: Page, tether: Tether, secret_app: SecretApp
) -> None:
    login(page, tether)
    page.fill("#search", secret_app.name)
    tile = page.locator(f"#apps [data-app={secret_app.name}]")
    expect(tile.locator("[data-testid=sync]")).to_have_attribute(
        "data-status", "OutOfSync", timeout=30_000
    )
    page.evaluate("window.__sameDocument = true")
    tile.get_by_role("button", name=f"Sync {secret_app.name}").click()
    expect(tile.locator("[data-testid=sync]")).to_have_attribute(
        "data-status", "Synced", timeout=30_000
    )
    expect(tile.locator("[data-testid=health]")).to_have_attribute("data-status", "Healthy")
    assert page.evaluate("window.__sameDocument") is True
    tile.locator("h3 a").click()
    expect(page.locator("svg.tree .node[data-kind=Secret]")).to_be_visible()
    expect(page.locator("[data-testid=deployed-revision]")).to_have_attribute(
        "title", secret_app.first_revision
    )


def test_diff_of_a_changed_secret_is_masked(
    page: Page, tether: Tether, secret_app: SecretApp
) -> None:
    ensure_deployed(tether, secret_app)
    encoded = base64.b64encode(CHANGED.encode()).decode()
    kubectl(
        tether.kubeconfig,
        "-n",
        APP,
        "patch",
        "secret",
        "db-credentials",
        "--type=merge",
        "-p",
        f'{{"data": {{"password": "{encoded}"}}}}',
    )
    login(page, tether)
    page.goto(f"{tether.url}/applications/{secret_app.name}")
    page.click("#refresh-button")
    expect(page.locator("[data-testid=app-sync]")).to_have_attribute(
        "data-status", "OutOfSync", timeout=30_000
    )
    page.locator("svg.tree .node[data-kind=Secret]").click()
    page.click("#resource-panel [data-tab=diff]")
    diff = page.locator("[data-testid=diff]")
    expect(diff).to_contain_text("++++++++")
    screenshot(page, "diff-unified")
    page.check("#split-diff")
    expect(page.locator("table.diff")).to_contain_text("++++++++")
    screenshot(page, "diff-side-by-side")
    shown = page.locator("#resource-panel").inner_text()
    for secret in (PASSWORD, CHANGED, encoded, base64.b64encode(PASSWORD.encode()).decode()):
        assert secret not in shown
    page.click("#resource-panel [data-tab=live]")
    expect(page.locator("[data-testid=live-manifest]")).to_contain_text("++++++++")
    assert CHANGED not in page.locator("#resource-panel").inner_text()


def test_history_rollback_returns_to_the_first_revision(
    page: Page, tether: Tether, secret_app: SecretApp
) -> None:
    deployed = ensure_deployed(tether, secret_app)
    repo = tether.demo_repo
    config = repo / APP / "configmap-settings.yaml"
    config.write_text(config.read_text().replace("colour: blue", "colour: green"))
    git(repo, "commit", "--quiet", "-am", "ui test: green")
    git(repo, "push", "--quiet", "origin", "HEAD:main")
    second = git(repo, "rev-parse", "HEAD")
    login(page, tether)
    page.goto(f"{tether.url}/applications/{secret_app.name}")
    page.click("#refresh-button")
    expect(page.locator("[data-testid=revision]")).to_have_attribute(
        "title", second, timeout=30_000
    )
    expect(page.locator("[data-testid=app-sync]")).to_have_attribute("data-status", "OutOfSync")
    page.click("#sync-button")
    expect(page.locator("dialog input[name=revision]")).to_have_value("main")
    screenshot(page, "sync-dialog")
    page.click("#sync-submit")
    expect(page.locator("[data-testid=app-sync]")).to_have_attribute(
        "data-status", "Synced", timeout=30_000
    )
    page.click("#tab-history")
    expect(page.locator("[data-testid=history] tbody tr")).to_have_count(
        deployed + 1, timeout=30_000
    )
    screenshot(page, "history")
    page.click(f"[data-rollback-revision='{secret_app.first_revision}'] >> nth=0")
    page.click("#rollback-submit")
    # Rolled back: the first revision is deployed again; main (the target) is ahead of it.
    expect(page.locator("[data-testid=deployed-revision]")).to_have_attribute(
        "title", secret_app.first_revision, timeout=30_000
    )
    expect(page.locator("[data-testid=op-phase]")).to_have_attribute(
        "data-status", "Succeeded", timeout=30_000
    )
    expect(page.locator("[data-testid=app-sync]")).to_have_attribute("data-status", "OutOfSync")
    expect(page.locator("[data-testid=history] tbody tr")).to_have_count(deployed + 2)


def test_delete_without_cascade_keeps_the_resources(
    page: Page, tether: Tether, secret_app: SecretApp
) -> None:
    login(page, tether)
    page.goto(f"{tether.url}/applications/{secret_app.name}")
    page.click("text=Delete")
    page.check("input[name=cascade][value=non-cascading]")
    page.fill("input[name=confirm]", "wrong")
    page.click("dialog button[value=ok]")
    expect(page.locator("dialog .error")).to_have_text("The name does not match.")
    page.fill("input[name=confirm]", secret_app.name)
    screenshot(page, "delete-dialog")
    page.click("dialog button[value=ok]")
    expect(page).to_have_url(f"{tether.url}/applications")
    expect(page.locator(f"#apps [data-app={secret_app.name}]")).to_have_count(0, timeout=30_000)
    assert kubectl(tether.kubeconfig, "-n", APP, "get", "secret", "db-credentials", "-o", "name")


def test_an_expired_session_returns_to_login_and_back(page: Page, tether: Tether) -> None:
    login(page, tether)
    page.click("#apps [data-app=guestbook] h3 a")
    expect(page.locator("svg.tree")).to_be_visible()
    # The session ends behind the page's back (as when it expires or is revoked).
    page.evaluate(
        "fetch('/api/v1/session', "
        "{method: 'DELETE', headers: {'X-Requested-With': 'XMLHttpRequest'}})"
    )
    page.click("#tab-events")
    expect(page.locator("#login-error")).to_have_text("Your session has expired. Log in again.")
    page.fill("#password", tether.password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{tether.url}/applications/guestbook?view=events")


def test_projects_page_lists_destinations_and_sources(page: Page, tether: Tether) -> None:
    login(page, tether)
    page.click("nav >> text=Projects")
    expect(page.locator("[data-project=default]")).to_contain_text("Destinations")
    screenshot(page, "projects")


def test_unreachable_server_shows_a_banner_until_it_answers(page: Page, tether: Tether) -> None:
    login(page, tether)
    page.route("**/api/**", lambda route: route.abort())
    page.fill("#search", "x")
    expect(page.locator("#banner")).to_be_visible()
    expect(page.locator("#banner")).to_contain_text("unreachable")
    page.unroute("**/api/**")
    expect(page.locator("#banner")).to_be_hidden(timeout=10_000)


def test_dark_mode_is_readable(page: Page, tether: Tether) -> None:
    page.emulate_media(color_scheme="dark")
    login(page, tether)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 19, 26)"
    screenshot(page, "applications-dark")
    page.click("#apps [data-app=guestbook] h3 a")
    expect(page.locator("svg.tree .node[data-kind=Pod]").first).to_be_visible()
    screenshot(page, "application-tree-dark")
