"""The real kubectl against the local cluster: the flows users run every day."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from tether.tools import find_tool

from .conftest import RunningCluster

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "localcluster"
KUBECTL = str(find_tool("kubectl"))


class Kubectl:
    def __init__(self, cluster: RunningCluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        namespaced: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [KUBECTL, "--kubeconfig", str(self.cluster.kubeconfig)]
        if namespaced:
            cmd += ["-n", self.namespace]
        result = subprocess.run(
            [*cmd, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run("get", *args, "-o", "json").stdout)


@pytest.fixture
def kubectl(local_cluster_session: RunningCluster) -> Kubectl:
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    client = Kubectl(local_cluster_session, namespace)
    client.run(
        "apply",
        "-f",
        "-",
        namespaced=False,
        stdin=json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        ),
    )
    return client


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_version_reports_kubernetes_1_35(kubectl: Kubectl) -> None:
    out = json.loads(kubectl.run("version", "-o", "json", namespaced=False).stdout)
    assert out["serverVersion"]["gitVersion"].startswith("v1.35.")


def test_apply_creates_then_reports_unchanged(kubectl: Kubectl) -> None:
    manifest = str(TESTDATA / "deployment-initial.yaml")
    assert "created" in kubectl.run("apply", "-f", manifest).stdout
    assert "unchanged" in kubectl.run("apply", "-f", manifest).stdout
    obj = kubectl.json("deployment", "web", "--show-managed-fields")
    meta = obj["metadata"]
    assert meta["generation"] == 1
    assert meta["uid"]
    assert meta["creationTimestamp"]
    spec_owners = {m["manager"] for m in meta["managedFields"] if "f:spec" in m["fieldsV1"]}
    assert spec_owners == {"kubectl-client-side-apply"}


def test_server_side_apply_conflict_then_force(kubectl: Kubectl) -> None:
    manifest = str(TESTDATA / "deployment-initial.yaml")
    kubectl.run("apply", "--server-side", "-f", manifest)
    kubectl.run("scale", "deployment/web", "--replicas=5")
    conflict = kubectl.run("apply", "--server-side", "-f", manifest, check=False)
    assert conflict.returncode == 1
    assert "Apply failed with 1 conflict" in conflict.stderr
    assert ".spec.replicas" in conflict.stderr
    kubectl.run("apply", "--server-side", "--force-conflicts", "-f", manifest)
    assert kubectl.json("deployment", "web")["spec"]["replicas"] == 2


def test_diff_exit_codes(kubectl: Kubectl) -> None:
    kubectl.run("apply", "--server-side", "-f", str(TESTDATA / "deployment-initial.yaml"))
    same = kubectl.run(
        "diff", "--server-side", "-f", str(TESTDATA / "deployment-initial.yaml"), check=False
    )
    assert (same.returncode, same.stdout) == (0, "")
    changed = kubectl.run(
        "diff", "--server-side", "-f", str(TESTDATA / "deployment-changed.yaml"), check=False
    )
    assert changed.returncode == 1, changed.stderr
    assert "+        image: nginx:1.27" in changed.stdout.replace("  - ", "    ")


def test_get_output_formats(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "configmap-initial.yaml"))
    as_json = kubectl.json("configmap", "settings")
    assert as_json["data"] == {"mode": "fast"}
    as_yaml = kubectl.run("get", "configmap", "settings", "-o", "yaml").stdout
    assert "mode: fast" in as_yaml
    path = kubectl.run("get", "configmap", "settings", "-o", "jsonpath={.metadata.labels.tier}")
    assert path.stdout == "backend"
    table = kubectl.run("get", "configmaps", "-l", "tier=backend").stdout.splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE"]
    assert table[1].split()[:2] == ["settings", "1"]


def test_edit_through_an_editor_script(kubectl: Kubectl, tmp_path: Path) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "configmap-initial.yaml"))
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/mode: fast/mode: careful/" "$1"\n')
    editor.chmod(0o755)
    env = {"EDITOR": str(editor), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    assert "edited" in kubectl.run("edit", "configmap", "settings", env=env).stdout
    assert kubectl.json("configmap", "settings")["data"]["mode"] == "careful"


@pytest.mark.parametrize(
    ("patch_type", "patch", "image"),
    [
        (
            "strategic",
            '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:2"}]}}}}',
            "nginx:2",
        ),
        (
            "merge",
            '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"n:3"}]}}}}',
            "n:3",
        ),
        (
            "json",
            '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"j"}]',
            "j",
        ),
    ],
)
def test_patch_types(kubectl: Kubectl, patch_type: str, patch: str, image: str) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "deployment-initial.yaml"))
    kubectl.run("patch", "deployment", "web", "--type", patch_type, "-p", patch)
    obj = kubectl.json("deployment", "web")
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image
    assert obj["metadata"]["generation"] == 2
    if patch_type == "strategic":
        assert container["ports"] == [
            {"containerPort": 80, "protocol": "TCP"}
        ]  # merged by name, not replaced


def test_scale_rollout_restart_label_annotate(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "deployment-initial.yaml"))
    kubectl.run("scale", "deployment", "web", "--replicas=4")
    kubectl.run("rollout", "restart", "deployment/web")
    kubectl.run("label", "deployment", "web", "team=blue")
    kubectl.run("annotate", "deployment", "web", "note=hello")
    obj = kubectl.json("deployment", "web")
    assert obj["spec"]["replicas"] == 4
    assert "kubectl.kubernetes.io/restartedAt" in obj["spec"]["template"]["metadata"]["annotations"]
    assert obj["metadata"]["labels"]["team"] == "blue"
    assert obj["metadata"]["annotations"]["note"] == "hello"
    assert obj["metadata"]["generation"] == 3  # scale and restart; not label/annotate


def _owned_configmap(kubectl: Kubectl, owner: dict[str, Any], block: bool) -> None:
    kubectl.run(
        "apply",
        "-f",
        "-",
        stdin=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "dependent",
                    "ownerReferences": [
                        {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": "web",
                            "uid": owner["metadata"]["uid"],
                            "blockOwnerDeletion": block,
                        }
                    ],
                },
                "data": {"k": "v"},
            }
        ),
    )


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_delete_with_each_propagation_policy(kubectl: Kubectl, cascade: str) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "deployment-initial.yaml"))
    _owned_configmap(kubectl, kubectl.json("deployment", "web"), block=True)
    kubectl.run("delete", "deployment", "web", f"--cascade={cascade}", "--timeout=20s")

    def dependent_state() -> str:
        got = kubectl.run("get", "configmap", "dependent", "-o", "json", check=False)
        if got.returncode != 0:
            return "gone"
        return (
            "orphaned" if "ownerReferences" not in json.loads(got.stdout)["metadata"] else "owned"
        )

    eventually(lambda: dependent_state() == ("orphaned" if cascade == "orphan" else "gone"))
    assert kubectl.run("get", "deployment", "web", check=False).returncode == 1


def test_custom_resource_lifecycle(kubectl: Kubectl) -> None:
    kubectl.run(
        "apply", "-f", str(TESTDATA / "customresourcedefinition-widgets.yaml"), namespaced=False
    )
    crd = kubectl.json("crd", "widgets.example.com")
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    kubectl.run("apply", "-f", str(TESTDATA / "widget-valid.yaml"))
    widget = kubectl.json("wg", "w1")
    assert widget["spec"] == {"size": "small", "replicas": 1}  # schema default applied
    bad = kubectl.run("apply", "-f", str(TESTDATA / "widget-invalid.yaml"), check=False)
    assert bad.returncode == 1
    assert 'The Widget "w2" is invalid: spec.size: Unsupported value: "huge"' in bad.stderr
    smp = kubectl.run("patch", "wg", "w1", "--type", "strategic", "-p", '{"spec":{}}', check=False)
    assert "application/strategic-merge-patch+json is not supported" in smp.stderr
    kubectl.run("scale", "wg", "w1", "--replicas=3")
    assert kubectl.json("wg", "w1")["spec"]["replicas"] == 3
    printed = kubectl.run("get", "widgets").stdout.splitlines()
    assert printed[0].split() == ["NAME", "SIZE", "REPLICAS", "AGE"]
    assert printed[1].split()[:3] == ["w1", "small", "3"]
    resources = kubectl.run("api-resources", "--api-group=example.com", namespaced=False).stdout
    assert resources.splitlines()[1].split() == [
        "widgets",
        "wg",
        "example.com/v1",
        "true",
        "Widget",
    ]
    kubectl.run("delete", "crd", "widgets.example.com", "--timeout=20s", namespaced=False)
    assert kubectl.run("get", "crd", "widgets.example.com", check=False).returncode == 1
    listed = kubectl.run(
        "get", "--raw", f"/apis/example.com/v1/namespaces/{kubectl.namespace}/widgets", check=False
    )
    assert listed.returncode == 1


def read_lines(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def test_watch_sees_added_modified_deleted(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "sentinel")
    cmd = [
        KUBECTL,
        "--kubeconfig",
        str(kubectl.cluster.kubeconfig),
        "-n",
        kubectl.namespace,
        "get",
        "configmaps",
        "--watch",
        "--output-watch-events",
        "--no-headers",
        "-o",
        "custom-columns=EVENT:.type,NAME:.object.metadata.name",
    ]
    lines: queue.Queue[str] = queue.Queue()
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as watcher:
        assert watcher.stdout is not None
        threading.Thread(target=read_lines, args=(watcher.stdout, lines), daemon=True).start()
        try:
            # kubectl lists, prints, then watches from the list's resourceVersion: once the
            # sentinel is printed, every later change is bound to reach the watch.
            assert lines.get(timeout=20).split() == ["ADDED", "sentinel"]
            kubectl.run("create", "-f", str(TESTDATA / "configmap-initial.yaml"))
            kubectl.run("label", "configmap", "settings", "x=y")
            kubectl.run("delete", "configmap", "settings")
            seen = [lines.get(timeout=20).split() for _ in range(3)]
        finally:
            watcher.terminate()
            watcher.wait(timeout=10)
    assert seen == [["ADDED", "settings"], ["MODIFIED", "settings"], ["DELETED", "settings"]]


def test_dry_run_server_stores_nothing(kubectl: Kubectl) -> None:
    out = kubectl.run("apply", "--dry-run=server", "-f", str(TESTDATA / "configmap-initial.yaml"))
    assert "(server dry run)" in out.stdout
    assert kubectl.run("get", "configmap", "settings", check=False).returncode == 1


def test_api_resources_scopes_short_names_kinds(kubectl: Kubectl) -> None:
    out = kubectl.run("api-resources", namespaced=False).stdout.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in out[1:]}
    assert rows["deployments"] == ["deploy", "apps/v1", "true", "Deployment"]
    assert rows["namespaces"] == ["ns", "v1", "false", "Namespace"]
    assert rows["customresourcedefinitions"] == [
        "crd,crds",
        "apiextensions.k8s.io/v1",
        "false",
        "CustomResourceDefinition",
    ]
    wide = kubectl.run("api-resources", "-o", "wide", "--api-group=apps", namespaced=False).stdout
    deployments = next(line.split() for line in wide.splitlines() if line.startswith("deploy"))
    assert deployments[-2:] == ["create,delete,deletecollection,get,list,patch,update,watch", "all"]


def test_explain_reads_the_openapi_documents(kubectl: Kubectl) -> None:
    out = kubectl.run("explain", "deployment.spec.replicas", namespaced=False).stdout
    assert "KIND:       Deployment" in out
    assert "replicas" in out


def test_namespace_deletion_terminates_then_removes(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "configmap-initial.yaml"))
    kubectl.run("delete", "namespace", kubectl.namespace, "--wait=false", namespaced=False)
    eventually(
        lambda: (
            kubectl.run(
                "get", "namespace", kubectl.namespace, check=False, namespaced=False
            ).returncode
            == 1
        )
    )
    refused = kubectl.run("create", "-f", str(TESTDATA / "configmap-initial.yaml"), check=False)
    assert f'namespaces "{kubectl.namespace}" not found' in refused.stderr


def test_typed_create_subcommands_send_protobuf(kubectl: Kubectl) -> None:
    kubectl.run("create", "configmap", "plain", "--from-literal=a=b")
    kubectl.run("create", "secret", "generic", "pw", "--from-literal=password=hunter2")
    kubectl.run("create", "serviceaccount", "robot")
    kubectl.run("create", "deployment", "web", "--image=nginx:1.25", "--port=80", "--replicas=2")
    kubectl.run("create", "job", "once", "--image=busybox", "--", "echo", "hi")
    kubectl.run("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *")
    kubectl.run("create", "service", "clusterip", "web", "--tcp=80:8080")
    assert kubectl.json("configmap", "plain")["data"] == {"a": "b"}
    assert kubectl.json("secret", "pw")["data"] == {"password": "aHVudGVyMg=="}
    meta = kubectl.json("serviceaccount", "robot")["metadata"]
    assert (meta["name"], meta["namespace"]) == ("robot", kubectl.namespace)
    deployment = kubectl.json("deployment", "web")["spec"]
    assert deployment["replicas"] == 2
    container = deployment["template"]["spec"]["containers"][0]
    assert (container["image"], container["ports"]) == (
        "nginx:1.25",
        [{"containerPort": 80, "protocol": "TCP"}],
    )
    job = kubectl.json("job", "once")["spec"]["template"]["spec"]
    assert (job["containers"][0]["command"], job["restartPolicy"]) == (["echo", "hi"], "Never")
    assert kubectl.json("cronjob", "tick")["spec"]["schedule"] == "*/5 * * * *"
    port = kubectl.json("service", "web")["spec"]["ports"][0]
    assert (port["port"], port["targetPort"], port["name"]) == (80, 8080, "80-8080")
    refused = kubectl.run("create", "role", "reader", "--verb=get", "--resource=pods", check=False)
    assert "the body of the request was in an unknown format" in refused.stderr


def test_auth_reviews_answer_for_the_single_user(kubectl: Kubectl) -> None:
    assert kubectl.run("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    whoami = kubectl.run("auth", "whoami", "-o", "json", namespaced=False).stdout
    assert json.loads(whoami)["status"]["userInfo"]["username"] == "tether-local-admin"


def test_events_are_written_listed_and_printed(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", str(TESTDATA / "event-warning.yaml"))
    printed = kubectl.run("get", "events").stdout.splitlines()
    assert printed[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert printed[1].split()[1:4] == ["Warning", "BackOff", "pod/web-0"]
    selected = kubectl.run(
        "get", "events", "--field-selector", "involvedObject.name=web-0", "-o", "name"
    ).stdout
    assert selected.strip() == "event/web.1"


def test_logs_of_a_pod_that_has_not_started(kubectl: Kubectl) -> None:
    kubectl.run("run", "p", "--image=nginx:doesnotexist")  # never pulls, never starts
    logs = kubectl.run("logs", "p", check=False)
    assert logs.returncode == 1
    assert 'container "p" in pod "p" is waiting to start: ' in logs.stderr
