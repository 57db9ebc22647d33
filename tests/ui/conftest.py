"""Fixtures of the UI suite: a real ``tether up --demo`` and a real Chromium (Debian's).

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright; nothing is
downloaded. Every test is marked ``ui`` and skipped only when that browser is missing.
Screenshots go to ``tests/ui/screenshots/`` (ignored by Git) for people to look at.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tether.tools import find_tool

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TETHER = Path(sys.executable).with_name("tether")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
NAMESPACE = "argocd"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the browser tests ``ui``; skip them where Debian's Chromium is not installed."""
    here = Path(__file__).resolve().parent
    for item in items:
        in_suite = here in Path(str(item.fspath)).resolve().parents
        if in_suite and {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.ui)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> str:
    """Read the process's stdout (bounded in time) until ``marker`` appears."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    os.set_blocking(descriptor, False)
    seen = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = os.read(descriptor, 65536).decode(errors="replace")
        except BlockingIOError:
            chunk = ""
        if chunk:
            seen += chunk
            if marker in seen:
                return seen
        elif process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"never saw {marker!r}; output: {seen[-3000:]}")


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    """Run the real kubectl against the test's cluster."""
    result = subprocess.run(
        [str(find_tool("kubectl")), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a tether process as Ctrl-C would, killing it only if it hangs."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Tether:
    """A running ``tether up --demo`` and what a test needs to reach it."""

    url: str
    password: str
    kubeconfig: Path
    data_dir: Path

    @property
    def demo_repo(self) -> Path:
        """The demo repository's work tree (push to ``origin`` to change what tether sees)."""
        return self.data_dir / "demo" / "gitops-repo"

    @property
    def repo_url(self) -> str:
        """The URL the demo's Applications use for the demo repository."""
        return f"file://{self.data_dir / 'demo' / 'gitops-repo.git'}"

    def api(self) -> httpx.Client:
        """An API client logged in as admin (bearer token, as the CLI uses)."""
        response = httpx.post(
            f"{self.url}/api/v1/session",
            json={"username": "admin", "password": self.password},
            timeout=30,
        )
        response.raise_for_status()
        token = response.json()["token"]
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@pytest.fixture(scope="session")
def tether(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tether]:
    """``tether up --demo`` for the whole UI session, stopped with SIGINT afterwards."""
    data_dir = tmp_path_factory.mktemp("tether-ui")
    port = free_port()
    process = subprocess.Popen(
        [
            str(TETHER),
            "up",
            "--demo",
            "--no-cli-context",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        # The API serves before the demo settles; the password is read from its Secret.
        read_until(process, "demo installed", 90)
        kubeconfig = data_dir / "kubeconfig"
        secret = json.loads(
            kubectl(
                kubeconfig,
                "-n",
                NAMESPACE,
                "get",
                "secret",
                "argocd-initial-admin-secret",
                "-o",
                "json",
            )
        )
        password = base64.b64decode(secret["data"]["password"]).decode()
        yield Tether(f"http://127.0.0.1:{port}", password, kubeconfig, data_dir)
    finally:
        stop(process)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) at a laptop-sized viewport."""
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def login(page: Page, tether: Tether) -> None:
    """Log in through the login page as admin."""
    page.goto(f"{tether.url}/applications")
    page.fill("#password", tether.password)
    page.click("button[type=submit]")
    page.wait_for_selector("#apps [data-app]")


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot under ``tests/ui/screenshots/``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
