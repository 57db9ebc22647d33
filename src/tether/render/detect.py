"""Which tool renders a source, decided as Argo CD decides it.

1. A chart from a Helm repository (``chart`` set) is Helm.
2. An explicit block wins: ``helm``, ``kustomize``, ``directory`` or ``plugin``; more
   than one of them is an error, as in Argo CD.
3. Otherwise the application folder is looked at: a ``kustomization.yaml``,
   ``kustomization.yml`` or ``Kustomization`` means Kustomize, else a file whose name
   ends in ``Chart.yaml`` means Helm, and anything else is a directory of YAML, JSON and
   Jsonnet files. (Argo CD walks the folder in name order and the last match wins, so a
   folder with both a chart and a kustomization is Kustomize.)
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from tether.model import ApplicationSource
from tether.render.errors import RenderError

#: File names that make a folder a kustomization, in kustomize's own lookup order.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class Tool(StrEnum):
    """How a source is rendered; values are Argo CD's ``ApplicationSourceType``."""

    HELM = "Helm"
    KUSTOMIZE = "Kustomize"
    DIRECTORY = "Directory"
    PLUGIN = "Plugin"


def explicit_tool(source: ApplicationSource, *, subject: str) -> Tool | None:
    """The tool the source names with an explicit block, if any."""
    named = [
        tool
        for tool, block in (
            (Tool.HELM, source.helm),
            (Tool.KUSTOMIZE, source.kustomize),
            (Tool.DIRECTORY, source.directory),
            (Tool.PLUGIN, source.plugin),
        )
        if block is not None
    ]
    if len(named) > 1:
        raise RenderError(
            subject,
            "multiple application sources defined: " + ", ".join(t.value for t in named),
        )
    return named[0] if named else None


def detect_tool(source: ApplicationSource, app_dir: Path | None, *, subject: str) -> Tool:
    """The tool for ``source``, whose files (for a Git source) are in ``app_dir``."""
    if source.is_helm_repository:
        return Tool.HELM
    explicit = explicit_tool(source, subject=subject)
    if explicit is not None:
        return explicit
    if app_dir is None:
        raise RenderError(subject, "a Git source needs a checkout to detect its tool")
    if not app_dir.is_dir():
        return Tool.DIRECTORY  # the renderer reports the missing folder
    if kustomization_file(app_dir) is not None:
        return Tool.KUSTOMIZE
    if any(entry.name.endswith("Chart.yaml") and entry.is_file() for entry in app_dir.iterdir()):
        return Tool.HELM
    return Tool.DIRECTORY


def kustomization_file(folder: Path) -> Path | None:
    """The kustomization file of ``folder``, or ``None`` if it has none."""
    for name in KUSTOMIZATION_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None
