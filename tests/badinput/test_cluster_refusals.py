"""Manifests that render but that the cluster refuses: the sync fails and deletes nothing.

Each case starts from an Application that has synced a ``sentinel`` ConfigMap with
automated pruning on, then commits, in place of the sentinel, one object the API server
rejects (a wrong field type, an invalid name, a list where a map belongs, a kind the cluster
does not serve). The operation fails with the API server's reason, the refused object
does not exist, and the sentinel, although no longer in Git, is not pruned: a sync that
cannot apply everything prunes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tether.kube import KubeError

if TYPE_CHECKING:
    from conftest import Controlled

pytestmark = pytest.mark.asyncio(loop_scope="session")

IN_CLUSTER = "https://kubernetes.default.svc"

SENTINEL = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: sentinel
data:
  kept: "yes"
"""


@dataclass(frozen=True)
class Refused:
    """An object the API server refuses, and the words the failure must contain."""

    id: str
    manifest: str
    cause: str


CASES = [
    Refused(
        "wrong-field-type",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  replicas: three\n  selector:\n    matchLabels: {app: web}\n  template:\n"
        "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
        "        - name: web\n          image: nginx\n",
        "replicas",
    ),
    Refused(
        "invalid-name",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Valid_Name\n",
        "Not_A_Valid_Name",
    ),
    Refused(
        "data-not-a-map",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: listed\ndata:\n  - a\n  - b\n",
        "data",
    ),
    Refused(
        "kind-not-served",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
        "Widget",
    ),
]


def operation(app: dict[str, Any]) -> dict[str, Any]:
    """The Application's operation state (empty before the first sync)."""
    return dict((app.get("status") or {}).get("operationState") or {})


def problems(app: dict[str, Any]) -> str:
    """Everything the Application reports as wrong: error conditions and a failed operation."""
    found = [
        f"{c['type']}: {c['message']}"
        for c in (app.get("status") or {}).get("conditions") or []
        if c["type"].endswith("Error")
    ]
    state = operation(app)
    if state.get("phase") in ("Failed", "Error"):
        found.append(str(state.get("message", "")))
        found += [
            str(r.get("message", ""))
            for r in (state.get("syncResult") or {}).get("resources") or []
        ]
    return "; ".join(found)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_refused_object_fails_the_sync_and_prunes_nothing(
    controlled: Controlled, case: Refused
) -> None:
    name = controlled.new_name()
    repo = controlled.new_repo()
    good = repo.push({f"{name}/sentinel.yaml": SENTINEL}, f"{name}: sentinel")
    await controlled.client.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name, "namespace": controlled.namespace},
            "spec": {
                "project": "default",
                "source": {"repoURL": repo.url_file, "path": name, "targetRevision": "main"},
                "destination": {"server": IN_CLUSTER, "namespace": name},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["CreateNamespace=true"],
                },
            },
        }
    )
    await controlled.wait_app(
        name,
        lambda app: (
            ((operation(app).get("syncResult") or {}).get("revision")) == good
            and operation(app).get("phase") == "Succeeded"
        ),
    )

    repo.push(
        {f"{name}/sentinel.yaml": None, f"{name}/refused.yaml": case.manifest},
        f"{name}: {case.id}",
    )
    await controlled.refresh(name)
    app = await controlled.wait_app(name, lambda app: bool(problems(app)))

    assert case.cause in problems(app), problems(app)
    assert await controlled.objects_in(name) == {"sentinel"}
    assert await controlled.objects_in(name, "Service") == set()
    with pytest.raises(KubeError):
        await controlled.client.get("apps/v1", "Deployment", "web", name)
