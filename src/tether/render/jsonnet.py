"""Rendering the ``.jsonnet`` files of a directory application with gojsonnet.

Each file is evaluated with the Application's ``directory.jsonnet`` options, as Argo CD
evaluates it: ``extVars`` and ``tlas`` (strings, or Jsonnet code when ``code: true``),
with ``$VAR`` / ``${VAR}`` in their values replaced from the build environment
(``ARGOCD_APP_NAME``, ...; see :mod:`tether.render.envsubst`), and ``libs`` (folders
relative to the repository root) as library search paths. A file may produce an
object, an array of objects or a ``List``; the result is flattened into objects.

Imports are confined to the repository. The import callback resolves ``import``,
``importstr`` and ``importbin`` first against the importing file's folder, then
against the library paths (the application folder, then ``libs``, searched last to
first as go-jsonnet does). It refuses absolute paths (``import '/etc/passwd'``),
relative paths that climb above the repository root (``importstr '../../..'``), and
any symlink on the way whose target leaves the repository.

Why a worker process: gojsonnet evaluates in Go, inside one C call that has no
Python-level interruption point, so a thread running it can be neither cancelled nor
killed, and a runaway program keeps a core and its memory for as long as it likes.
Worse, some programs take the whole process down: a ``tailstrict`` recursion grows
the Go stack to its 1 GB ceiling and the Go runtime then aborts the process, which in
a thread would be tether itself. Evaluation therefore runs in a child Python process
started through :mod:`tether.render.process`, which gives it a timeout that kills it,
an output cap and a scrubbed environment; the child also caps its own data segment
(``RLIMIT_DATA``, which the Go runtime honours, unlike ``RLIMIT_AS`` whose address
space reservations it needs), so a memory-hungry program dies early instead of
starving the node. All files of one render share one child, so the start-up cost
(about 0.05 s) is paid once per render. The child runs this same module
(``python -m tether.render.jsonnet REQUEST``).
"""

from __future__ import annotations

import json
import os
import posixpath
import resource
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tether
from tether.render.envsubst import expand
from tether.render.errors import (
    ManifestError,
    ManifestLimitError,
    PathEscapeError,
    RenderError,
    ToolError,
    ToolTimeoutError,
    truncate,
)
from tether.render.paths import follow_symlinks, repo_relative, resolve_in_repo

# The worker process runs this module too, once per render: its start-up is the cost
# of every Jsonnet render, so the module-level imports are the light ones the worker
# needs. The parent side imports the process runner and the YAML reader (asyncio,
# PyYAML, orjson: over 0.1 s together) where it uses them.
if TYPE_CHECKING:
    from tether.model import JsonnetSource, JsonnetVar

