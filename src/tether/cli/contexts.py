"""The CLI's configuration file: servers, their tokens, and which one is current.

The file is YAML in the shape of ``argocd``'s own config (``contexts``, ``servers``,
``users``, ``current-context``), kept at ``~/.config/tether/config`` or wherever
``TETHER_CONFIG`` points. It holds session tokens, so it is written with mode 0600,
atomically (a temporary file renamed over the old one), and never printed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

#: Environment variable naming the config file (tests and several-config setups).
CONFIG_ENV = "TETHER_CONFIG"


class ConfigFileError(Exception):
    """The config file cannot be read or written, or names no such context."""


@dataclass(frozen=True)
class Context:
    """One server the CLI has logged in to, and the session token it holds."""

    name: str
    server: str
    username: str = ""
    auth_token: str = field(default="", repr=False)
    insecure: bool = False


@dataclass(frozen=True)
class CliConfig:
    """Every known context and the name of the current one (``""``: none)."""

    contexts: tuple[Context, ...] = ()
    current: str = ""

    def find(self, name: str) -> Context | None:
        """The context called ``name``, if there is one."""
        return next((c for c in self.contexts if c.name == name), None)

    def current_context(self) -> Context | None:
        """The current context, if one is set and still exists."""
        return self.find(self.current) if self.current else None

    def with_context(self, context: Context, *, make_current: bool = True) -> CliConfig:
        """This config with ``context`` added or replacing the one of its name."""
        others = tuple(c for c in self.contexts if c.name != context.name)
        current = context.name if make_current else self.current
        return CliConfig((*others, context), current)

    def without_context(self, name: str) -> CliConfig:
        """This config without context ``name`` (no longer current if it was)."""
        others = tuple(c for c in self.contexts if c.name != name)
        return CliConfig(others, "" if self.current == name else self.current)

    def switched_to(self, name: str) -> CliConfig:
        """This config with ``name`` as the current context."""
        if self.find(name) is None:
            raise ConfigFileError(f"failed to switch context: no context named {name}")
        return replace(self, current=name)


def config_path() -> Path:
    """Where the config file lives: ``$TETHER_CONFIG`` or ``~/.config/tether/config``."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tether" / "config"


def _as_list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigFileError(f"failed to read the config file: {key} must be a list of maps")
    return items


def parse_config(data: Any) -> CliConfig:
    """The config held by the parsed YAML document ``data``."""
    if data is None:
        return CliConfig()
    if not isinstance(data, dict):
        raise ConfigFileError("failed to read the config file: expected a map")
    servers = {str(s.get("server", "")): s for s in _as_list(data, "servers")}
    users = {str(u.get("name", "")): u for u in _as_list(data, "users")}
    contexts = []
    for item in _as_list(data, "contexts"):
        server = str(item.get("server", ""))
        user = users.get(str(item.get("user", ""))) or {}
        contexts.append(
            Context(
                name=str(item.get("name", "")),
                server=server,
                username=str(user.get("username", "")),
                auth_token=str(user.get("auth-token", "")),
                insecure=bool((servers.get(server) or {}).get("insecure", False)),
            )
        )
    return CliConfig(tuple(contexts), str(data.get("current-context") or ""))


def render_config(config: CliConfig) -> dict[str, Any]:
    """The YAML document for ``config`` (argocd's layout: a user per context)."""
    servers: dict[str, dict[str, Any]] = {}
    for context in config.contexts:
        entry = servers.setdefault(context.server, {"server": context.server})
        entry["insecure"] = entry.get("insecure", False) or context.insecure
    return {
        "contexts": [{"name": c.name, "server": c.server, "user": c.name} for c in config.contexts],
        "current-context": config.current,
        "servers": list(servers.values()),
        "users": [
            {"name": c.name, "username": c.username, "auth-token": c.auth_token}
            for c in config.contexts
        ],
    }


def load_config(path: Path | None = None) -> CliConfig:
    """The config in ``path`` (default :func:`config_path`); empty when there is no file."""
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return CliConfig()
    except OSError as error:
        raise ConfigFileError(f"failed to read {path}: {error.strerror or error}") from error
    try:
        return parse_config(yaml.safe_load(text))
    except yaml.YAMLError as error:
        raise ConfigFileError(f"failed to read {path}: not valid YAML") from error


def save_config(config: CliConfig, path: Path | None = None) -> Path:
    """Write ``config`` to ``path`` atomically, readable by its owner only (0600)."""
    path = path or config_path()
    text = yaml.safe_dump(render_config(config), sort_keys=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The temporary file is created 0600 (mkstemp), so the token is never exposed,
        # not even between writing and renaming.
        descriptor, temporary = tempfile.mkstemp(prefix=".config-", dir=path.parent)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigFileError(f"failed to write {path}: {error.strerror or error}") from error
    return path
