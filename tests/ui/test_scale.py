"""The applications page at 10,000 Applications: first render and a filter change.

A local cluster and ``tether server`` (no controller: nothing reconciles the apps, so
the measurement is the UI and the API alone) run as their own processes. The
Applications are created straight through the cluster's API, 16 at a time; one in ten
belongs to project ``team-a``. The browser then logs in, opens the applications page,
changes the project filter, then (from a fresh page) the sort to Z-A and the
destination namespace filter. The times are printed and written to
``tests/ui/screenshots/scale.json`` (target: under 1 s each); the test asserts what
the page shows, not how fast it showed it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, expect

from tether.controller import install
from tether.kube import KubeClient, load_kubeconfig
from tether.model import API_VERSION

from .conftest import SCREENSHOTS, TETHER, read_until, screenshot, stop

APPS = 10_000
CONCURRENCY = 16
NAMESPACE = "argocd"
PROJECT = "team-a"
T = TypeVar("T")


def application(index: int) -> dict[str, Any]:
    """Application ``app-NNNNN``; every tenth (index % 10 == 3) is in ``team-a``."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": {
            "name": f"app-{index:05d}",
            "namespace": NAMESPACE,
            "labels": {"team": f"team-{index % 10}"},
        },
        "spec": {
            "project": PROJECT if index % 10 == 3 else "default",
            "source": {
                "repoURL": "https://git.example.com/apps.git",
                "targetRevision": "main",
                "path": f"apps/app-{index:05d}",
            },
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": f"team-{index % 10}",
            },
        },
    }


async def populate(kubeconfig: Path) -> None:
    """Install tether's resources, the project and the apps; returns the admin password."""
    async with KubeClient(load_kubeconfig(kubeconfig)) as client:
        await install(client, NAMESPACE)
        await client.create(
            {
                "apiVersion": API_VERSION,
                "kind": "AppProject",
                "metadata": {"name": PROJECT, "namespace": NAMESPACE},
                "spec": {
                    "sourceRepos": ["*"],
                    "destinations": [{"server": "*", "namespace": "*"}],
                },
            }
        )
        gate = asyncio.Semaphore(CONCURRENCY)

        async def create(index: int) -> None:
            async with gate:
                await client.create(application(index))

        await asyncio.gather(*(create(i) for i in range(APPS)))


async def admin_password(kubeconfig: Path) -> str:
    """The admin password the server wrote on first start."""
    async with KubeClient(load_kubeconfig(kubeconfig)) as client:
        secret = await client.get("v1", "Secret", "argocd-initial-admin-secret", NAMESPACE)
    return base64.b64decode(secret["data"]["password"]).decode()


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own thread (Playwright's loop owns this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def start(args: list[str], ready: str, seconds: float) -> tuple[subprocess.Popen[str], str]:
    """Start a tether command; returns it and the URL printed after ``ready``."""
    process = subprocess.Popen(
        [str(TETHER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = read_until(process, ready, seconds)
    except AssertionError:
        stop(process)
        raise
    return process, output.split(ready, 1)[1].split()[0]


@pytest.fixture(scope="module")
def crowded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, float]]:
    """(url, admin password, seconds spent creating the apps) of a server with 10,000 apps."""
    root = tmp_path_factory.mktemp("tether-ui-scale")
    cluster, _ = start(
        ["local-cluster", "serve", "--data-dir", str(root / "cluster"), "--port", "0"],
        "tether local cluster ready at",
        60,
    )
    server: subprocess.Popen[str] | None = None
    try:
        kubeconfig = root / "cluster" / "kubeconfig"
        started = time.perf_counter()
        run_async(populate(kubeconfig))
        created = time.perf_counter() - started
        server, url = start(
            ["server", "--kubeconfig", str(kubeconfig), "--port", "0", "-n", NAMESPACE],
            "tether server ready at",
            60,
        )
        yield url, run_async(admin_password(kubeconfig)), created
    finally:
        if server is not None:
            stop(server)
        stop(cluster)


def test_ten_thousand_apps_render_and_filter(
    browser: Browser, crowded_server: tuple[str, str, float]
) -> None:
    url, password, created = crowded_server
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(f"{url}/login")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_selector("#apps [data-app]")

        began = time.perf_counter()
        page.goto(f"{url}/applications")
        page.wait_for_selector("#apps [data-app=app-00099]")
        first_render = time.perf_counter() - began
        expect(page.locator("#apps [data-app]")).to_have_count(100)
        expect(page.locator("#apps-summary")).to_contain_text("more available")
        screenshot(page, "scale-applications")

        began = time.perf_counter()
        page.select_option("select[name=project]", PROJECT)
        page.wait_for_selector("#apps [data-app]:first-child[data-app=app-00003]")
        filter_change = time.perf_counter() - began
        names = page.locator("#apps [data-app]").evaluate_all("ns => ns.map(n => n.dataset.app)")
        assert len(names) == 100
        assert all(int(name.removeprefix("app-")) % 10 == 3 for name in names)

        page.click("#load-more")
        expect(page.locator("#apps [data-app]")).to_have_count(200)

        page.fill("input[name=labels]", "team=team-3,team!=team-4")
        page.select_option("select[name=project]", "")
        page.fill("#search", "app-000")
        expect(page.locator("#apps [data-app]")).to_have_count(10)
        assert page.locator("#apps [data-app]").last.get_attribute("data-app") == "app-00093"
        expect(page).to_have_url(
            f"{url}/applications?search=app-000&labels=team%3Dteam-3%2Cteam%21%3Dteam-4"
        )

        # The order is the server's, over all 10,000: Z-A starts at the very last app.
        page.goto(f"{url}/applications")
        page.wait_for_selector("#apps [data-app=app-00099]")
        began = time.perf_counter()
        page.select_option("select[name=sort]", "-name")
        page.wait_for_selector("#apps [data-app]:first-child[data-app=app-09999]")
        sort_change = time.perf_counter() - began
        began = time.perf_counter()
        page.fill("input[name=namespace]", "team-7")
        page.wait_for_selector("#apps [data-app]:first-child[data-app=app-09997]")
        namespace_filter = time.perf_counter() - began
        names = page.locator("#apps [data-app]").evaluate_all("ns => ns.map(n => n.dataset.app)")
        assert names == [f"app-{i:05d}" for i in range(9997, 8997, -10)]
    finally:
        context.close()
    timings = {
        "applications": APPS,
        "create_s": round(created, 2),
        "first_render_s": round(first_render, 3),
        "filter_change_s": round(filter_change, 3),
        "sort_change_s": round(sort_change, 3),
        # Typing waits 250 ms for a pause before it asks the server.
        "namespace_filter_s": round(namespace_filter, 3),
        "target_s": 1.0,
    }
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "scale.json").write_text(json.dumps(timings, indent=2) + "\n")
    print(f"\n10,000 applications: {json.dumps(timings)}")
