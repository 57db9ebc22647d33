"""A ``tether controller`` child process whose data directory sits on a disk that fills up.

Two ways to give one process a small disk, chosen at runtime by :func:`detect_mechanism`
(``TETHER_FAULT_DISK=tmpfs|fsize`` forces one, to exercise the fallback on a machine
that allows both):

``tmpfs``
    A real file system: the controller starts inside a private mount namespace
    (``unshare --mount``, with ``--user --map-root-user`` when not root) where a tmpfs
    of a few MiB is mounted over its data directory. Git mirrors, checkouts and render
    scratch space (``TMPDIR`` points inside it) all live there. The test fills it with
    a ballast file through ``/proc/<pid>/root`` (the controller's view of the file
    system) and frees it by deleting the ballast; writes past the end fail with
    ``ENOSPC``.
``fsize``
    For machines that forbid mount namespaces: ``RLIMIT_FSIZE`` set on the running
    controller with ``prlimit``. A write that would grow a file past the limit fails
    with ``EFBIG`` ("File too large"; the controller ignores ``SIGXFSZ``); raising the
    limit again frees the disk. It is a per-file cap, so the payloads the tests use are
    single large files.

Both are real I/O failures inside the unmodified controller; nothing in tether is
patched or mocked.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import enum
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

TETHER = str(Path(sys.executable).with_name("tether"))
READY = "tether controller running"
UNSHARE = shutil.which("unshare")
_PR_SET_PDEATHSIG = 1
_CHUNK = 1 << 20


class DiskMechanism(enum.StrEnum):
    """How the controller's disk is made small."""

    TMPFS = "tmpfs in a private mount namespace"
    FSIZE = "RLIMIT_FSIZE on the controller process"


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, even by ``kill -9``."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _namespace_prefix() -> list[str]:
    """``unshare`` arguments for a private mount namespace this process may mount in."""
    assert UNSHARE is not None
    if os.geteuid() == 0:
        return [UNSHARE, "--mount", "--propagation", "private"]
    return [UNSHARE, "--user", "--map-root-user", "--mount", "--propagation", "private"]


def _mount_then_exec(mount_point: Path, size: int) -> list[str]:
    """A command prefix: mount a ``size``-byte tmpfs on ``mount_point``, then run the rest."""
    script = 'mount -t tmpfs -o "size=$1" tether-disk "$0" && mkdir "$0/tmp" && shift && exec "$@"'
    return [*_namespace_prefix(), "sh", "-c", script, str(mount_point), str(size)]


@functools.cache
def detect_mechanism() -> DiskMechanism:
    """The mechanism this machine allows (``TETHER_FAULT_DISK`` overrides)."""
    forced = os.environ.get("TETHER_FAULT_DISK", "")
    if forced:
        return DiskMechanism[forced.upper()]
    if UNSHARE is None:
        return DiskMechanism.FSIZE
    with tempfile.TemporaryDirectory(prefix="tether-disk-probe-") as folder:
        try:
            probe = subprocess.run(
                [*_mount_then_exec(Path(folder), 1 << 20), "true"],
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return DiskMechanism.FSIZE
    return DiskMechanism.TMPFS if probe.returncode == 0 else DiskMechanism.FSIZE


@dataclass
class SmallDiskController:
    """``tether controller`` with its data directory (and ``TMPDIR``) on a small disk.

    The log goes to ``log_path``, outside the small disk, so that filling the disk
    never silences the controller.
    """

    kubeconfig: Path
    data_dir: Path
    log_path: Path
    size: int = 8 << 20
    mechanism: DiskMechanism = field(default_factory=detect_mechanism)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def view(self) -> Path:
        """The data directory as the controller sees it (through its mount namespace)."""
        if self.mechanism is DiskMechanism.TMPFS:
            assert self.process is not None
            return Path(f"/proc/{self.process.pid}/root") / self.data_dir.relative_to("/")
        return self.data_dir

    @property
    def ballast(self) -> Path:
        return self.view / "ballast"

    def start(self, timeout: float = 30.0) -> SmallDiskController:
        """Start and wait (bounded) until the controller reports it is running."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "tmp").mkdir(exist_ok=True)  # used as is by the fsize mechanism
        command = [
            TETHER,
            "controller",
            "--kubeconfig",
            str(self.kubeconfig),
            "--data-dir",
            str(self.data_dir),
            "--skip-install",
            "--verbose",
        ]
        if self.mechanism is DiskMechanism.TMPFS:
            command = [*_mount_then_exec(self.data_dir, self.size), *command]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(self.data_dir / "tmp")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY in self.log_path.read_text(errors="replace"):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"controller did not start: {self.log_text()[-2000:]}")

    def alive(self) -> bool:
        """Whether the controller process still runs."""
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def fill(self, leave: int) -> None:
        """Leave only about ``leave`` bytes writable: a ballast file, or a lowered FSIZE limit."""
        if self.mechanism is DiskMechanism.FSIZE:
            assert self.process is not None
            # Only the soft limit: raising it again needs no privilege.
            _, hard = resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE, (leave, hard))
            return
        with self.ballast.open("ab") as ballast:
            while (room := self.free_bytes() - leave) > 0:
                try:
                    ballast.write(b"\0" * min(room, _CHUNK))
                    ballast.flush()
                except OSError:
                    break  # the controller wrote meanwhile: full enough

    def release(self) -> None:
        """Free the disk again: delete the ballast, or lift the FSIZE limit."""
        if self.mechanism is DiskMechanism.FSIZE:
            assert self.process is not None
            _, hard = resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(self.process.pid, resource.RLIMIT_FSIZE, (hard, hard))
            return
        self.ballast.unlink(missing_ok=True)

    def leftovers(self) -> list[str]:
        """What the controller left in its scratch space (``TMPDIR``) and Git mirrors' packs.

        Checkouts and render scratch folders are removed after every refresh, and a fetch
        that failed keeps no partial packfile: on a full disk, leftovers would keep it full.
        """
        found = [entry.name for entry in (self.view / "tmp").iterdir()]
        for pack in (self.view / "git" / "mirrors").glob("*/objects/pack/*"):
            if not pack.name.startswith("pack-"):
                found.append(str(pack.relative_to(self.view)))
        return sorted(found)

    def free_bytes(self) -> int:
        """Bytes still free on the controller's disk."""
        stats = os.statvfs(self.view)
        return stats.f_bavail * stats.f_frsize

    def stop(self) -> None:
        """SIGTERM, then ``kill -9`` if it does not stop within 15 s."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """``kill -9``."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)
