"""The application list over every app: destination and auto-sync filters, orders, paging.

A module-wide server holds 50 Applications whose destination, auto-sync, health, sync
and last sync vary with their index, created in two batches a second apart (the later
half of the names first) so that creation order differs from name order. Expected
orders are written here from those inputs, independently of the server's code. Tests
that change apps use a server of their own.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import pytest_asyncio
from serverharness import Harness, application, running_server

from tether.kube import KubeClient
from tether.model import API_VERSION
from tether.server.views import SortBy, object_sort_key

pytestmark = pytest.mark.asyncio(loop_scope="session")

APPS = 50
IN_CLUSTER = "https://kubernetes.default.svc"
HEALTH = ["Degraded", "Missing", "Unknown", "Progressing", "Suspended", "Healthy"]
SYNC = ["OutOfSync", "Unknown", "Synced"]


@dataclass(frozen=True)
class Spec:
    """What app number ``index`` was given."""

    index: int

    @property
    def name(self) -> str:
        return f"app-{self.index:02d}"

    @property
    def destination(self) -> dict[str, str]:
        namespace = f"ns-{self.index % 5}"
        return [
            {"name": "in-cluster", "namespace": namespace},
            {"server": IN_CLUSTER, "namespace": namespace},
            {"server": "https://prod.example.com/", "namespace": namespace},
            {"name": "staging", "namespace": namespace},
        ][self.index % 4]

    @property
    def automated(self) -> dict[str, Any] | None:
        """On (present), off (``enabled: false``) or absent, in turn."""
        return [{}, {"enabled": False}, None][self.index % 3]

    @property
    def health(self) -> str:
        return HEALTH[(self.index * 5) % 6]

    @property
    def sync(self) -> str:
        return SYNC[(self.index * 2) % 3]

    @property
    def finished_at(self) -> str:
        """Even apps finished an operation (minutes scrambled); odd ones never did."""
        minute = (self.index * 7) % 50
        return f"2026-03-01T10:{minute:02d}:00Z" if self.index % 2 == 0 else ""

    @property
    def reconciled_at(self) -> str:
        return f"2026-03-02T08:00:{59 - self.index:02d}Z"

    def manifest(self) -> dict[str, Any]:
        manifest = application(self.name)
        manifest["spec"]["destination"] = self.destination
        if self.automated is not None:
            manifest["spec"]["syncPolicy"] = {"automated": self.automated}
        return manifest

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "health": {"status": self.health},
            "sync": {"status": self.sync},
            "reconciledAt": self.reconciled_at,
        }
        if self.finished_at:
            status["operationState"] = {
                "operation": {"sync": {"revision": "main"}},
                "phase": "Succeeded",
                "startedAt": self.finished_at,
                "finishedAt": self.finished_at,
            }
        return status


SPECS = [Spec(i) for i in range(APPS)]


@dataclass(frozen=True)
class Fleet:
    """The module's server and when each of its apps was created."""

    server: Harness
    created: dict[str, str]


