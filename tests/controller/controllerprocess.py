"""``tether controller`` as a child process, for crash and replica tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TETHER = str(Path(sys.executable).with_name("tether"))
READY = "tether controller running"
_STARTED = re.compile(r"tether\.controller\.appcontroller: (\S+): operation started")


@dataclass
class ControllerProcess:
    """One controller process; its log is kept in ``data_dir / "controller.log"``."""

    kubeconfig: Path
    data_dir: Path
    args: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "controller.log"

    def start(self, timeout: float = 30.0) -> ControllerProcess:
        """Start and wait (bounded) until the controller reports it is running."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [
                    TETHER,
                    "controller",
                    "--kubeconfig",
                    str(self.kubeconfig),
                    "--data-dir",
                    str(self.data_dir),
                    "--skip-install",
                    "--verbose",
                    *self.args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                text=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY in self.log_path.read_text()[offset:]:
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"controller did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """``kill -9``."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then ``kill -9`` if it does not stop within 15 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def operations_started(self) -> list[str]:
        """The apps (``namespace/name``) this controller started an operation for, in order."""
        return _STARTED.findall(self.log_path.read_text()) if self.log_path.exists() else []
