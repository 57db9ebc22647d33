"""The Git server going away and coming back: during refreshes, during a sync, rewritten.

The repository is served by a real ``git daemon`` (``git://``) or smart-HTTP server
(``http://`` with the user name and password in the URL, so a leaked credential would
show); "going away" stops the server, "coming back" starts it again on the same
address. What must hold while it is away: the app keeps its last known state (nothing
is pruned because the repository cannot be read, health and resources stay), a
``ComparisonError`` condition names the repository without its password, and the sync
status is ``Unknown``, never Synced against a revision tether could not see. That holds
too for a controller started while the server is away, with no copy of the repository
yet, and for a fetch the server drops one megabyte into the transfer. A sync that had
its revision when the server went away completes from what was fetched; one that
needed to fetch ends in Error, and ``retry`` retries it. Once the server is back, the
app converges to the newest commit, also when the history it knew was rewritten by a
force-push meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from appmanifests import application, conditions_of, manual_sync
from eventlog import EventLog
from faultapps import (
    assert_untouched,
    configmap,
    fault_app,
    job_hook,
    place_bystanders,
    settled_at,
)
from faultbudget import SEED
from gitserver import git
from tcpgate import TCPGate

from tether.controller import ApplicationController
from tether.model import keys
from tether.source import GitCache

if TYPE_CHECKING:
    from controllerharness import Harness
    from gitserver import GitServer, RemoteRepo

APPLICATION = ("argoproj.io/v1alpha1", "Application")
COMPARISON_ERROR = "ComparisonError"
WATCHED = (("v1", "ConfigMap"), ("batch/v1", "Job"))


@dataclass
class ServedRepo:
    """A repository on a Git server that the test takes away and brings back."""

    server: GitServer
    repo: RemoteRepo
    gate: TCPGate
    protocol: str

    @property
    def url(self) -> str:
        """The URL the Application uses (HTTP carries the credentials in it)."""
        if self.protocol == "git":
            return self.repo.url_git
        userinfo = f"{self.server.username}:{self.server.password}"
        return f"http://{userinfo}@127.0.0.1:{self.gate.port}/{self.repo.name}.git"

    @property
    def address(self) -> str:
        """What a message naming this repository contains."""
        port = self.server.git_port if self.protocol == "git" else self.gate.port
        return f"127.0.0.1:{port}/{self.repo.name}.git"

    def go_away(self) -> None:
        self.gate.close()
        self.server.stop()

    def come_back(self) -> None:
        self.server.start()
        self.gate.open()


@pytest.fixture(params=["git", "http"])
def served(request: pytest.FixtureRequest, git_server: GitServer) -> Iterator[ServedRepo]:
    """A fresh repository on a server of the test's own, over ``git://`` or ``http://``."""
    # The HTTP server takes a new port at each start; the gate keeps its address fixed.
    gate = TCPGate(lambda: git_server.http_port).open()
    try:
        yield ServedRepo(git_server, git_server.create_repo(), gate, request.param)
    finally:
        gate.close()


@contextlib.asynccontextmanager
async def running_controller(
    harness: Harness, data_dir: Path
) -> AsyncIterator[ApplicationController]:
    """An in-process controller with a Git cache of its own in ``data_dir``."""
    controller = ApplicationController(
        harness.client,
        GitCache(data_dir / "git"),
        namespace=harness.namespace,
        poll_interval=0.05,
        clock=harness.clock,
    )
    try:
        async with asyncio.timeout(30):
            await controller.start()
        yield controller
    finally:
        await controller.close()


def files(**configmaps: int) -> dict[str, str | None]:
    """Repository files: one ConfigMap per keyword, its value the ``wave`` data field."""
    return {f"app/{name}.yaml": configmap(name, wave) for name, wave in configmaps.items()}


def operation_phase(app: dict[str, Any]) -> str:
    return str(((app.get("status") or {}).get("operationState") or {}).get("phase", ""))


async def refresh_while_away(harness: Harness, name: str) -> dict[str, Any]:
    """Ask for a refresh and wait until it was done and failed (the request is cleared)."""
    await harness.refresh(name)
    return await harness.wait_app(
        name,
        lambda a: (
            keys.REFRESH not in (a["metadata"].get("annotations") or {})
            and COMPARISON_ERROR in conditions_of(a)
        ),
    )