async def set_status(server: Harness, name: str, status: dict[str, Any]) -> None:
    """Write an app's status and fold it into the server's cache (as the watch would)."""
    patched = await server.kube.patch(
        API_VERSION, "Application", name, server.namespace, {"status": status}
    )
    server.app.state.context.apps.observe(patched)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def fleet(kube: KubeClient) -> AsyncIterator[Fleet]:
    async with running_server(kube) as server:
        created: dict[str, str] = {}
        later, earlier = SPECS[: APPS // 2], SPECS[APPS // 2 :]
        for batch in (earlier, later):
            if created:
                await asyncio.sleep(1.0)  # creationTimestamp has a resolution of a second
            for spec in batch:
                obj = await server.create_app(spec.manifest())
                created[spec.name] = obj["metadata"]["creationTimestamp"]
                await set_status(server, spec.name, spec.status())
        yield Fleet(server, created)


async def list_page(server: Harness, **params: Any) -> tuple[list[str], str]:
    response = await server.http.get("/api/v1/applications", headers=server.auth(), params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [i["metadata"]["name"] for i in body["items"]], body["metadata"]["continue"]


async def list_all(server: Harness, page_size: int, **params: Any) -> list[str]:
    """Every page in turn, following the continue tokens (bounded)."""
    names, token = await list_page(server, limit=page_size, **params)
    for _ in range(APPS):
        if not token:
            return names
        more, token = await list_page(server, limit=page_size, **params, **{"continue": token})
        names += more
    raise AssertionError("the continue tokens never ran out")


def names(specs: list[Spec]) -> list[str]:
    return [s.name for s in specs]


def by(key: Callable[[Spec], Any], *, reverse: bool = False) -> list[str]:
    """Names sorted by ``key``, ties by name ascending (the list's documented tie-break)."""
    return names(sorted(sorted(SPECS, key=lambda s: s.name), key=key, reverse=reverse))


def expected_order(sort: str, created: dict[str, str]) -> list[str]:
    if sort == "name":
        return names(SPECS)
    if sort == "-name":
        return names(SPECS)[::-1]
    keys: dict[str, Callable[[Spec], Any]] = {
        "createdAt": lambda s: created[s.name],
        "syncedAt": lambda s: (s.finished_at, s.reconciled_at),
        "health": lambda s: HEALTH.index(s.health),
        "sync": lambda s: SYNC.index(s.sync),
    }
    return by(keys[sort.removeprefix("-")], reverse=sort.startswith("-"))


SORTS = ["name", "-name", "createdAt", "-createdAt", "syncedAt", "-syncedAt"]
SORTS += ["health", "-health", "sync", "-sync"]


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_walk_one_order_over_every_app(fleet: Fleet, sort: str) -> None:
    expected = expected_order(sort, fleet.created)
    whole, token = await list_page(fleet.server, sortBy=sort)
    assert whole == expected
    assert token == ""
    assert await list_all(fleet.server, 7, sortBy=sort) == expected


async def test_the_orders_say_what_they_promise(fleet: Fleet) -> None:
    created, _ = await list_page(fleet.server, sortBy="createdAt", limit=APPS // 2)
    assert set(created) == set(names(SPECS[APPS // 2 :]))  # the batch created first
    worst, _ = await list_page(fleet.server, sortBy="health", limit=9)
    assert {s.health for s in SPECS if s.name in worst} == {"Degraded"}
    recent, _ = await list_page(fleet.server, sortBy="-syncedAt", limit=1)
    assert recent == ["app-14"]  # minute 14 * 7 % 50 = 48, the latest
    never, _ = await list_page(fleet.server, sortBy="syncedAt", limit=1)
    assert never == ["app-49"]  # never synced, reconciled earliest


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({"destServer": "in-cluster"}, lambda s: s.index % 4 in (0, 1)),
        ({"destServer": IN_CLUSTER}, lambda s: s.index % 4 in (0, 1)),
        ({"destServer": "https://prod.example.com"}, lambda s: s.index % 4 == 2),
        ({"destServer": "staging"}, lambda s: s.index % 4 == 3),
        ({"destServer": ["staging", "https://prod.example.com/"]}, lambda s: s.index % 4 > 1),
        ({"destServer": "nowhere"}, lambda s: False),
        ({"destNamespace": "ns-1"}, lambda s: s.index % 5 == 1),
        ({"destNamespace": ["ns-1", "ns-4"]}, lambda s: s.index % 5 in (1, 4)),
        ({"autoSync": "true"}, lambda s: s.index % 3 == 0),
        ({"autoSync": "false"}, lambda s: s.index % 3 != 0),
        (
            {"destServer": "staging", "destNamespace": "ns-3", "autoSync": "true"},
            lambda s: s.index % 4 == 3 and s.index % 5 == 3 and s.index % 3 == 0,
        ),
    ],
)
async def test_destination_and_auto_sync_filters(
    fleet: Fleet, params: dict[str, Any], wanted: Callable[[Spec], bool]
) -> None:
    assert (await list_page(fleet.server, **params))[0] == names([s for s in SPECS if wanted(s)])


async def test_filters_and_order_combine_across_pages(fleet: Fleet) -> None:
    shown = await list_all(fleet.server, 3, sortBy="-health", destNamespace="ns-2")
    assert shown == [n for n in expected_order("-health", fleet.created) if n[-1] in "27"]


def token(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sortBy": "age"}, "sortBy"),
        ({"sortBy": "Name"}, "sortBy"),
        ({"autoSync": "sometimes"}, "autoSync"),
        ({"destServer": ["x"] * 101}, "destServer"),
        ({"continue": "not a token"}, "invalid continue token"),
        ({"continue": token("name", 7)}, "invalid continue token"),
        ({"continue": token("name", "a", "b")}, "invalid continue token"),
        ({"continue": token("health", "Degraded", "app-01")}, "issued for sortBy=health"),
        ({"sortBy": "-name", "continue": token("name", "app-10")}, "not sortBy=-name"),
    ],
)
async def test_bad_values_are_400(fleet: Fleet, params: dict[str, Any], message: str) -> None:
    response = await fleet.server.http.get(
        "/api/v1/applications", headers=fleet.server.auth(), params=params
    )
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


@pytest_asyncio.fixture(loop_scope="session")
async def small(kube: KubeClient) -> AsyncIterator[Harness]:
    """A server of its own with six apps (``app-00``..``app-05``), statuses set."""
    async with running_server(kube) as server:
        for spec in SPECS[:6]:
            await server.create_app(spec.manifest())
            await set_status(server, spec.name, spec.status())
        yield server


async def test_a_cached_page_is_not_served_after_an_app_changes(small: Harness) -> None:
    pages = small.app.state.context.pages
    first, _ = await list_page(small, sortBy="health", limit=2)
    assert first == ["app-00", "app-05"]  # Degraded, then Missing
    hits = pages.hits
    assert (await list_page(small, sortBy="health", limit=2))[0] == first
    assert pages.hits == hits + 1
    await set_status(small, "app-03", {"health": {"status": "Degraded"}})
    assert (await list_page(small, sortBy="health", limit=2))[0] == ["app-00", "app-03"]
    assert pages.hits == hits + 1


async def test_an_order_is_sorted_once_per_change_of_the_apps(small: Harness) -> None:
    apps = small.app.state.context.apps
    key = object_sort_key(SortBy.HEALTH)
    await list_page(small, sortBy="health", limit=2)
    sorted_once = apps.ordered(SortBy.HEALTH, key)
    await list_page(small, sortBy="health", limit=3)  # another page, computed: same order
    assert apps.ordered(SortBy.HEALTH, key) is sorted_once
    await set_status(small, "app-01", {"health": {"status": "Missing"}})
    assert apps.ordered(SortBy.HEALTH, key) is not sorted_once
    assert (await list_page(small, sortBy="health", limit=3))[0] == ["app-00", "app-01", "app-05"]


async def test_a_continue_token_keeps_its_place_when_apps_come_and_go(small: Harness) -> None:
    first, cont = await list_page(small, sortBy="-name", limit=3)
    assert first == ["app-05", "app-04", "app-03"]
    # One app lands before the page boundary (not shown again), one after it (shown).
    await small.create_app(Spec(9).manifest())
    await small.create_app(Spec(1).manifest() | {"metadata": {"name": "app-00a"}})
    gone = await small.get_app("app-02")
    await small.kube.delete(API_VERSION, "Application", "app-02", small.namespace)
    small.app.state.context.apps.observe(gone, deleted=True)
    rest, cont = await list_page(small, sortBy="-name", limit=3, **{"continue": cont})
    assert (rest, cont) == (["app-01", "app-00a", "app-00"], "")
