"""The ApplicationSets pages in a real browser against ``tether up --demo``.

The demo installs two ApplicationSets: ``categories`` (a Git directories generator) and
``clients`` (a Git files generator with Go templates). The tests read them, open one and
follow an Application it generated, create a RollingSync ApplicationSet of their own
(``ui-rolling``: two apps in two steps) and delete it through the confirm dialog, and
check that a read-only account is offered no Delete button.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import Page, expect

from .conftest import NAMESPACE, Tether, kubectl, login, screenshot

ROLLING = "ui-rolling"
VIEWER = "viewer"
VIEWER_PASSWORD = "read-only-but-curious"


def open_applicationsets(page: Page, tether: Tether) -> None:
    """Log in and go to the ApplicationSets page through the top bar."""
    login(page, tether)
    page.click("nav >> text=ApplicationSets")
    expect(page).to_have_url(f"{tether.url}/applicationsets")


def rolling_applicationset(tether: Tether) -> dict[str, object]:
    """Two Applications of the demo's settings ConfigMap, rolled out dev first, then prod."""
    step = lambda env: {"matchExpressions": [{"key": "env", "operator": "In", "values": [env]}]}  # noqa: E731
    return {
        "metadata": {"name": ROLLING},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "dev"}, {"env": "prod"}]}}],
            "strategy": {
                "type": "RollingSync",
                "rollingSync": {"steps": [step("dev"), step("prod")]},
            },
            "template": {
                "metadata": {"name": "ui-rolling-{{env}}", "labels": {"env": "{{env}}"}},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": tether.repo_url,
                        "path": "platform/settings",
                        "targetRevision": "main",
                    },
                    "destination": {
                        "server": "https://kubernetes.default.svc",
                        "namespace": "ui-rolling-{{env}}",
                    },
                    "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }


def test_the_list_shows_the_demo_applicationsets(page: Page, tether: Tether) -> None:
    open_applicationsets(page, tether)
    expect(page.locator("nav a[data-nav=applicationsets]")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("nav a[data-nav=applications]")).not_to_have_attribute(
        "aria-current", "page"
    )
    categories = page.locator("#appsets tr[data-appset=categories]")
    expect(categories.locator("[data-testid=generator]")).to_have_text(
        f"git {tether.repo_url} @ main: directories apps/*/*"
    )
    expect(categories).to_contain_text("sync")
    clients = page.locator("#appsets tr[data-appset=clients]")
    expect(clients.locator("[data-testid=generator]")).to_contain_text(
        "files clients/**/config.json"
    )
    for row in (categories, clients):
        expect(row.locator("[data-testid=condition]")).to_have_count(3)
        expect(row.locator("[data-testid=condition][data-tone=Healthy]")).to_have_count(3)
        expect(row.locator("[data-testid=app-count]")).not_to_have_text("0")
    screenshot(page, "applicationsets")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "applicationsets-dark")


def test_the_detail_shows_generators_template_conditions_and_generated_apps(
    page: Page, tether: Tether
) -> None:
    open_applicationsets(page, tether)
    page.click("#appsets tr[data-appset=categories] a")
    expect(page).to_have_url(f"{tether.url}/applicationsets/categories")
    expect(page.locator("#appset-generators li")).to_contain_text("directories apps/*/*")
    expect(page.locator("#appset-template")).to_contain_text("{{path.basename}}")
    page.click("#appset-template summary")
    expect(page.locator("#appset-template pre")).to_contain_text("selfHeal: true")
    error = page.locator("#appset-conditions tr[data-condition=ErrorOccurred]")
    expect(error).to_contain_text("False")
    expect(error.locator("[data-testid=condition]")).to_have_attribute("data-tone", "Healthy")
    apps = page.locator("#appset-applications tr[data-app]")
    expect(apps.first).to_be_visible()
    expect(page.locator("[data-testid=app-count]")).to_have_text(str(apps.count()))
    expect(page.locator("#delete-appset")).to_be_visible()
    screenshot(page, "applicationset")
    name = apps.first.get_attribute("data-app")
    apps.first.locator("a").click()
    expect(page).to_have_url(f"{tether.url}/applications/{name}")
    expect(page.locator("[data-testid=app-health]")).to_be_visible()