def assert_last_known(
    app: dict[str, Any], served: ServedRepo, unseen: str, resources: set[str], syncs: int
) -> None:
    """The status of an app whose repository is unreachable tells just that."""
    status = app["status"]
    assert status["sync"]["status"] == "Unknown", status["sync"]
    assert status["sync"].get("revision") != unseen
    message = conditions_of(app)[COMPARISON_ERROR]
    assert served.address in message, message
    assert served.server.password not in message
    assert status["health"]["status"] == "Healthy", status["health"]
    assert {r["name"] for r in status["resources"]} == resources
    assert len(status.get("history") or []) == syncs
    assert "operation" not in app


async def test_an_unreachable_repository_keeps_the_last_known_state(
    harness: Harness, served: ServedRepo
) -> None:
    name = f"outage-{served.protocol}"
    first = served.repo.push(files(a=0, b=0, c=0), "three objects")
    bystanders = await place_bystanders(harness.client, name)
    await harness.client.apply(fault_app(name, served.url))
    await harness.wait_app(name, settled_at(harness, first))

    async with EventLog(harness.client, WATCHED) as events:
        served.go_away()
        # Commits the controller cannot see: one removes an object, one changes another.
        unseen = served.repo.push({"app/c.yaml": None, **files(a=1)}, "remove c, change a")
        for _ in range(3):
            app = await refresh_while_away(harness, name)
            assert_last_known(app, served, unseen, {"a", "b", "c"}, syncs=1)
        assert events.deleted(name) == set()
        live_a = await harness.client.get("v1", "ConfigMap", "a", name)
        assert live_a["data"]["wave"] == "0"

        served.come_back()
        latest = served.repo.push(files(d=0), "add d")
        await harness.refresh(name)
        app = await harness.wait_app(name, settled_at(harness, latest))
        assert COMPARISON_ERROR not in conditions_of(app)
        assert [h["revision"] for h in app["status"]["history"]] == [first, latest]
        assert {r["name"] for r in app["status"]["resources"]} == {"a", "b", "d"}
        await events.catch_up(name)
        assert events.deleted(name) == {("ConfigMap", "c")}
    await assert_untouched(harness.client, bystanders, served.protocol)


@pytest.mark.parametrize("served", ["git"], indirect=True)
async def test_a_sync_in_flight_completes_from_what_was_fetched(
    harness: Harness, served: ServedRepo
) -> None:
    name = "outage-sync"
    first = served.repo.push(files(a=0, b=0), "two objects")
    await harness.client.apply(fault_app(name, served.url))
    await harness.wait_app(name, settled_at(harness, first))

    async with EventLog(harness.client, WATCHED) as events:
        hook = {"app/pre.yaml": job_hook("PreSync", "pre")}
        second = served.repo.push({"app/b.yaml": None, **hook, **files(a=1)}, "hook, drop b")
        since = events.mark()
        await harness.refresh(name)
        await events.wait_for(lambda e: e.namespace == name and e.hook == "PreSync", since=since)
        served.go_away()
        app = await harness.wait_app(name, settled_at(harness, second))
        assert app["status"]["operationState"]["phase"] == "Succeeded"

        latest = served.repo.push(files(c=0), "add c")
        app = await refresh_while_away(harness, name)
        assert_last_known(app, served, latest, {"a"}, syncs=2)

        served.come_back()
        await harness.refresh(name)
        app = await harness.wait_app(name, settled_at(harness, latest))
        history = app["status"]["history"]
        assert [h["revision"] for h in history] == [first, second, latest]
        await events.catch_up(name)
        assert events.deleted(name) == {("ConfigMap", "b")}
        hooks = events.created(name, "Job")
        assert len(hooks) == 2, hooks  # the sync to `second` and the one to `latest`
        assert all(len(uids) == 1 for uids in hooks.values()), hooks


@pytest.mark.parametrize("served", ["http"], indirect=True)
async def test_a_force_pushed_history_converges_to_the_new_head(
    harness: Harness, served: ServedRepo
) -> None:
    name = "outage-rewrite"
    base = served.repo.push(files(a=0, b=0), "two objects")
    await harness.client.apply(fault_app(name, served.url))
    await harness.wait_app(name, settled_at(harness, base))
    known = served.repo.push(files(c=0), "add c")
    await harness.refresh(name)
    await harness.wait_app(name, settled_at(harness, known))

    async with EventLog(harness.client, WATCHED) as events:
        served.go_away()
        # The history is rewritten while the server is away: `known` leaves main.
        clone = served.repo.clone
        git("reset", "-q", "--hard", base, cwd=clone)
        (clone / "app/d.yaml").write_text(configmap("d"))
        (clone / "app/a.yaml").write_text(configmap("a", 2))
        git("add", "app", cwd=clone)
        git("commit", "-q", "-m", "rewritten: add d, change a", cwd=clone)
        rewritten = git("rev-parse", "HEAD", cwd=clone)
        served.repo.force_push("main", rewritten)
        app = await refresh_while_away(harness, name)
        assert_last_known(app, served, rewritten, {"a", "b", "c"}, syncs=2)

        served.come_back()
        await harness.refresh(name)
        app = await harness.wait_app(name, settled_at(harness, rewritten))
        assert [h["revision"] for h in app["status"]["history"]] == [base, known, rewritten]
        assert {r["name"] for r in app["status"]["resources"]} == {"a", "b", "d"}
        live_a = await harness.client.get("v1", "ConfigMap", "a", name)
        assert live_a["data"]["wave"] == "2"
        await events.catch_up(name)
        assert events.deleted(name) == {("ConfigMap", "c")}


