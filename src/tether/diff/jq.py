"""Bounded evaluation of jq path expressions (``ignoreDifferences.jqPathExpressions``).

Argo CD deletes ``del(<expression>)`` from both sides with a one-second budget per
expression. tether asks jq for ``[path(<expression>)]`` instead, which names the same
fields as concrete paths that the comparison, and ``RespectIgnoreDifferences``, can
both use. Evaluation happens in a long-lived worker process (:mod:`tether.diff.jqworker`)
so that a runaway expression is stopped by killing the worker, after which a fresh one
is started for the next request.
"""

from __future__ import annotations

import atexit
import os
import pathlib
import re
import selectors
import subprocess
import sys
import threading
import time
from typing import Any

import jq
import orjson

from tether.diff.errors import JqError, JqTimeoutError
from tether.diff.pointer import Path

#: Argo CD's default budget for one expression on one object.
DEFAULT_TIMEOUT = 1.0
_WORKER = pathlib.Path(__file__).with_name("jqworker.py")
#: How long a new worker may take to start (interpreter and jq import), on a busy host.
STARTUP_TIMEOUT = 30.0

# jq quotes the offending value in runtime errors ("Cannot iterate over string
# ("s3cr3t")"); such snippets may be secret data and are cut from every message.
_VALUE_SNIPPET = re.compile(r"\b(null|boolean|number|string|array|object) \(.*?\)(?=[ ,:]|$)")


def scrub(message: str) -> str:
    """``message`` without the value snippets jq embeds in its errors."""
    return _VALUE_SNIPPET.sub(r"\1 (…)", message.strip().splitlines()[0] if message else "")


def check_expression(expression: str) -> None:
    """Compile ``expression``; :class:`ValueError` with jq's reason if it is invalid."""
    # The bare expression first, so that reported columns are the user's own; then the
    # form the worker runs, which also catches text that would escape the wrapper.
    for program in (expression, f"[path({expression})]"):
        try:
            jq.compile(program)
        except ValueError as error:
            first = next((ln.strip() for ln in str(error).splitlines() if ln.strip()), "")
            reason = first.removeprefix("jq: error: ").rstrip(":") or "invalid expression"
            raise ValueError(reason) from error


def _plain_element(element: object) -> bool:
    return isinstance(element, str) or (isinstance(element, int) and not isinstance(element, bool))


class JqRunner:
    """Evaluates path expressions in a killable worker, one request at a time.

    Thread-safe; the worker starts on first use. Runtime errors jq reports (for example
    iterating over a field the object does not have) mean "selects nothing", as in
    Argo CD; a timeout raises :class:`JqTimeoutError`.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def paths(self, expression: str, document: Any) -> list[Path]:
        """Every path ``expression`` selects in ``document`` (empty on a runtime error)."""
        request = orjson.dumps({"expression": expression, "document": document}) + b"\n"
        with self._lock:
            reply = self._exchange(expression, request)
        if "error" in reply:
            return []
        # Slices (`.[1:3]`) yield object path elements, which name no single field.
        return [
            tuple(p)
            for p in reply["paths"]
            if isinstance(p, list) and p and all(_plain_element(e) for e in p)
        ]

    def close(self) -> None:
        """Stop the worker (a later request starts a new one)."""
        with self._lock:
            self._stop()

    def __enter__(self) -> JqRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _exchange(self, expression: str, request: bytes) -> dict[str, Any]:
        process = self._ensure_started(expression)
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(request)
            process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            self._stop()
            raise JqError(expression, "the jq worker exited unexpectedly") from error
        line = self._read_line(process, time.monotonic() + self.timeout)
        if line is None:
            self._stop()
            raise JqTimeoutError(expression, f"timed out after {self.timeout:g}s")
        if not line:
            self._stop()
            raise JqError(expression, "the jq worker exited (out of memory?)")
        reply: dict[str, Any] = orjson.loads(line)
        if "error" in reply:
            reply["error"] = scrub(str(reply["error"]))
        return reply

    def _read_line(self, process: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        """One reply line; ``None`` on timeout, ``b""`` if the worker died."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return b""
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _ensure_started(self, expression: str) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._buffer = b""
        process = self._process = subprocess.Popen(
            # Run by path in isolated mode: no package import to pay for at start-up,
            # and nothing from the working directory or PYTHON* variables on its path.
            [sys.executable, "-I", str(_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", "")},
        )
        if not self._read_line(process, time.monotonic() + STARTUP_TIMEOUT):
            self._stop()
            raise JqError(expression, "the jq worker did not start")
        return process

    def _stop(self) -> None:
        process, self._process = self._process, None
        self._buffer = b""
        if process is None:
            return
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


_shared: JqRunner | None = None
_shared_lock = threading.Lock()


def shared_runner() -> JqRunner:
    """The process-wide runner used when a caller does not inject its own."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = JqRunner()
            atexit.register(_shared.close)
        return _shared
