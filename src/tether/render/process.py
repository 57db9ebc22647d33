"""Running an external program on hostile input: ``helm``, ``kubectl kustomize``, plugins.

Every renderer that executes a program goes through :class:`Sandbox`. The rules:

- the command is an argv list, never a shell string;
- the program gets its own session and process group, so a timeout kills the
  program *and* everything it forked; when the program exits normally, anything it
  left behind in its group is killed too, so nothing outlives a render;
- stdin is ``/dev/null``;
- stdout is capped (10 MiB by default): going over kills the group and is an error,
  never a silently truncated manifest list; stderr keeps only its tail, for messages;
- the environment is rebuilt from nothing: ``PATH`` plus what the caller passes
  explicitly. ``HOME``, the XDG directories, ``TMPDIR``, ``KUBECONFIG`` and Helm's
  config/cache/data directories point into a private temporary directory, so no
  credentials or configuration of the tether process leak in, and nothing a program
  writes there survives: the directory is removed when the sandbox closes.

One :class:`Sandbox` may run several commands that share state (a plugin's ``init``
then ``generate``; ``helm registry login`` then ``helm pull``); :func:`run_process`
is the one-shot form.

What this does not do: it does not confine the file system or the network (that
needs namespaces or a container runtime), and a program that calls ``setsid`` itself
escapes the group kill. The timeout still bounds how long tether waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import cast

from tether.render.errors import STDERR_LIMIT, ToolError, ToolTimeoutError

#: Default wall-clock limit for one command.
DEFAULT_TIMEOUT = 90.0
#: Default cap on a command's stdout.
DEFAULT_MAX_OUTPUT = 10 * 1024 * 1024
#: How much of stderr is kept (the tail, where tools print their error) for messages;
#: the error tree keeps this much, so the tail survives into the message whole.
STDERR_TAIL = STDERR_LIMIT
#: Used when the tether process itself has no PATH.
_FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a command may run (seconds) and how much stdout it may write (bytes)."""

    timeout: float = DEFAULT_TIMEOUT
    max_output: int = DEFAULT_MAX_OUTPUT

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_output <= 0:
            raise ValueError("limits must be positive")


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """What a finished command produced.

    ``stderr`` is the decoded tail of the error stream (at most :data:`STDERR_TAIL`
    bytes), meant for messages; ``duration`` is wall-clock seconds.
    """

    argv: tuple[str, ...]
    exit_code: int
    stdout: bytes
    stderr: str
    duration: float


class ToolStartError(ToolError):
    """The program could not be started at all (missing, not executable, bad cwd)."""

    def __init__(self, subject: str, tool: str, reason: str) -> None:
        super().__init__(subject, tool, None, "")
        self.reason = reason
        self.cause = f"{tool} could not be started: {reason}"
        self.args = (subject, self.cause)


class ToolOutputLimitError(ToolError):
    """The program wrote more than its output cap; its process group was killed.

    Output is never truncated into a shorter manifest list: a cut stream could parse
    as fewer objects and lead to pruning.
    """

    def __init__(self, subject: str, tool: str, limit: int, stderr: str = "") -> None:
        super().__init__(subject, tool, None, stderr)
        self.limit = limit
        self.cause = f"{tool} wrote more than {limit} bytes of output and was killed"
        self.args = (subject, self.cause)


class _OutputOverflowError(Exception):
    """Raised inside the stdout reader when the cap is crossed."""


