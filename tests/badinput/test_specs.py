"""Application and AppProject specs the controller must refuse, and what it must not do then.

Each case is an Application (with its own AppProject) that is wrong in one way: a project
that does not exist, a source or destination the project does not allow, objects the
project denies (cluster-scoped kinds, blacklisted kinds, hooks aimed at a namespace outside
the project). The Application gets a condition or a failed operation naming the cause, and
nothing reaches the cluster: not the app's objects, not the hook, not the cluster-scoped
object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from tether.kube import KubeError, NotFound

if TYPE_CHECKING:
    from conftest import Controlled

pytestmark = pytest.mark.asyncio(loop_scope="session")

IN_CLUSTER = "https://kubernetes.default.svc"
SECRET_VALUE = "spec-s3cret-never-shown"

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
"""

SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: credentials
stringData:
  password: {SECRET_VALUE}
"""

CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}-everything
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
"""

FOREIGN_HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}-hook
  namespace: kube-system
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: run
          image: busybox
"""

#: Where every project below lets Applications deploy (``{name}`` is the test's name).
ALLOWED = [{"server": IN_CLUSTER, "namespace": "{name}"}]


@dataclass(frozen=True)
class BadSpec:
    """An Application that is wrong in one way, and the words its error must contain."""

    id: str
    cause: str
    files: dict[str, str] = field(default_factory=lambda: {"cm.yaml": CONFIGMAP})
    project: dict[str, Any] = field(default_factory=dict)
    app: dict[str, Any] = field(default_factory=dict)
    #: (apiVersion, kind, name, namespace) that must not exist afterwards.
    absent: tuple[str, str, str, str | None] | None = None


CASES = [
    BadSpec("unknown-project", "not-a-project", app={"project": "not-a-project"}),
    BadSpec(
        "destination-outside-project",
        "elsewhere",
        app={"destination": {"server": IN_CLUSTER, "namespace": "elsewhere"}},
    ),
    BadSpec(
        "unknown-destination-server",
        "unknown.invalid",
        project={"destinations": [{"server": "*", "namespace": "*"}]},
        app={"destination": {"server": "https://unknown.invalid:6443", "namespace": "{name}"}},
    ),
    BadSpec(
        "source-not-permitted",
        "not permitted",
        project={"sourceRepos": ["https://git.example.com/only-this.git"]},
    ),
    BadSpec(
        "cluster-scoped-object-denied",
        "ClusterRole",
        files={"cm.yaml": CONFIGMAP, "role.yaml": CLUSTER_ROLE},
        project={"clusterResourceWhitelist": []},
        absent=("rbac.authorization.k8s.io/v1", "ClusterRole", "{name}-everything", None),
    ),
    BadSpec(
        "blacklisted-kind",
        "Secret",
        files={"cm.yaml": CONFIGMAP, "secret.yaml": SECRET},
        project={"namespaceResourceBlacklist": [{"group": "", "kind": "Secret"}]},
    ),
    BadSpec(
        "hook-in-foreign-namespace",
        "kube-system",
        files={"cm.yaml": CONFIGMAP, "hook.yaml": FOREIGN_HOOK},
        absent=("batch/v1", "Job", "{name}-hook", "kube-system"),
    ),
]


def conditions_of(app: dict[str, Any]) -> dict[str, str]:
    """An Application's conditions as ``{type: message}``."""
    return {c["type"]: c["message"] for c in (app.get("status") or {}).get("conditions") or []}


def refusal(app: dict[str, Any]) -> str:
    """The error the controller reported for ``app``: a condition or a failed operation."""
    errors = {k: v for k, v in conditions_of(app).items() if k.endswith("Error")}
    state = (app.get("status") or {}).get("operationState") or {}
    if state.get("phase") in ("Failed", "Error"):
        errors["operation"] = str(state.get("message", ""))
    return "; ".join(f"{k}: {v}" for k, v in sorted(errors.items()))


def fill(value: Any, name: str) -> Any:
    """``value`` with ``{name}`` replaced in every string."""
    return json.loads(json.dumps(value).replace("{name}", name))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_refused_spec_reports_the_cause_and_applies_nothing(
    controlled: Controlled, case: BadSpec
) -> None:
    name = controlled.new_name()
    repo = controlled.new_repo()
    repo.push(
        {f"{name}/{path}": text.replace("{name}", name) for path, text in case.files.items()},
        f"{name}: {case.id}",
    )
    await controlled.client.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": name, "namespace": controlled.namespace},
            "spec": fill(
                {
                    "sourceRepos": ["*"],
                    "destinations": ALLOWED,
                    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                }
                | case.project,
                name,
            ),
        }
    )
    spec: dict[str, Any] = {
        "project": name,
        "source": {"repoURL": repo.url_file, "path": name, "targetRevision": "main"},
        "destination": {"server": IN_CLUSTER, "namespace": name},
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true"],
        },
    }
    await controlled.client.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": controlled.namespace},
            "spec": spec | fill(case.app, name),
        }
    )

    app = await controlled.wait_app(name, lambda app: bool(refusal(app)))
    assert case.cause.replace("{name}", name) in refusal(app), refusal(app)
    assert SECRET_VALUE not in json.dumps(app)
    try:
        assert await controlled.objects_in(name) == set()
        assert await controlled.objects_in(name, "Secret") == set()
    except NotFound:
        pass  # the namespace itself was never created
    if case.absent:
        api_version, kind, object_name, namespace = fill(case.absent, name)
        with pytest.raises(NotFound):
            await controlled.client.get(api_version, kind, object_name, namespace)


@pytest.mark.parametrize(
    ("spec", "cause"),
    [
        ({"project": "default", "source": {"repoURL": "x"}}, "spec.destination"),
        ({"source": {"path": "x"}, "destination": {}, "project": "default"}, "repoURL"),
        ({"project": 7, "source": {"repoURL": "x"}, "destination": {}}, "spec.project"),
    ],
    ids=["no-destination", "source-without-repo", "project-not-a-string"],
)
async def test_malformed_applications_are_refused_at_admission(
    controlled: Controlled, spec: dict[str, Any], cause: str
) -> None:
    name = controlled.new_name()
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": controlled.namespace},
        "spec": spec,
    }
    with pytest.raises(KubeError) as refused:
        await controlled.client.create(manifest)
    assert cause in str(refused.value)
    with pytest.raises(NotFound):
        await controlled.app(name)
