"""The CustomResourceDefinitions of Application, AppProject and ApplicationSet.

The manifests are package data (``tether/model/crds/*.yaml``), written for tether: their
schemas are structural, type the fields tether reads and keep every other field
(``x-kubernetes-preserve-unknown-fields``), so that any manifest Argo CD accepts is stored
unchanged by a cluster that enforces them.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Final

import yaml

#: The CRD manifests, in the order they are installed.
CRD_FILES: Final = ("application.yaml", "appproject.yaml", "applicationset.yaml")


def load_crds() -> tuple[dict[str, Any], ...]:
    """The three CRD objects, freshly parsed (callers may modify them)."""
    folder = resources.files("tether.model").joinpath("crds")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crds = []
    for name in CRD_FILES:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        parsed = yaml.load(text, Loader=loader)  # the C or Python *safe* loader
        # The manifests share schema fragments through YAML anchors; a JSON round trip
        # gives every node its own object, so that editing one leaves the others alone.
        crds.append(json.loads(json.dumps(parsed)))
    return tuple(crds)


def crd_for_kind(kind: str) -> dict[str, Any]:
    """The CRD object defining ``kind`` (``Application``, ``AppProject``, ``ApplicationSet``)."""
    for crd in load_crds():
        if crd["spec"]["names"]["kind"] == kind:
            return crd
    raise KeyError(f"no CRD defines kind {kind!r}")


def version_schema(crd: dict[str, Any], version: str = "v1alpha1") -> dict[str, Any]:
    """The ``openAPIV3Schema`` of one version of a CRD."""
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
            return schema
    raise KeyError(f"{crd['metadata']['name']} has no version {version!r}")