def test_rolling_sync_steps_show_and_delete_asks_to_confirm(page: Page, tether: Tether) -> None:
    with tether.api() as api:
        created = api.post(
            "/api/v1/applicationsets?upsert=true", json=rolling_applicationset(tether)
        )
        created.raise_for_status()
        open_applicationsets(page, tether)
        page.click(f"#appsets tr[data-appset={ROLLING}] a")
        expect(page.locator("#appset-rollout li[data-step]")).to_have_count(2)
        rows = page.locator("#appset-applications tr[data-app]")
        expect(rows).to_have_count(2, timeout=30_000)
        dev, prod = rows.nth(0), rows.nth(1)
        expect(dev).to_have_attribute("data-app", "ui-rolling-dev")
        expect(dev.locator("td").nth(3)).to_have_text("1", timeout=30_000)
        expect(prod.locator("td").nth(3)).to_have_text("2")
        expect(dev.locator("[data-testid=rollout]")).to_be_visible()
        expect(page.locator("#appset-rollout")).to_contain_text("env In (dev)")
        screenshot(page, "applicationset-rolling")

        page.click("#delete-appset")
        expect(page.locator("[data-testid=delete-note]")).to_have_text(
            "Its 2 generated applications are deleted with it."
        )
        page.fill("dialog input[name=confirm]", "wrong")
        page.click("dialog button[value=ok]")
        expect(page.locator("dialog .error")).to_have_text("The name does not match.")
        assert api.get(f"/api/v1/applicationsets/{ROLLING}").status_code == 200
        page.fill("dialog input[name=confirm]", ROLLING)
        page.click("dialog button[value=ok]")
        expect(page).to_have_url(f"{tether.url}/applicationsets")
        expect(page.locator(f"#appsets tr[data-appset={ROLLING}]")).to_have_count(0)
        assert api.get(f"/api/v1/applicationsets/{ROLLING}").status_code == 404
        # Its Applications go with it (garbage collection): later tests count apps.
        deadline = time.monotonic() + 30
        while api.get("/api/v1/applications", params={"search": ROLLING}).json()["items"]:
            assert time.monotonic() < deadline, "the generated applications were never deleted"
            time.sleep(0.25)


def test_an_unknown_applicationset_says_so(page: Page, tether: Tether) -> None:
    open_applicationsets(page, tether)
    page.evaluate(
        "history.pushState(null, '', '/applicationsets/no-such-set');"
        "dispatchEvent(new PopStateEvent('popstate'))"
    )
    expect(page.locator("#appset-missing")).to_have_text("ApplicationSet no-such-set not found.")
    expect(page.locator("#delete-appset")).to_have_count(0)


@pytest.fixture
def viewer(tether: Tether) -> str:
    """A local account ``viewer`` with the built-in read-only role; its password."""
    kubectl(
        tether.kubeconfig,
        "-n",
        NAMESPACE,
        "patch",
        "configmap",
        "argocd-cm",
        "--type=merge",
        "-p",
        json.dumps({"data": {f"accounts.{VIEWER}": "login"}}),
    )
    found = kubectl(
        tether.kubeconfig,
        "-n",
        NAMESPACE,
        "get",
        "configmap",
        "argocd-rbac-cm",
        "-o",
        "json",
        "--ignore-not-found",
    )
    rbac = json.loads(found) if found.strip() else {"metadata": {"name": "argocd-rbac-cm"}}
    policy = (rbac.get("data") or {}).get("policy.csv", "")
    rbac = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-rbac-cm", "namespace": NAMESPACE},
        "data": {
            **(rbac.get("data") or {}),
            "policy.csv": f"{policy}\ng, {VIEWER}, role:readonly\n",
        },
    }
    kubectl(tether.kubeconfig, "apply", "-f", "-", stdin=json.dumps(rbac))
    with tether.api() as api:
        body = {"name": VIEWER, "currentPassword": tether.password, "newPassword": VIEWER_PASSWORD}
        deadline = time.monotonic() + 15
        while (response := api.put("/api/v1/account/password", json=body)).status_code != 200:
            # The server reads its settings again within a few seconds.
            assert time.monotonic() < deadline, response.text
            time.sleep(0.5)
    return VIEWER_PASSWORD


def test_a_read_only_account_is_not_offered_delete(page: Page, tether: Tether, viewer: str) -> None:
    page.goto(f"{tether.url}/applications")
    page.fill("#username", VIEWER)
    page.fill("#password", viewer)
    page.click("button[type=submit]")
    page.click("nav >> text=ApplicationSets")
    with page.expect_response("**/api/v1/account/can-i/applicationsets/delete/**") as answer:
        page.click("#appsets tr[data-appset=categories] a")
    assert answer.value.json() == {"value": "no"}
    expect(page.locator("#appset-generators")).to_be_visible()
    expect(page.locator("#delete-appset")).to_be_hidden()
