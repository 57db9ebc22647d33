"""The CRDs are structural and store every fixture manifest unchanged.

Two small walkers stand in for the API server: one checks the rules of a structural
schema, the other lists the fields a server would prune from an object. Types, enums
and required fields are checked with ``jsonschema``, which ignores the
``x-kubernetes-*`` extensions exactly as a plain OpenAPI validator does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tether.model import AppProject, load_crds
from tether.model.crd import crd_for_kind, version_schema
from tether.model.project import default_project

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "model"
FIXTURES = sorted(p.name for p in TESTDATA.glob("*.yaml"))
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"


def structural_problems(node: dict[str, Any], path: str = "") -> list[str]:
    """Where a schema breaks the rules of a structural schema (empty when it does not)."""
    problems = []
    typed = node.get("type") or node.get(INT_OR_STRING) or node.get(PRESERVE)
    if not typed:
        problems.append(f"{path or '<root>'}: no type")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties and additionalProperties together")
    if ("properties" in node or "additionalProperties" in node) and node.get("type") != "object":
        problems.append(f"{path}: fields on a non-object")
    for keyword in ("allOf", "anyOf", "oneOf", "not", "$ref", "nullable"):
        if keyword in node:
            problems.append(f"{path}: {keyword} is not used by these schemas")
    for name in node.get("required", []):
        if name not in node.get("properties", {}):
            problems.append(f"{path}: required field {name} is not declared")
    if node.get("type") == "array":
        items = node.get("items")
        if not isinstance(items, dict):
            problems.append(f"{path}: array without a single items schema")
        else:
            problems += structural_problems(items, f"{path}[]")
    for name, child in node.get("properties", {}).items():
        problems += structural_problems(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        problems += structural_problems(node["additionalProperties"], f"{path}.*")
    return problems


def pruned_fields(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """The fields of ``value`` an API server enforcing ``schema`` would drop."""
    dropped = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, child in value.items():
            where = f"{path}.{key}"
            if key in properties:
                dropped += pruned_fields(properties[key], child, where)
            elif isinstance(extra, dict):
                dropped += pruned_fields(extra, child, where)
            elif not schema.get(PRESERVE):
                dropped.append(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            dropped += pruned_fields(schema["items"], item, f"{path}[{index}]")
    return dropped


def violations(manifest: dict[str, Any]) -> list[str]:
    """Type, enum and required-field errors, plus fields the server would prune."""
    schema = version_schema(crd_for_kind(manifest["kind"]))
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(manifest)
    ]
    # metadata is ObjectMeta, pruned by its own rules, never by the CRD's schema.
    body = {k: v for k, v in manifest.items() if k != "metadata"}
    return errors + [f"pruned {field}" for field in pruned_fields(schema, body)]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TESTDATA / name).read_text())
    return data


def test_three_crds_with_argo_cd_names() -> None:
    names = {
        crd["metadata"]["name"]: (
            crd["spec"]["names"]["kind"],
            crd["spec"]["names"]["shortNames"],
            crd["spec"]["scope"],
            crd["spec"]["group"],
            [v["name"] for v in crd["spec"]["versions"]],
        )
        for crd in load_crds()
    }
    assert names == {
        "applications.argoproj.io": (
            "Application",
            ["app", "apps"],
            "Namespaced",
            "argoproj.io",
            ["v1alpha1"],
        ),
        "appprojects.argoproj.io": (
            "AppProject",
            ["appproj", "appprojs"],
            "Namespaced",
            "argoproj.io",
            ["v1alpha1"],
        ),
        "applicationsets.argoproj.io": (
            "ApplicationSet",
            ["appset", "appsets"],
            "Namespaced",
            "argoproj.io",
            ["v1alpha1"],
        ),
    }


def test_printer_columns_and_subresources_follow_argo_cd() -> None:
    (app_version,) = crd_for_kind("Application")["spec"]["versions"]
    columns = [
        (c["name"], c["jsonPath"], c.get("priority", 0))
        for c in app_version["additionalPrinterColumns"]
    ]
    assert columns == [
        ("Sync Status", ".status.sync.status", 0),
        ("Health Status", ".status.health.status", 0),
        ("Revision", ".status.sync.revision", 10),
        ("Project", ".spec.project", 10),
    ]
    # Argo CD writes an Application's status through the main resource; ApplicationSet
    # has a status subresource.
    assert app_version.get("subresources", {}).get("status") is None
    (appset_version,) = crd_for_kind("ApplicationSet")["spec"]["versions"]
    assert appset_version["subresources"] == {"status": {}}


@pytest.mark.parametrize("kind", ["Application", "AppProject", "ApplicationSet"])
def test_schemas_are_structural(kind: str) -> None:
    schema = version_schema(crd_for_kind(kind))
    assert structural_problems(schema) == []
    assert schema["properties"]["metadata"] == {"type": "object"}


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_is_stored_unchanged(name: str) -> None:
    assert violations(load(name)) == []


def test_objects_tether_writes_are_accepted() -> None:
    assert violations(default_project("argocd").to_dict()) == []
    data = load("appproject-windows-roles.yaml")
    assert violations(AppProject.from_dict(data).to_dict()) == []


@pytest.mark.parametrize(
    ("name", "change", "complaint"),
    [
        (
            "application-helm.yaml",
            {"syncPolicy": {"syncOptions": "CreateNamespace=true"}},
            "syncOptions",
        ),
        ("application-helm.yaml", {"destination": None}, "destination"),
        ("application-helm.yaml", {"revisionHistoryLimit": "ten"}, "revisionHistoryLimit"),
        ("appproject-windows-roles.yaml", {"clusterResourceWhitelist": [{"kind": "*"}]}, "group"),
        (
            "applicationset-list.yaml",
            {"syncPolicy": {"applicationsSync": "all"}},
            "applicationsSync",
        ),
        ("applicationset-list.yaml", {"template": None}, "template"),
    ],
)
def test_schemas_reject_what_tether_would_reject(
    name: str, change: dict[str, Any], complaint: str
) -> None:
    manifest = load(name)
    for key, value in change.items():
        if value is None:
            manifest["spec"].pop(key)
        else:
            manifest["spec"][key] = value
    problems = violations(manifest)
    assert problems
    assert complaint in " ".join(problems)


def test_unknown_spec_fields_from_newer_argo_cd_are_kept() -> None:
    manifest = load("application-helm.yaml")
    manifest["spec"]["sourceHydrator"] = {"drySource": {"repoURL": "r", "path": "p"}}
    manifest["spec"]["source"]["helm"]["someFutureOption"] = True
    assert violations(manifest) == []


def test_the_loader_returns_fresh_unshared_objects() -> None:
    first, second = load_crds(), load_crds()
    first[0]["spec"]["group"] = "changed"
    assert second[0]["spec"]["group"] == "argoproj.io"
    # Schema fragments written once (YAML anchors) are separate objects once loaded.
    spec = version_schema(second[0])["properties"]["spec"]["properties"]
    spec["source"]["properties"]["path"]["type"] = "integer"
    assert spec["sources"]["items"]["properties"]["path"]["type"] == "string"


def test_the_walkers_catch_what_a_server_would() -> None:
    manifest = load("application-helm.yaml")
    manifest["spec"]["destination"]["cluster"] = "prod"
    assert violations(manifest) == ["pruned .spec.destination.cluster"]
    bad_schema = {
        "type": "object",
        "properties": {
            "a": {},
            "b": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
        },
        "required": ["c"],
    }
    assert structural_problems(bad_schema) == [
        ": required field c is not declared",
        ".a: no type",
        ".b: properties and additionalProperties together",
    ]
