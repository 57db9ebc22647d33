"""The jq worker process: evaluates path expressions on behalf of :mod:`tether.diff.jq`.

It is started by file path and imports nothing of tether, so that it starts fast.

jq runs inside the interpreter as native code that cannot be interrupted, so the
parent bounds it by running it here, in a child process it can kill. The protocol is
one JSON document per line in each direction: ``{"ready": true}`` once at start, then
``{"expression": ..., "document": ...}`` in, ``{"paths": [...]}`` or ``{"error": ...}``
out.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from typing import Any

import jq
import orjson

#: Address-space limit of the worker: a runaway expression fails instead of exhausting RAM.
MEMORY_LIMIT = 1 << 30
_MAX_PROGRAMS = 256


def _limit_memory() -> None:
    # Some platforms refuse RLIMIT_AS; the time limit still bounds the worker there.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def evaluate(programs: dict[str, Any], expression: str, document: object) -> dict[str, object]:
    """Every path ``expression`` selects in ``document``, or the error jq reported."""
    program = programs.get(expression)
    try:
        if program is None:
            program = jq.compile(f"[path({expression})]")
            if len(programs) >= _MAX_PROGRAMS:
                programs.clear()
            programs[expression] = program
        return {"paths": program.input_value(document).first()}
    except ValueError as error:
        return {"error": str(error)}


def main() -> None:
    """Serve requests from stdin until it closes."""
    _limit_memory()
    programs: dict[str, Any] = {}
    out = sys.stdout.buffer
    # Announce readiness, so that start-up time never counts against an expression.
    out.write(orjson.dumps({"ready": True}) + b"\n")
    out.flush()
    for line in sys.stdin.buffer:
        request = orjson.loads(line)
        reply = evaluate(programs, request["expression"], request["document"])
        out.write(orjson.dumps(reply) + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