class Sandbox:
    """A private temporary home in which commands run with a scrubbed environment.

    Use as an async context manager; the directory (:attr:`root`) and everything in it
    is removed on exit. :attr:`home` is the ``HOME`` programs see, which callers may
    prepare (e.g. write a Helm ``registry/config.json``) before running commands.
    """

    def __init__(self, *, base_path: str | None = None) -> None:
        """Create the sandbox; ``base_path`` is the ``PATH`` programs see (default: ours)."""
        self._base_path = base_path
        self._root: Path | None = None

    async def __aenter__(self) -> Sandbox:
        self._root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tether-run-"))
        for sub in ("home", "tmp", "config", "cache", "data"):
            (self._root / sub).mkdir(mode=0o700)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        root, self._root = self._root, None
        if root is not None:
            await asyncio.to_thread(shutil.rmtree, root, True)

    @property
    def root(self) -> Path:
        """The sandbox's temporary directory (only while the sandbox is open)."""
        if self._root is None:
            raise RuntimeError("sandbox is not open")
        return self._root

    @property
    def home(self) -> Path:
        """The ``HOME`` directory programs see."""
        return self.root / "home"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The complete environment a command gets: the private dirs, PATH, then ``extra``."""
        root = self.root
        env = {
            "PATH": self._base_path or os.environ.get("PATH") or _FALLBACK_PATH,
            "HOME": str(root / "home"),
            "TMPDIR": str(root / "tmp"),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_CACHE_HOME": str(root / "cache"),
            "XDG_DATA_HOME": str(root / "data"),
            "HELM_CONFIG_HOME": str(root / "config" / "helm"),
            "HELM_CACHE_HOME": str(root / "cache" / "helm"),
            "HELM_DATA_HOME": str(root / "data" / "helm"),
            # A kubeconfig that does not exist: nothing run here may reach a cluster
            # through the operator's credentials.
            "KUBECONFIG": str(root / "no-kubeconfig"),
            "LANG": "C.UTF-8",
        }
        for key, value in (extra or {}).items():
            if not key or "=" in key or "\0" in key or "\0" in value:
                raise ValueError(f"invalid environment variable name or value for {key!r}")
            env[key] = value
        return env

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        limits: Limits = Limits(),
        check: bool = True,
        subject: str = "",
    ) -> ProcessResult:
        """Run ``argv`` in ``cwd`` and return its result.

        ``subject`` names what is being rendered in error messages (default: the
        program). Raises :class:`~tether.render.errors.ToolTimeoutError`,
        :class:`ToolOutputLimitError`, :class:`ToolStartError` and, when ``check``, a
        :class:`~tether.render.errors.ToolError` for a non-zero exit status. Messages
        name the program, never its arguments, which may carry credentials.
        """
        if not argv:
            raise ValueError("argv must not be empty")
        argv = tuple(str(a) for a in argv)
        tool = Path(argv[0]).name
        subject = subject or tool
        environment = self.environment(env)
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            transport, collector = await loop.subprocess_exec(
                lambda: _Collector(loop, limits.max_output),
                *argv,
                cwd=cwd,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolStartError(subject, tool, exc.strerror or str(exc)) from exc
        try:
            code = await _supervise(transport, collector, limits, subject, tool)
        finally:
            if not collector.exited.done():
                # Timed out, over the cap or cancelled while the program still runs.
                # (Once it has exited and been swept, its pid may be reused: no kill.)
                _kill_group(transport.get_pid())
            transport.close()
        result = ProcessResult(
            argv=argv,
            exit_code=code,
            stdout=bytes(collector.stdout),
            stderr=collector.tail.decode("utf-8", "replace"),
            duration=time.monotonic() - started,
        )
        if check and result.exit_code != 0:
            raise ToolError(subject, tool, result.exit_code, result.stderr)
        return result


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    limits: Limits = Limits(),
    check: bool = True,
    subject: str = "",
) -> ProcessResult:
    """Run one command in a fresh :class:`Sandbox` (see :meth:`Sandbox.run`)."""
    async with Sandbox() as sandbox:
        return await sandbox.run(
            argv,
            cwd=cwd,
            env=env,
            limits=limits,
            check=check,
            subject=subject,
        )


def _kill_group(pgid: int) -> None:
    """SIGKILL a process group (the program leads its own, so its pgid is its pid)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class _Collector(asyncio.SubprocessProtocol):
    """Collects a child's output as it arrives and notes when it exits.

    A protocol rather than ``Process.wait()``: ``wait()`` only returns once the pipes
    close, and a grandchild holding them open would hide the program's own exit.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, max_output: int) -> None:
        self.stdout = bytearray()
        self.tail = bytearray()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.overflowed: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._max_output = max_output
        self._pid: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's process transport has the SubprocessTransport methods without being an
        # instance of the class, so the method is looked up rather than the type checked.
        self._pid = cast(asyncio.SubprocessTransport, transport).get_pid()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            if self.overflowed.done():
                return
            if len(self.stdout) + len(data) > self._max_output:
                # Stop the writer at once rather than buffering up to the timeout.
                self.overflowed.set_result(None)
                if self._pid is not None and not self.exited.done():
                    _kill_group(self._pid)
                return
            self.stdout += data
        else:
            # Keep only the end of stderr, where tools print the error that matters.
            self.tail += data
            del self.tail[:-STDERR_TAIL]

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def _supervise(
    transport: asyncio.SubprocessTransport,
    collector: _Collector,
    limits: Limits,
    subject: str,
    tool: str,
) -> int:
    """Wait for the program to exit and its pipes to drain; return its exit status."""
    try:
        async with asyncio.timeout(limits.timeout):
            await asyncio.wait(
                (collector.exited, collector.overflowed), return_when=asyncio.FIRST_COMPLETED
            )
            if not collector.overflowed.done():
                # Children left running would hold the pipes open and outlive the render.
                _kill_group(transport.get_pid())
                await collector.closed
    except TimeoutError:
        partial = collector.tail.decode("utf-8", "replace")
        raise ToolTimeoutError(subject, tool, limits.timeout, partial) from None
    if collector.overflowed.done():
        partial = collector.tail.decode("utf-8", "replace")
        raise ToolOutputLimitError(subject, tool, limits.max_output, partial)
    code = transport.get_returncode()
    assert code is not None
    return code
