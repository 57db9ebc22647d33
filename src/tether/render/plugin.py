"""Config management plugins: Argo CD's ``ConfigManagementPlugin``, run as commands.

A plugin is declared exactly as for an Argo CD sidecar::

    apiVersion: argoproj.io/v1alpha1
    kind: ConfigManagementPlugin
    metadata: {name: my-plugin}
    spec:
      version: v1.0                       # optional; the plugin is then "my-plugin-v1.0"
      init: {command: [sh, -c], args: [...]}        # optional
      generate: {command: [sh, -c], args: [...]}    # required
      discover:                           # optional; without it, only selection by name
        fileName: "./*.cue"               # or find.glob ("**" allowed) or find.command
      parameters: {...}                   # UI announcements; kept, not interpreted
      preserveFileMode: false

Plugins are read from a folder of YAML files (:func:`load_plugin_folder`) or from a
settings mapping such as a ConfigMap's ``data`` (:func:`load_plugin_mapping`).

Selection follows Argo CD: ``spec.source.plugin.name`` names a plugin as ``<name>`` or,
when it has a version, ``<name>-<version>``; a named plugin that has discovery rules
must also match them. Without a name, the first plugin (in name order) whose discovery
rules match is used. Discovery evaluates only the first of ``fileName``, ``find.glob``
and ``find.command`` that is set; the command matches when it exits 0 and prints
something.

Running: the repository is copied to a private folder (file modes reset to 0644/0755
unless ``preserveFileMode``), so a plugin can neither change the shared checkout nor
receive executable files it did not ask for; ``init`` then ``generate`` run in the
application's folder of that copy through :mod:`tether.render.process` (timeout,
output cap, scrubbed environment). Their environment is the build environment given
by the caller (``ARGOCD_APP_NAME``, ``KUBE_VERSION``, ...), each ``plugin.env`` entry as
``ARGOCD_ENV_<NAME>`` with build variables expanded in its value, the parameters as
``ARGOCD_APP_PARAMETERS`` (JSON) and as ``PARAM_<NAME>``, ``PARAM_<NAME>_<INDEX>`` and
``PARAM_<NAME>_<KEY>`` variables (names upper-cased, other characters turned into
``_``). ``generate`` must print a YAML or JSON stream of objects.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.model import PluginParameter, PluginSource
from tether.render.envsubst import expand
from tether.render.errors import ManifestError, RenderError
from tether.render.paths import repo_relative
from tether.render.process import Limits, Sandbox
from tether.render.scratch import scratch_copy
from tether.render.yamlio import load_documents, load_file, to_objects

API_VERSION = "argoproj.io/v1alpha1"
KIND = "ConfigManagementPlugin"
#: Per-command limits: Argo CD's default ``ARGOCD_EXEC_TIMEOUT`` (90 s) and a 10 MiB cap.
DEFAULT_LIMITS = Limits()
_NOT_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_]")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class PluginConfigError(RenderError):
    """A plugin declaration is malformed; ``subject`` names where it was read from."""


class PluginSelectionError(RenderError):
    """No plugin could be chosen for an application (unknown name, nothing matches)."""


@dataclass(frozen=True, slots=True)
class PluginCommand:
    """A command and its arguments (``command`` + ``args``, as Argo CD joins them)."""

    command: tuple[str, ...]
    args: tuple[str, ...] = ()

    @property
    def argv(self) -> tuple[str, ...]:
        """The full argument vector."""
        return (*self.command, *self.args)


@dataclass(frozen=True, slots=True)
class Discovery:
    """``spec.discover``: how a plugin recognises applications it can render."""

    file_name: str = ""
    glob: str = ""
    command: PluginCommand | None = None

    @property
    def empty(self) -> bool:
        """Whether there are no rules (the plugin is then only used by name)."""
        return not (self.file_name or self.glob or self.command)


@dataclass(frozen=True, slots=True)
class ConfigManagementPlugin:
    """One plugin declaration; ``origin`` names the file or key it came from."""

    name: str
    generate: PluginCommand
    version: str = ""
    init: PluginCommand | None = None
    discover: Discovery = field(default_factory=Discovery)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    preserve_file_mode: bool = False
    origin: str = ""

    @property
    def full_name(self) -> str:
        """The name an Application uses: ``<name>-<version>``, or ``<name>`` unversioned."""
        return f"{self.name}-{self.version}" if self.version else self.name

    @classmethod
    def from_dict(cls, data: Any, origin: str) -> ConfigManagementPlugin:
        """Parse one declaration, raising :class:`PluginConfigError` naming ``origin``."""
        if not isinstance(data, Mapping):
            raise PluginConfigError(origin, "a plugin declaration must be a mapping")
        if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
            raise PluginConfigError(origin, f"expected apiVersion {API_VERSION}, kind {KIND}")
        name = _mapping(data.get("metadata"), origin, "metadata").get("name")
        if not isinstance(name, str) or not name:
            raise PluginConfigError(origin, "metadata.name is required")
        spec = _mapping(data.get("spec"), origin, "spec")
        generate = _command(spec.get("generate"), origin, "spec.generate")
        if generate is None:
            raise PluginConfigError(origin, "spec.generate.command is required")
        discover = _mapping(spec.get("discover"), origin, "spec.discover")
        find = _mapping(discover.get("find"), origin, "spec.discover.find")
        version = spec.get("version") or ""
        return cls(
            name=name,
            version=str(version),
            init=_command(spec.get("init"), origin, "spec.init"),
            generate=generate,
            discover=Discovery(
                file_name=str(discover.get("fileName") or ""),
                glob=str(find.get("glob") or ""),
                command=_command(find, origin, "spec.discover.find"),
            ),
            parameters=_mapping(spec.get("parameters"), origin, "spec.parameters"),
            preserve_file_mode=spec.get("preserveFileMode") is True,
            origin=origin,
        )


def _mapping(value: Any, origin: str, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PluginConfigError(origin, f"{where} must be a mapping")
    return value


def _command(value: Any, origin: str, where: str) -> PluginCommand | None:
    block = _mapping(value, origin, where)
    command, args = block.get("command") or [], block.get("args") or []
    if not command:
        return None
    for key, items in (("command", command), ("args", args)):
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise PluginConfigError(origin, f"{where}.{key} must be a list of strings")
    return PluginCommand(tuple(command), tuple(args))


def load_plugin_folder(folder: Path) -> tuple[ConfigManagementPlugin, ...]:
    """Every plugin declared in the ``*.yaml``/``*.yml`` files of ``folder`` (not recursive)."""
    plugins: list[ConfigManagementPlugin] = []
    for path in sorted(folder.iterdir()):
        if path.suffix in (".yaml", ".yml") and path.is_file():
            for number, document in enumerate(load_file(path, name=path.name), start=1):
                plugins.append(ConfigManagementPlugin.from_dict(document, f"{path.name}#{number}"))
    return _unique(plugins)


def load_plugin_mapping(settings: Mapping[str, Any]) -> tuple[ConfigManagementPlugin, ...]:
    """Plugins from a mapping of key to declaration (YAML text, as in a ConfigMap, or a dict)."""
    plugins: list[ConfigManagementPlugin] = []
    for key in sorted(settings):
        value = settings[key]
        documents = load_documents(value, name=key) if isinstance(value, str | bytes) else [value]
        for number, document in enumerate(documents, start=1):
            plugins.append(ConfigManagementPlugin.from_dict(document, f"{key}#{number}"))
    return _unique(plugins)


def _unique(plugins: list[ConfigManagementPlugin]) -> tuple[ConfigManagementPlugin, ...]:
    seen: dict[str, str] = {}
    for plugin in plugins:
        if plugin.full_name in seen:
            raise PluginConfigError(
                plugin.origin,
                f"plugin {plugin.full_name} is also declared in {seen[plugin.full_name]}",
            )
        seen[plugin.full_name] = plugin.origin
    return tuple(sorted(plugins, key=lambda p: p.full_name))


def parameter_environment(parameters: Sequence[PluginParameter]) -> dict[str, str]:
    """``ARGOCD_APP_PARAMETERS`` and the ``PARAM_*`` variables, as Argo CD sets them."""
    listed: list[dict[str, Any]] = []
    env: dict[str, str] = {}
    for parameter in parameters:
        item: dict[str, Any] = {"name": parameter.name}
        prefix = "PARAM_" + _env_name(parameter.name)
        if parameter.string is not None:
            item["string"] = parameter.string
            env[prefix] = parameter.string
        if parameter.array is not None:
            item["array"] = list(parameter.array)
            env.update({f"{prefix}_{i}": v for i, v in enumerate(parameter.array)})
        if parameter.map is not None:
            item["map"] = dict(sorted(parameter.map.items()))  # Go sorts map keys
            env.update({f"{prefix}_{_env_name(k)}": v for k, v in parameter.map.items()})
        listed.append(item)
    # Go encodes an absent list as null, and plugins written for Argo CD expect that.
    env["ARGOCD_APP_PARAMETERS"] = json.dumps(listed or None, separators=(",", ":"))
    return env


def _env_name(name: str) -> str:
    return _NOT_NAME_CHARACTER.sub("_", name).upper()


class PluginRenderer:
    """Renders applications with the configured plugins.

    ``limits`` apply to each command (discovery, ``init``, ``generate``) separately, as
    Argo CD's ``ARGOCD_EXEC_TIMEOUT`` does.
    """

    def __init__(
        self, plugins: Sequence[ConfigManagementPlugin], *, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        """Use ``plugins`` (see :func:`load_plugin_folder`, :func:`load_plugin_mapping`)."""
        self.plugins = tuple(plugins)
        self.limits = limits

    async def render(
        self,
        root: Path,
        app_path: Path,
        source: PluginSource,
        *,
        build_env: Mapping[str, str],
    ) -> list[dict[str, Any]]:
        """Select a plugin for the application at ``app_path`` and return what it generates.

        ``root`` is the repository's real path; ``build_env`` the ``ARGOCD_APP_*`` and
        ``KUBE_*`` variables. Raises :class:`PluginSelectionError`, a
        :class:`~tether.render.errors.ToolError` when a command fails, times out or
        writes too much, and :class:`~tether.render.errors.ManifestError` when the output
        is not a stream of objects.
        """
        subject = repo_relative(root, app_path)
        env = self._environment(source, build_env, subject)
        async with scratch_copy(root) as copy, Sandbox() as sandbox:
            folder = copy / app_path.relative_to(root)
            plugin = await self._select(source.name, folder, sandbox, env, subject)
            if not plugin.preserve_file_mode:
                await asyncio.to_thread(_reset_modes, copy)
            run = sandbox.run
            if plugin.init is not None:
                await run(
                    plugin.init.argv, cwd=folder, env=env, limits=self.limits, subject=subject
                )
            result = await run(
                plugin.generate.argv, cwd=folder, env=env, limits=self.limits, subject=subject
            )
        name = f"plugin {plugin.full_name} output"
        try:
            return to_objects(load_documents(result.stdout, name=name), name=name)
        except ManifestError as error:
            raise error.about(subject) from error

    def _environment(
        self, source: PluginSource, build_env: Mapping[str, str], subject: str
    ) -> dict[str, str]:
        env = dict(build_env)
        for name, value in source.env:
            if not _ENV_NAME.fullmatch(name) or "\0" in value:
                raise RenderError(subject, f"plugin env entry {name!r} is not a valid variable")
            env["ARGOCD_ENV_" + name] = expand(value, build_env)
        env.update(parameter_environment(source.parameters))
        return env

    async def _select(
        self, name: str, folder: Path, sandbox: Sandbox, env: Mapping[str, str], subject: str
    ) -> ConfigManagementPlugin:
        if name:
            for plugin in self.plugins:
                if plugin.full_name == name:
                    if plugin.discover.empty or await self._matches(
                        plugin, folder, sandbox, env, subject
                    ):
                        return plugin
                    raise PluginSelectionError(
                        subject,
                        f"plugin {name} does not match the application (its discovery rules)",
                    )
            known = ", ".join(p.full_name for p in self.plugins) or "none"
            raise PluginSelectionError(subject, f"plugin {name} is not configured (known: {known})")
        for plugin in self.plugins:
            if not plugin.discover.empty and await self._matches(
                plugin, folder, sandbox, env, subject
            ):
                return plugin
        raise PluginSelectionError(subject, "no configured plugin's discovery rules match it")

    async def _matches(
        self,
        plugin: ConfigManagementPlugin,
        folder: Path,
        sandbox: Sandbox,
        env: Mapping[str, str],
        subject: str,
    ) -> bool:
        rules = plugin.discover
        if rules.file_name:
            return await asyncio.to_thread(_glob_matches, folder, rules.file_name, False, subject)
        if rules.glob:
            return await asyncio.to_thread(_glob_matches, folder, rules.glob, True, subject)
        assert rules.command is not None
        result = await sandbox.run(
            rules.command.argv,
            cwd=folder,
            env=env,
            limits=self.limits,
            check=False,
            subject=subject,
        )
        return result.exit_code == 0 and bool(result.stdout.strip())


def _glob_matches(folder: Path, pattern: str, recursive: bool, subject: str) -> bool:
    """Whether ``pattern`` matches anything under ``folder``; patterns may not leave it."""
    normalised = posixpath.normpath(pattern)
    if pattern.startswith("/") or normalised == ".." or normalised.startswith("../"):
        raise PluginSelectionError(subject, f"discovery pattern {pattern!r} leaves the application")
    matches = glob.iglob(pattern, root_dir=folder, recursive=recursive, include_hidden=True)
    return next(matches, None) is not None


def _reset_modes(root: Path) -> None:
    """Give every file 0644 and every folder 0755, as Argo CD does without preserveFileMode."""
    for current, dirs, files in os.walk(root):
        for name in dirs:
            path = os.path.join(current, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
        for name in files:
            path = os.path.join(current, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)
