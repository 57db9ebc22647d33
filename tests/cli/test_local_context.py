"""``configure_local_context`` (for ``tether up``) and waits that time out, in-process."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from clitools import GitRepo, Tether

from tether.cli.client import ApiClient, connect
from tether.cli.contexts import CONFIG_ENV, load_config
from tether.cli.login_cmd import configure_local_context
from tether.cli.waiting import Target, TimedOut, wait_for


def test_a_local_server_becomes_the_current_context(
    tether: Tether, repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    context = configure_local_context(tether.url.removeprefix("http://"), "admin", tether.password)
    assert (context.name, context.server, context.username) == ("local", tether.url, "admin")
    assert load_config().current_context() == context
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    with ApiClient(connect()) as client:
        client.post(
            "/api/v1/applications",
            "create application never-synced",
            {
                "metadata": {"name": "never-synced"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo.url, "path": "guestbook", "targetRevision": "main"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
                },
            },
        )
        with pytest.raises(TimedOut, match=r"timed out after 0\.3s waiting for sync"):
            wait_for(client, "never-synced", Target(sync=True), 0.3, live=False, interval=0.1)
