"""``tether login``, ``logout`` and ``context``: the config file, prompts and secrets."""

from __future__ import annotations

import stat
from pathlib import Path

import yaml
from clitools import Tether


def test_login_keeps_the_token_in_a_private_file_and_never_prints_it(
    tether: Tether, config: Path
) -> None:
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = yaml.safe_load(config.read_text())
    context = tether.url.removeprefix("http://")
    assert saved["current-context"] == context
    assert saved["contexts"] == [{"name": context, "server": tether.url, "user": context}]
    token = saved["users"][0]["auth-token"]
    assert token.count(".") == 2  # a JWT

    listed = tether.run("context", config=config)
    assert listed.stdout.splitlines()[1].split() == ["*", context, tether.url, "admin"]
    assert token not in listed.stdout
    assert tether.password not in listed.stdout


def test_without_a_terminal_there_is_no_prompt(tether: Tether, tmp_path: Path) -> None:
    config = tmp_path / "config"
    refused = tether.run("login", tether.url, config=config)
    assert refused.code == 2
    assert refused.stdout == ""
    assert "no password; pass --password or set TETHER_PASSWORD" in refused.stderr
    assert not config.exists()

    wrong = tether.run("login", tether.url, "--password", "not-the-password", config=config)
    assert wrong.code == 2
    assert wrong.stderr.startswith(f"error: failed to log in to {tether.url} as admin: ")
    assert "not-the-password" not in wrong.stderr
    assert not config.exists()


def test_login_from_the_environment_then_logout_revokes_the_session(
    tether: Tether, tmp_path: Path
) -> None:
    config = tmp_path / "nested" / "config"
    env = {"TETHER_PASSWORD": tether.password}
    logged_in = tether.run("login", tether.url, "--name", "dev", config=config, env=env)
    assert logged_in.code == 0, logged_in.stderr
    token = yaml.safe_load(config.read_text())["users"][0]["auth-token"]

    assert tether.run("logout", config=config).stdout == "logged out of 'dev'\n"
    saved = yaml.safe_load(config.read_text())
    assert saved["users"][0]["auth-token"] == ""
    assert stat.S_IMODE(config.stat().st_mode) == 0o600

    # The old token is revoked on the server, not only forgotten.
    revoked = tether.run(
        "app", "list", "--server", tether.url, "--auth-token", token, config=tmp_path / "none"
    )
    assert revoked.code == 2
    assert "log in again" in revoked.stderr
    assert token not in revoked.stderr

    unknown = tether.run("context", "prod", config=config)
    assert unknown.code == 2
    assert unknown.stderr == "error: failed to switch context: no context named prod\n"
