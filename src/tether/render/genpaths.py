"""``argocd.argoproj.io/manifest-generate-paths``: is a re-render needed at a new commit?

An Application may declare which paths its manifests depend on. When the commit moves
and none of the files changed between the old and the new commit lies under one of
those paths, the previous render is still right and nothing needs rendering. Argo CD's
rules:

- the annotation is a ``;``-separated list; empty items are ignored;
- a relative item is relative to each source's ``path`` (``.`` is the application
  folder itself, ``../common`` a sibling), an absolute item is relative to the
  repository root;
- an item matches a changed file that is the item itself or lies under it, or, when the
  item holds glob characters, a changed file that matches it as an Argo CD glob;
- no annotation means every change matters.

When :func:`needs_render` answers no, :meth:`tether.render.renderer.Renderer.carry_forward`
re-keys the cached render of the old commit to the new one, so the next refresh at the
new commit renders nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence

from tether.render.globs import glob_match

_GLOB_CHARS = frozenset("*?[{")


def refresh_paths(annotation: str | None, source_paths: Sequence[str]) -> tuple[str, ...]:
    """The repository-relative paths (or globs) an annotation value names."""
    if not annotation:
        return ()
    paths: list[str] = []
    for raw in annotation.split(";"):
        item = raw.strip()
        if not item:
            continue
        if item.startswith("/"):
            paths.append(_clean(item[1:]))
        else:
            paths.extend(_clean(posixpath.join(base, item)) for base in source_paths or ["."])
    return tuple(dict.fromkeys(paths))


def needs_render(
    annotation: str | None,
    source_paths: Sequence[str],
    changed_files: Iterable[str] | None,
) -> bool:
    """Whether a change touching ``changed_files`` requires a new render.

    ``changed_files`` are repository-relative paths changed between the last rendered
    commit and the new one; ``None`` means unknown, which always re-renders.
    """
    paths = refresh_paths(annotation, source_paths)
    if not paths or changed_files is None:
        return True
    return any(_matches(path, _clean(changed)) for changed in changed_files for path in paths)


def _matches(path: str, changed: str) -> bool:
    if _GLOB_CHARS.intersection(path):
        return glob_match(path, changed)
    return path == "." or changed == path or changed.startswith(path + "/")


def _clean(path: str) -> str:
    cleaned = posixpath.normpath(path.lstrip("/") or ".")
    return "." if cleaned in ("", "/") else cleaned
