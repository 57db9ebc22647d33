"""Hostile repository content, as the controller meets it.

Each case starts from an Application that has synced a ``sentinel`` ConfigMap with
automated pruning on, then commits hostile content in place of the sentinel's manifest.
Whatever the content, the controller must report a ``ComparisonError`` naming the cause,
apply nothing, delete nothing (the sentinel is still there although Git no longer holds
it and pruning is on), and let no secret from the repository into the Application.

The render suites test each renderer's guard on its own (``tests/render/``); this suite
checks that every guard reaches the Application the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Controlled

pytestmark = pytest.mark.asyncio(loop_scope="session")

IN_CLUSTER = "https://kubernetes.default.svc"
#: A value that must never leave the repository: it is in every case's Secret.
SECRET_VALUE = "s3cret-hunter2-do-not-show"

SENTINEL = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: sentinel
data:
  kept: "yes"
"""

SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: credentials
stringData:
  password: {SECRET_VALUE}
"""

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)

CHART = """\
apiVersion: v2
name: hostile
version: 0.1.0
"""


@dataclass(frozen=True)
class Hostile:
    """One kind of hostile content: the files (and symlinks) that replace the sentinel."""

    id: str
    files: dict[str, str]
    cause: str
    symlinks: dict[str, str] = field(default_factory=dict)


CASES = [
    Hostile("yaml-bomb", {"bomb.yaml": BILLION_LAUGHS, "secret.yaml": SECRET}, "alias"),
    Hostile(
        "huge-file",
        {"huge.yaml": "# " + "x" * (10 * 1024 * 1024) + "\n", "secret.yaml": SECRET},
        "bytes",
    ),
    Hostile(
        "deep-nesting",
        {"deep.yaml": "a: " + "[" * 500 + "]" * 500 + "\n", "secret.yaml": SECRET},
        "deeper than 100 levels",
    ),
    Hostile("malformed-yaml", {"broken.yaml": "kind: [unclosed\n", "secret.yaml": SECRET}, "yaml"),
    Hostile(
        "manifest-without-kind",
        {"nokind.yaml": "apiVersion: v1\nmetadata:\n  name: x\n", "secret.yaml": SECRET},
        "kind",
    ),
    Hostile(
        "manifest-not-a-mapping",
        {"list.yaml": "- just\n- a\n- list\n", "secret.yaml": SECRET},
        "list.yaml",
    ),
    Hostile(
        "symlink-out-of-checkout",
        {"secret.yaml": SECRET},
        "leaves the repository",
        symlinks={"passwd.yaml": "/etc/passwd"},
    ),
    Hostile(
        "symlink-up-and-out",
        {"secret.yaml": SECRET},
        "leaves the repository",
        symlinks={"escape.yaml": "../../../../../../etc/hostname"},
    ),
    Hostile(
        "kustomize-resource-outside-checkout",
        {
            "kustomization.yaml": "resources:\n  - ../../../../../etc/hosts\n  - secret.yaml\n",
            "secret.yaml": SECRET,
        },
        "outside",
    ),
    Hostile(
        "kustomize-remote-base",
        {
            "kustomization.yaml": (
                "resources:\n  - https://github.com/example/hostile//base?ref=main\n"
                "  - secret.yaml\n"
            ),
            "secret.yaml": SECRET,
        },
        "remote",
    ),
    Hostile(
        "kustomize-exec-plugin",
        {
            "kustomization.yaml": "generators:\n  - gen.yaml\nresources:\n  - secret.yaml\n",
            "gen.yaml": (
                "apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: run\n"
                "  annotations:\n    config.kubernetes.io/function: |\n"
                "      exec:\n        path: /bin/sh\n"
            ),
            "secret.yaml": SECRET,
        },
        "plugin",
    ),
    Hostile(
        "helm-template-fails",
        {
            "Chart.yaml": CHART,
            "templates/secret.yaml": SECRET,
            "templates/fail.yaml": '{{ fail "chart refuses to render" }}\n',
        },
        "chart refuses to render",
    ),
    Hostile(
        "helm-corrupt-dependency-tarball",
        {
            "Chart.yaml": CHART
            + "dependencies:\n  - name: dep\n    version: 0.1.0\n    repository: file://dep\n",
            "charts/dep-0.1.0.tgz": "this is not a gzip archive\n",
            "templates/secret.yaml": SECRET,
        },
        "dep",
    ),
    Hostile(
        "jsonnet-import-outside-checkout",
        {"main.jsonnet": "import '/etc/passwd'\n", "secret.yaml": SECRET},
        "import",
    ),
    Hostile(
        "jsonnet-error",
        {"main.jsonnet": 'error "jsonnet refuses to render"\n', "secret.yaml": SECRET},
        "jsonnet refuses to render",
    ),
]


def conditions_of(app: dict[str, Any]) -> dict[str, str]:
    """An Application's conditions as ``{type: message}``."""
    return {c["type"]: c["message"] for c in (app.get("status") or {}).get("conditions") or []}


def synced_revision(app: dict[str, Any]) -> str:
    """The revision the last sync operation applied."""
    state = (app.get("status") or {}).get("operationState") or {}
    return str(((state.get("syncResult") or {}).get("revision")) or "")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_hostile_content_is_a_comparison_error_and_changes_nothing(
    controlled: Controlled, case: Hostile
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
                "source": {
                    "repoURL": repo.url_file,
                    "path": name,
                    "targetRevision": "main",
                },
                "destination": {"server": IN_CLUSTER, "namespace": name},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["CreateNamespace=true"],
                },
            },
        }
    )
    await controlled.wait_app(name, lambda app: synced_revision(app) == good)
    assert await controlled.objects_in(name) == {"sentinel"}

    repo.push(
        {f"{name}/sentinel.yaml": None}
        | {f"{name}/{path}": text for path, text in case.files.items()},
        f"{name}: {case.id}",
        symlinks={f"{name}/{path}": target for path, target in case.symlinks.items()},
    )
    await controlled.refresh(name)
    app = await controlled.wait_app(name, lambda app: "ComparisonError" in conditions_of(app))

    message = conditions_of(app)["ComparisonError"]
    assert case.cause.lower() in message.lower(), message
    assert synced_revision(app) == good, "a sync ran on the hostile revision"
    assert await controlled.objects_in(name) == {"sentinel"}
    assert await controlled.objects_in(name, "Secret") <= {"default-token"}
    assert SECRET_VALUE not in json.dumps(app)
    assert "root:" not in json.dumps(app)  # nothing of /etc/passwd
