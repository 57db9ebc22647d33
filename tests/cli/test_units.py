"""The CLI's pieces without a server: config file, URLs, flags, views, waits and diffs."""

from __future__ import annotations

import copy
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from clitools import TESTDATA, free_port

from tether.cli.app_diff import object_diff, project
from tether.cli.app_operation_cmd import parse_resource
from tether.cli.app_views import application_row, summary_pairs
from tether.cli.client import ApiClient, ApiError, Connection, connect, normalize_server
from tether.cli.contexts import CliConfig, ConfigFileError, Context, load_config, save_config
from tether.cli.output import CommandError
from tether.cli.proj_cmd import window_rows
from tether.cli.waiting import Target, TimedOut, progress_lines, unmet, wait_for


def synced_app() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((TESTDATA / "application-synced.yaml").read_text())
    return loaded


def test_config_round_trip_is_private(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "config"
    config = CliConfig().with_context(Context("a", "https://a", "admin", "tok-a"))
    config = config.with_context(Context("b", "http://b:8080", "ci", "tok-b", insecure=True))
    save_config(config, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(path) == config
    assert load_config(path).current_context() == Context("b", "http://b:8080", "ci", "tok-b", True)
    assert load_config(path).switched_to("a").current == "a"
    assert load_config(path).without_context("b").current == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2", "not valid YAML"),
        ("- just a list", "expected a map"),
        ("contexts: 3", "contexts must be a list of maps"),
    ],
)
def test_a_broken_config_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=message):
        load_config(path)


def test_flags_win_over_the_context_and_reuse_its_token() -> None:
    config = CliConfig().with_context(Context("dev", "http://dev:8080", "admin", "tok"))
    assert connect(config=config).token == "tok"
    assert connect("dev:8080", config=config).server == "https://dev:8080"
    assert connect("http://dev:8080", config=config).token == "tok"
    assert connect("http://dev:8080", "other", config=config).token == "other"
    with pytest.raises(ApiError, match="no current context; run tether login"):
        connect(config=CliConfig())


@pytest.mark.parametrize(
    ("server", "plaintext", "url"),
    [
        ("localhost:8080", False, "https://localhost:8080"),
        ("localhost:8080", True, "http://localhost:8080"),
        ("http://127.0.0.1:8080/api/v1", False, "http://127.0.0.1:8080"),
        ("https://cd.example/", False, "https://cd.example"),
    ],
)
def test_server_urls(server: str, plaintext: bool, url: str) -> None:
    assert normalize_server(server, plaintext=plaintext) == url


@pytest.mark.parametrize(
    ("flag", "resource"),
    [
        ("apps:Deployment:web", ("apps", "Deployment", "", "web")),
        (":ConfigMap:team/settings", ("", "ConfigMap", "team", "settings")),
    ],
)
def test_resource_flags(flag: str, resource: tuple[str, str, str, str]) -> None:
    fields = ("group", "kind", "namespace", "name")
    assert parse_resource(flag) == dict(zip(fields, resource, strict=True))


@pytest.mark.parametrize("flag", ["Deployment", "apps:Deployment", "apps::web", "a:b:c:d"])
def test_bad_resource_flags(flag: str) -> None:
    with pytest.raises(CommandError, match="expected GROUP:KIND:NAME"):
        parse_resource(flag)


def test_list_row_and_summary_of_a_synced_app() -> None:
    app = synced_app()
    assert application_row(app, wide=True) == {
        "name": "demo",
        "cluster": "https://kubernetes.default.svc",
        "namespace": "default",
        "project": "default",
        "status": "Synced",
        "health": "Healthy",
        "syncpolicy": "Manual",
        "conditions": "<none>",
        "repo": "file:///srv/git/guestbook.git",
        "path": "app",
        "target": "main",
        "revision": "93a1eae",
    }
    assert ("Sync Status", "Synced to main (93a1eae)") in summary_pairs(app)
    assert ("Phase", "Succeeded") in summary_pairs(app)


def running(app: dict[str, Any]) -> dict[str, Any]:
    app = copy.deepcopy(app)
    app["operation"] = {"sync": {"revision": "main"}}
    app["status"]["operationState"]["phase"] = "Running"
    app["status"]["health"]["status"] = "Progressing"
    return app


@pytest.mark.parametrize(
    ("target", "missing_when_running"),
    [
        (Target(), ["health", "operation"]),
        (Target(sync=True), []),
        (Target(health=True), ["health"]),
        (Target(operation=True), ["operation"]),
    ],
)
def test_what_a_wait_still_misses(target: Target, missing_when_running: list[str]) -> None:
    assert unmet(synced_app(), target) == []
    assert unmet(running(synced_app()), target) == missing_when_running


def test_a_sync_waits_for_a_new_operation_not_the_previous_one() -> None:
    app = synced_app()
    previous = app["status"]["operationState"]
    assert unmet(app, Target(operation=True, previous_operation=previous)) == ["operation"]
    newer = copy.deepcopy(app)
    newer["status"]["operationState"]["startedAt"] = "2026-11-22T05:00:00Z"
    assert unmet(newer, Target(operation=True, previous_operation=previous)) == []


def test_progress_lines_tell_phase_and_objects() -> None:
    assert progress_lines(synced_app()) == [
        "demo: sync Synced, health Healthy",
        "demo: operation Succeeded: successfully synced (all tasks run)",
        "demo: ConfigMap default/settings [Sync] Synced configmap/settings configured",
        "demo: ConfigMap default/settings Synced",
    ]


def test_the_diff_shows_only_fields_git_declares() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "s"},
        "data": {"a": "1"},
    }
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "s", "uid": "u", "resourceVersion": "9", "labels": {"x": "y"}},
        "data": {"a": "2", "extra": "kept out"},
    }
    assert project(live, desired) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "s"},
        "data": {"a": "2"},
    }
    assert object_diff(live, desired).splitlines()[2:] == [
        "@@ -1,6 +1,6 @@",
        " apiVersion: v1",
        " data:",
        "-  a: '2'",
        "+  a: '1'",
        " kind: ConfigMap",
        " metadata:",
        "   name: s",
    ]
    assert object_diff(desired, desired) == ""


def test_a_wait_rides_out_an_unreachable_server_until_its_deadline() -> None:
    now = [0.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    with (
        ApiClient(Connection(f"http://127.0.0.1:{free_port()}")) as client,
        pytest.raises(ApiError, match="cannot reach") as raised,
    ):
        wait_for(client, "demo", Target(), 3, live=False, clock=lambda: now[0], sleep=sleep)
    assert not isinstance(raised.value, TimedOut)
    assert naps == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("now", "statuses"),
    [
        (datetime(2026, 6, 3, 10, 0, tzinfo=UTC), ["Active", "Inactive"]),  # a Wednesday
        (datetime(2026, 6, 6, 10, 0, tzinfo=UTC), ["Inactive", "Inactive"]),  # a Saturday
        (datetime(2026, 1, 1, 12, 0, tzinfo=UTC), ["Active", "Active"]),  # New Year, Thursday
    ],
)
def test_sync_window_rows(now: datetime, statuses: list[str]) -> None:
    project = yaml.safe_load((TESTDATA / "appproject-windows.yaml").read_text())
    rows = window_rows(project, now)
    assert [row[1] for row in rows] == statuses
    assert rows[1] == [
        "1", statuses[1], "deny", "0 0 1 1 *", "24h", "<none>", "team-a", "<none>",
        "Enabled", "Europe/Berlin",
    ]  # fmt: skip
