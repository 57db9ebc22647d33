from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tether.localcluster.openapi import OpenAPIDocuments
from tether.localcluster.resources import BUILTIN
from tether.localcluster.schema import SchemaRegistry
from tether.tools import find_tool

DATA = Path(__file__).resolve().parents[3] / "testdata" / "localcluster" / "merge"
CRD: dict[str, Any] = yaml.load(
    (DATA / "customresourcedefinition-widgets.yaml").read_text(), Loader=yaml.CSafeLoader
)


class Widgets:
    """The served view of the fixture CRD, as discovery describes it."""

    group = "example.com"
    versions = ("v1",)
    kind = "Widget"
    plural = "widgets"
    namespaced = True
    status = True
    scale = None


@pytest.fixture
def served() -> list[Any]:
    return list(BUILTIN)


@pytest.fixture
def documents(served: list[Any]) -> tuple[SchemaRegistry, OpenAPIDocuments]:
    registry = SchemaRegistry()
    return registry, OpenAPIDocuments(registry, lambda: served)


def fetch(documents: OpenAPIDocuments, path: str, accept: str = "application/json") -> Any:
    served = documents.serve(path, accept)
    assert served is not None, path
    body, content_type = served
    assert content_type == "application/json"
    return orjson.loads(body)


def test_v3_index_addresses_each_group_version_by_hash(
    documents: tuple[SchemaRegistry, OpenAPIDocuments],
) -> None:
    _, docs = documents
    index = fetch(docs, "/openapi/v3")["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/networking.k8s.io/v1"} <= set(index)
    url = index["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    assert len(url.split("=")[1]) == 128
    assert fetch(docs, url)["openapi"] == "3.0.0"


def test_v3_document_carries_kinds_merge_keys_and_patch_parameters(
    documents: tuple[SchemaRegistry, OpenAPIDocuments],
) -> None:
    _, docs = documents
    document = fetch(docs, "/openapi/v3/apis/apps/v1")
    schemas = document["components"]["schemas"]
    assert schemas["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}
    ]
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert (
        containers["x-kubernetes-patch-merge-key"],
        containers["x-kubernetes-patch-strategy"],
    ) == ("name", "merge")
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] == {
        "type": "string",
        "format": "int-or-string",
    }
    assert schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["selector"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"}
    ]

    patch = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "kind": "Deployment",
        "version": "v1",
    }
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation"
    ).items()
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    scale = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"][
        "get"
    ]
    assert scale["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling",
        "kind": "Scale",
        "version": "v1",
    }


def test_every_reference_resolves_within_its_document(
    documents: tuple[SchemaRegistry, OpenAPIDocuments],
) -> None:
    _, docs = documents
    for path in ("/openapi/v3/api/v1", "/openapi/v3/apis/apps/v1"):
        document = fetch(docs, path)
        text = json.dumps(document)
        names = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
        assert names <= set(document["components"]["schemas"]), path


def test_v2_is_swagger_with_every_kind(documents: tuple[SchemaRegistry, OpenAPIDocuments]) -> None:
    _, docs = documents
    swagger = fetch(docs, "/openapi/v2")
    assert swagger["swagger"] == "2.0"
    assert (
        swagger["definitions"]["io.k8s.api.core.v1.Container"]["properties"]["ports"][
            "x-kubernetes-patch-merge-key"
        ]
        == "containerPort"
    )
    assert swagger["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"][
        "selector"
    ] == {
        "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
        "description": swagger["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"][
            "selector"
        ]["description"],
    }
    assert "/api/v1/namespaces/{namespace}/configmaps/{name}" in swagger["paths"]


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"),
        ("/openapi/v3/apis/nothing/v1", "application/json"),
        ("/openapi/v4", "application/json"),
    ],
)
def test_unservable_requests_get_none(
    documents: tuple[SchemaRegistry, OpenAPIDocuments], path: str, accept: str
) -> None:
    _, docs = documents
    assert docs.serve(path, accept) is None


def test_registering_a_crd_invalidates_and_publishes_its_documents(
    documents: tuple[SchemaRegistry, OpenAPIDocuments], served: list[Any]
) -> None:
    registry, docs = documents
    before = fetch(docs, "/openapi/v3")["paths"]
    assert "apis/example.com/v1" not in before
    registry.register_crd(CRD)
    served.append(Widgets())
    after = fetch(docs, "/openapi/v3")["paths"]
    assert after["api/v1"] == before["api/v1"], "unchanged group-versions keep their hash"
    widget = fetch(docs, "/openapi/v3/apis/example.com/v1")
    schema = widget["components"]["schemas"]["com.example.v1.Widget"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "kind": "Widget", "version": "v1"}
    ]
    assert schema["properties"]["spec"]["properties"]["parts"]["x-kubernetes-list-map-keys"] == [
        "id"
    ]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in widget["components"]["schemas"]
    assert "/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status" in widget["paths"]

    registry.unregister_crd("widgets.example.com")
    served.pop()
    assert "apis/example.com/v1" not in fetch(docs, "/openapi/v3")["paths"]


# -- the real kubectl against the local cluster ---------------------------------------


def run_kubectl(cluster: Any, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(find_tool("kubectl")), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_kubectl_explain_reads_builtin_and_custom_kinds(local_cluster_session: Any) -> None:
    explained = run_kubectl(local_cluster_session, "explain", "deployment.spec.strategy")
    assert "FIELD: strategy <DeploymentStrategy>" in explained
    assert "rollingUpdate\t<RollingUpdateDeployment>" in explained
    run_kubectl(
        local_cluster_session,
        "apply",
        "-f",
        "-",
        stdin=yaml.safe_dump(
            {
                **CRD,
                "metadata": {"name": "gizmos.merge.example.com"},
                "spec": {
                    **CRD["spec"],
                    "group": "merge.example.com",
                    "names": {"kind": "Gizmo", "plural": "gizmos", "singular": "gizmo"},
                },
            }
        ),
    )
    gizmo = run_kubectl(local_cluster_session, "explain", "gizmos.spec.parts")
    assert "FIELD: parts <[]Object>" in gizmo


def test_kubectl_client_side_apply_merges_lists_by_the_documented_keys(
    local_cluster_session: Any,
) -> None:
    namespace = "openapi-merge"
    run_kubectl(
        local_cluster_session,
        "apply",
        "-f",
        "-",
        stdin=yaml.safe_dump(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        ),
    )

    def deployment(containers: list[dict[str, Any]]) -> str:
        return yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": containers},
                    },
                },
            }
        )

    run_kubectl(
        local_cluster_session,
        "apply",
        "-f",
        "-",
        stdin=deployment(
            [{"name": "web", "image": "web:1"}, {"name": "proxy", "image": "envoy:1"}]
        ),
    )
    # Someone else adds a container; kubectl's patch, computed from the OpenAPI merge
    # keys, must delete only the container the configuration dropped.
    run_kubectl(
        local_cluster_session,
        "-n",
        namespace,
        "patch",
        "deployment",
        "web",
        "--type",
        "strategic",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"debug","image":"busybox"}]}}}}',
    )
    run_kubectl(
        local_cluster_session,
        "apply",
        "-f",
        "-",
        stdin=deployment([{"name": "web", "image": "web:2"}]),
    )
    live = json.loads(
        run_kubectl(
            local_cluster_session, "-n", namespace, "get", "deployment", "web", "-o", "json"
        )
    )
    containers = {c["name"]: c["image"] for c in live["spec"]["template"]["spec"]["containers"]}
    assert containers == {"debug": "busybox", "web": "web:2"}
