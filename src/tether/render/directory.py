"""The directory renderer: a folder of YAML, JSON and Jsonnet files.

Files are chosen as Argo CD chooses them:

- ``.yaml``, ``.yml`` and ``.json`` files are manifests, ``.jsonnet`` files are
  evaluated (by the Jsonnet evaluator the renderer is given); other files are ignored;
- without ``recurse`` only the folder itself is read, with it every sub-folder too;
- names starting with ``.`` (``.git``, ``.github``, editor files) are skipped: CI
  workflows and editor files are YAML but not objects, and a file that is not an
  object is an error here (Argo CD silently ignores YAML it cannot read as objects);
- symlinks to anything but a regular file (FIFOs, devices) are ignored;
- the combined size of the YAML and JSON files is bounded (``max_directory_bytes``),
  checked before any file is read;
- ``include`` and ``exclude`` are Argo CD globs (see :mod:`tether.render.globs`)
  matched against the path relative to the application folder; ``exclude`` wins.

Files are read in lexical path order, so the output order is stable: the objects of
YAML and JSON files first, then those of Jsonnet files (all evaluated in one batch by
:func:`tether.render.jsonnet.render_jsonnet`). YAML streams may
hold many documents; empty ones are skipped and ``List`` kinds are flattened. A document
that is not a Kubernetes object is an error naming its file. SOPS-encrypted documents
(a top-level ``sops`` block) are decrypted with the configured age identities
(:mod:`tether.render.sops`); with none configured, or none that fits, the render fails.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from pyrage import x25519

from tether.model import DirectorySource, JsonnetSource
from tether.render.errors import ManifestLimitError
from tether.render.globs import glob_match
from tether.render.paths import repo_relative
from tether.render.sops import decrypt_objects, is_encrypted
from tether.render.yamlio import DEFAULT_LIMITS, YamlLimits, load_file, to_objects

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
JSONNET_SUFFIX = ".jsonnet"


class JsonnetEvaluator(Protocol):
    """Evaluates Jsonnet files of the repository into objects (``render_jsonnet``)."""

    async def __call__(
        self,
        root: Path,
        app_path: Path,
        files: Sequence[Path],
        options: JsonnetSource,
        *,
        env: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The objects ``files`` evaluate to, in file order (imports confined to ``root``)."""
        ...


def manifest_files(app_dir: Path, options: DirectorySource) -> Iterator[Path]:
    """The files of ``app_dir`` the directory renderer reads, in lexical path order."""

    def walk(folder: Path) -> Iterator[Path]:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            # Symlinked folders are not descended into: what they point at is read
            # through its own path, and walking them could loop.
            if entry.is_dir(follow_symlinks=False):
                if options.recurse:
                    yield from walk(path)
                continue
            if not path.name.endswith((*MANIFEST_SUFFIXES, JSONNET_SUFFIX)):
                continue
            relative = path.relative_to(app_dir).as_posix()
            if options.exclude and glob_match(options.exclude, relative):
                continue
            if options.include and not glob_match(options.include, relative):
                continue
            if entry.is_file():  # follows a checked, in-repo symlink to a file
                yield path

    yield from walk(app_dir)


async def render_directory(
    root: Path,
    app_dir: Path,
    options: DirectorySource,
    *,
    env: Mapping[str, str],
    jsonnet: JsonnetEvaluator,
    limits: YamlLimits = DEFAULT_LIMITS,
    max_total_bytes: int = 10 * 1024 * 1024,
    sops_identities: Sequence[x25519.Identity] = (),
) -> list[dict[str, Any]]:
    """The objects of the directory source at ``app_dir`` (inside the checkout ``root``).

    ``root`` and ``app_dir`` must already have passed :func:`~tether.render.paths.check_tree`.
    """
    files = await asyncio.to_thread(lambda: list(manifest_files(app_dir, options)))
    manifests = [path for path in files if not path.name.endswith(JSONNET_SUFFIX)]
    programs = [path for path in files if path.name.endswith(JSONNET_SUFFIX)]
    total = await asyncio.to_thread(lambda: sum(path.stat().st_size for path in manifests))
    if total > max_total_bytes:
        raise ManifestLimitError(
            repo_relative(root, app_dir),
            f"manifests total {total} bytes, more than the limit of {max_total_bytes} bytes",
        )
    objects = await asyncio.to_thread(_load_manifests, root, manifests, limits, sops_identities)
    if programs:
        objects.extend(await jsonnet(root, app_dir, programs, options.jsonnet, env=env))
    return objects


def _load_manifests(
    root: Path, files: list[Path], limits: YamlLimits, identities: Sequence[x25519.Identity]
) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for path in files:
        name = repo_relative(root, path)
        documents = load_file(path, name=name, limits=limits)
        if any(is_encrypted(document) for document in documents):
            documents = decrypt_objects(documents, identities, name=name)
        objects.extend(to_objects(documents, name=name))
    return objects