MiB = 1024 * 1024
#: Where the ``tether`` package lives, so the worker imports the same code.
_PACKAGE_PARENT = Path(tether.__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class JsonnetLimits:
    """Bounds for one render's Jsonnet evaluation.

    ``timeout`` covers all files of the render; ``max_output`` is the total JSON the
    files may produce; ``max_stack`` is gojsonnet's call-depth limit, which turns a
    plain runaway recursion into an error long before the timeout.
    """

    timeout: float = 60.0
    max_output: int = 10 * MiB
    max_input: int = 10 * MiB
    max_stack: int = 500
    max_memory: int = 1024 * MiB


async def render_jsonnet(
    root: Path,
    app_path: Path,
    files: Sequence[Path],
    options: JsonnetSource,
    *,
    env: Mapping[str, str] | None = None,
    limits: JsonnetLimits = JsonnetLimits(),
) -> list[dict[str, Any]]:
    """Evaluate ``files`` and return the objects they produce, in file order.

    ``root`` is the repository's real path, ``app_path`` the application folder and
    ``files`` the ``.jsonnet`` files (already filtered by include/exclude), all inside
    ``root``. ``env`` is the build environment substituted into variable values.
    Raises :class:`PathEscapeError` for a confined import or library path,
    :class:`ManifestError` for an evaluation error or output that is not objects, and
    :class:`ManifestLimitError` past the output cap.
    """
    if not files:
        return []
    subject = repo_relative(root, app_path)
    libs = [
        repo_relative(root, resolve_in_repo(root, root, lib, subject=subject))
        for lib in options.libs
    ]
    request = {
        "root": str(root),
        "files": [repo_relative(root, f) for f in files],
        "jpaths": [repo_relative(root, app_path), *libs],
        "ext_vars": _variables(options.ext_vars, env, code=False),
        "ext_codes": _variables(options.ext_vars, env, code=True),
        "tla_vars": _variables(options.tlas, env, code=False),
        "tla_codes": _variables(options.tlas, env, code=True),
        "max_stack": limits.max_stack,
        "max_output": limits.max_output,
        "max_input": limits.max_input,
        "max_memory": limits.max_memory,
    }
    outputs = await _evaluate_in_worker(root, request, limits, subject)
    from tether.render.yamlio import YamlLimits, load_json, to_objects

    objects: list[dict[str, Any]] = []
    for name, text in outputs:
        documents = load_json(text, name=name, limits=YamlLimits(max_bytes=limits.max_output))
        objects.extend(to_objects(_flatten(documents), name=name))
    return objects


def _variables(
    items: Sequence[JsonnetVar], env: Mapping[str, str] | None, *, code: bool
) -> dict[str, str]:
    return {v.name: expand(v.value, env or {}) for v in items if v.code is code}


def _flatten(documents: list[Any]) -> list[Any]:
    """A top-level array becomes its elements; ``to_objects`` then flattens ``List``."""
    out: list[Any] = []
    for document in documents:
        out.extend(document if isinstance(document, list) else [document])
    return out


async def _evaluate_in_worker(
    root: Path, request: dict[str, Any], limits: JsonnetLimits, subject: str
) -> list[tuple[str, str]]:
    from tether.render.process import Limits, Sandbox, ToolOutputLimitError

    # The reply is JSON text re-encoded as a JSON string: allow for escaping overhead.
    cap = 2 * limits.max_output + MiB
    async with Sandbox() as sandbox:
        request_file = sandbox.root / "request.json"
        request_file.write_text(json.dumps(request))
        argv = [sys.executable, "-s", "-B", "-m", __name__, str(request_file)]
        try:
            result = await sandbox.run(
                argv,
                cwd=root,
                env={"PYTHONPATH": str(_PACKAGE_PARENT)},
                limits=Limits(timeout=limits.timeout, max_output=cap),
                subject=subject,
                check=False,
            )
        except ToolTimeoutError as error:
            # Name the evaluator rather than the Python interpreter that hosts it.
            raise ToolTimeoutError(subject, "jsonnet", limits.timeout) from error
        except ToolOutputLimitError as error:
            raise ManifestLimitError(
                subject, f"jsonnet output exceeds {limits.max_output} bytes"
            ) from error
    if result.exit_code == 1:
        # A Python error in the worker itself (its traceback is in stderr).
        raise ToolError(subject, "jsonnet worker", result.exit_code, result.stderr)
    if result.exit_code != 0:
        # The Go runtime aborts the process (SIGABRT) on stack exhaustion and when the
        # memory cap is hit; its message is at the start of a long goroutine dump.
        raise ManifestLimitError(
            subject,
            f"jsonnet evaluation aborted (exit status {result.exit_code}): it exceeded the "
            f"memory limit of {limits.max_memory} bytes or the Go stack limit, "
            "usually through runaway recursion",
        )
    try:
        reply = json.loads(result.stdout)
        failure = reply.get("error")
        if failure is not None:
            raise _error_from(failure)
        return [(str(name), str(text)) for name, text in reply["outputs"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ToolError(subject, "jsonnet worker", 0, "unreadable reply") from error


def _error_from(failure: Mapping[str, str]) -> RenderError:
    kind, file = failure["kind"], failure["file"]
    if kind == "escape":
        return PathEscapeError(file, failure["path"], failure["reason"])
    if kind == "limit":
        return ManifestLimitError(file, failure["message"])
    return ManifestError(file, f"jsonnet evaluation failed: {truncate(failure['message'])}")


# --- the worker side -----------------------------------------------------------------


class _ImportRefusedError(Exception):
    """An import that leaves the repository; remembered so the parent gets its type."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"import {path!r} {reason}")
        self.path = path
        self.reason = reason


class _Importer:
    """gojsonnet's import callback, confined to the repository ``root``.

    Paths handed to and returned from gojsonnet are repository-relative, so traces
    and error messages name files as the repository does.
    """

    def __init__(self, root: Path, jpaths: Sequence[str], max_input: int) -> None:
        self.root = root
        self.jpaths = list(jpaths)
        self.max_input = max_input
        self.refused: _ImportRefusedError | None = None

    def __call__(self, folder: str, name: str) -> tuple[str, bytes]:
        try:
            return self._load(folder, name)
        except _ImportRefusedError as error:
            # Jsonnet turns any exception into an evaluation error; keep the first
            # refusal so that it is reported as a path escape, not a generic failure.
            self.refused = self.refused or error
            raise

    def _load(self, folder: str, name: str) -> tuple[str, bytes]:
        if name.startswith("/"):
            raise _ImportRefusedError(
                name, "is an absolute path; imports must stay in the repository"
            )
        for base in [folder, *reversed(self.jpaths)]:
            relative = posixpath.normpath(posixpath.join(base, name))
            if relative == ".." or relative.startswith("../"):
                raise _ImportRefusedError(name, "resolves outside the repository")
            try:
                real = follow_symlinks(self.root, self.root / relative, subject="", named=name)
            except PathEscapeError as error:
                raise _ImportRefusedError(name, error.reason) from None
            if real.is_file():
                size = real.stat().st_size
                if size > self.max_input:
                    raise RuntimeError(f"import {name!r} is {size} bytes, over the limit")
                return relative, real.read_bytes()
        raise RuntimeError(f"import {name!r} not found next to the file or in the library paths")


def _evaluate(request: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate every file of ``request``; the reply the parent reads from stdout."""
    import _gojsonnet  # imported here: only the worker needs the extension

    root = Path(request["root"])
    importer = _Importer(root, request["jpaths"], request["max_input"])
    outputs: list[tuple[str, str]] = []
    total = 0
    for name in request["files"]:
        try:
            _, source = importer(posixpath.dirname(name), posixpath.basename(name))
            text = _gojsonnet.evaluate_snippet(
                name,
                source.decode("utf-8"),
                max_stack=request["max_stack"],
                ext_vars=request["ext_vars"],
                ext_codes=request["ext_codes"],
                tla_vars=request["tla_vars"],
                tla_codes=request["tla_codes"],
                import_callback=importer,
            )
        except (RuntimeError, _ImportRefusedError, UnicodeDecodeError) as error:
            refused = importer.refused or (
                error if isinstance(error, _ImportRefusedError) else None
            )
            if refused is not None:
                return {
                    "error": {
                        "kind": "escape",
                        "file": name,
                        "path": refused.path,
                        "reason": refused.reason,
                    }
                }
            return {"error": {"kind": "jsonnet", "file": name, "message": str(error)}}
        total += len(text)
        if total > request["max_output"]:
            message = f"jsonnet output exceeds {request['max_output']} bytes"
            return {"error": {"kind": "limit", "file": name, "message": message}}
        outputs.append((name, text))
    return {"outputs": outputs}


def main(argv: Sequence[str]) -> int:
    """Worker entry point: evaluate the request file ``argv[0]``, reply on stdout."""
    with open(argv[0], encoding="utf-8") as handle:
        request = json.load(handle)
    limit = request["max_memory"]
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    json.dump(_evaluate(request), sys.stdout)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # Start-up of the worker: nothing inherited matters, the umask keeps files private.
    os.umask(0o077)
    raise SystemExit(main(sys.argv[1:]))
