"""Installing what the controller needs into the management cluster.

Idempotent: the Application, AppProject and ApplicationSet CRDs (applied with
server-side apply, so an upgrade changes them), the control namespace, the ``default``
AppProject and an empty ``argocd-cm`` (both created only when missing: they are the
user's to edit afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib

from tether.controller.settings import SETTINGS_CONFIGMAP
from tether.kube import AlreadyExists, KubeClient, UnknownKind
from tether.model.crd import load_crds
from tether.model.project import default_project

_PART_OF = {"app.kubernetes.io/part-of": "argocd"}


async def install(client: KubeClient, namespace: str) -> None:
    """Install CRDs, the namespace, the default project and the settings ConfigMap.

    Waits until the API server serves the CRDs: bound it with a timeout.
    """
    for crd in load_crds():
        await client.apply(crd)
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    # The CRDs are served once the API server established them; discovery tells.
    while True:
        try:
            await client.discovery.resolve("argoproj.io/v1alpha1", "AppProject")
            break
        except UnknownKind:
            await asyncio.sleep(0.1)
            await client.discovery.refresh()
    project = default_project(namespace).to_dict()
    with contextlib.suppress(AlreadyExists):
        await client.create(project)
    settings = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": SETTINGS_CONFIGMAP, "namespace": namespace, "labels": _PART_OF},
    }
    with contextlib.suppress(AlreadyExists):
        await client.create(settings)