@pytest.mark.parametrize("served", ["git"], indirect=True)
async def test_a_sync_that_errors_while_the_repository_is_away_is_retried(
    harness: Harness, served: ServedRepo
) -> None:
    """Argo CD retries an operation that ended in Error as it does one that Failed."""
    name = "outage-retry"
    first = served.repo.push(files(a=0), "one object")
    await harness.client.apply(application(name, served.url, name))
    await harness.client.patch(*APPLICATION, name, harness.namespace, manual_sync(first))
    await harness.wait_app(name, settled_at(harness, first))

    served.go_away()
    unseen = served.repo.push(files(b=0), "add b")
    request = manual_sync(unseen)
    request["operation"]["retry"] = {"limit": 5, "backoff": {"duration": "1s", "factor": 1}}
    await harness.client.patch(*APPLICATION, name, harness.namespace, request)
    app = await harness.wait_app(name, lambda a: operation_phase(a) == "Error")
    message = app["status"]["operationState"]["message"]
    assert message.startswith("ComparisonError: "), message
    assert served.address in message, message

    served.come_back()
    app = await harness.wait_app(name, settled_at(harness, unseen))
    assert app["status"]["operationState"]["retryCount"] >= 1
    assert [h["revision"] for h in app["status"]["history"]] == [first, unseen]


@pytest.mark.parametrize("served", ["http"], indirect=True)
async def test_a_controller_started_while_the_repository_is_away_deletes_nothing(
    management: Harness, served: ServedRepo, tmp_path: Path
) -> None:
    """A new controller with no mirror of the repository yet (a fresh pod) keeps everything."""
    harness = management
    name = "outage-cold"
    first = served.repo.push(files(a=0, b=0), "two objects")
    async with running_controller(harness, tmp_path / "first"):
        await harness.client.apply(fault_app(name, served.url))
        await harness.wait_app(name, settled_at(harness, first))

    async with EventLog(harness.client, WATCHED) as events:
        served.go_away()
        unseen = served.repo.push({"app/b.yaml": None}, "remove b")
        async with running_controller(harness, tmp_path / "second"):
            app = await refresh_while_away(harness, name)
            assert_last_known(app, served, unseen, {"a", "b"}, syncs=1)
            assert events.deleted(name) == set()

            served.come_back()
            await harness.refresh(name)
            app = await harness.wait_app(name, settled_at(harness, unseen))
            assert [h["revision"] for h in app["status"]["history"]] == [first, unseen]
            await events.catch_up(name)
            assert events.deleted(name) == {("ConfigMap", "b")}


@pytest.mark.parametrize("served", ["http"], indirect=True)
async def test_a_fetch_cut_in_the_middle_leaves_nothing_half_done(
    harness: Harness, served: ServedRepo
) -> None:
    """The server goes away one megabyte into a fetch: last known state, then convergence."""
    name = "outage-cut"
    first = served.repo.push(files(a=0), "one object")
    await harness.client.apply(fault_app(name, served.url))
    await harness.wait_app(name, settled_at(harness, first))

    # A commit whose fetch takes several megabytes (random data does not compress).
    noise = base64.b64encode(random.Random(SEED).randbytes(6 << 20)).decode()
    large = served.repo.push({"blobs/noise.txt": noise, **files(b=0)}, "add b and noise")
    cut = served.gate.cut_after(1 << 20)
    async with EventLog(harness.client, WATCHED) as events:
        app = await refresh_while_away(harness, name)
        assert cut.is_set(), "the fetch never reached the cut"
        served.go_away()
        assert_last_known(app, served, large, {"a"}, syncs=1)

        served.come_back()
        await harness.refresh(name)
        app = await harness.wait_app(name, settled_at(harness, large))
        assert {r["name"] for r in app["status"]["resources"]} == {"a", "b"}
        assert events.deleted(name) == set()
