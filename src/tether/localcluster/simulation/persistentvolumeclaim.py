"""Volumes: claims bound to volumes provisioned on the spot.

The StorageClass ``standard`` (the default class, provisioner
``tether.dev/local-path``, ``Immediate`` binding, reclaim policy ``Delete``) exists
from the start. A claim of an existing class (``standard`` when it names none) gets
the PersistentVolume ``pvc-<claim uid>`` (``hostPath`` under
``/var/local-path-provisioner``, the requested size and access modes, a ``claimRef``
to the claim, phase ``Bound``); the claim gets ``volumeName``, the binding
annotations, and ``status`` with phase ``Bound``, ``accessModes`` and ``capacity``. A
claim naming a class that does not exist stays ``Pending``. A deleted claim's volume
is deleted (``Delete`` reclaim policy).
"""

from __future__ import annotations

from typing import Any

from tether.localcluster.loop import WorkQueue
from tether.localcluster.simulation.context import Context
from tether.localcluster.simulation.events import EventType
from tether.localcluster.watch import Event

Key = tuple[str, str]
Obj = dict[str, Any]

STORAGE_CLASS = "standard"
PROVISIONER = "tether.dev/local-path"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


async def ensure_storage_class(context: Context) -> None:
    """Create the default StorageClass ``standard`` unless it exists."""
    classes = context.kinds.storageclasses
    if context.store.lookup(classes, None, STORAGE_CLASS) is not None:
        return
    await context.create(
        classes,
        "",
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": PROVISIONER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        },
    )


class VolumeController:
    """Provisions and binds volumes for claims."""

    def __init__(self, context: Context) -> None:
        """Bind the claims of ``context``'s store."""
        self._context = context
        self.queue: WorkQueue[Key] = WorkQueue("persistentvolume-binder", self._reconcile)

    def start(self) -> None:
        """Reconcile every claim, and every volume whose claim may be gone."""
        kinds = self._context.kinds
        for entry in self._context.store.objects_of(kinds.pvcs.key):
            self.queue.add((entry.metadata.get("namespace", ""), entry.metadata["name"]))
        for entry in self._context.store.objects_of(kinds.pvs.key):
            ref = (entry.obj.get("spec") or {}).get("claimRef") or {}
            if ref.get("name"):
                self.queue.add((str(ref.get("namespace", "")), str(ref["name"])))
        self.queue.start()

    def on_event(self, event: Event) -> None:
        """Mark claims that changed (deleted ones too: their volume goes)."""
        if event.resource == self._context.kinds.pvcs.key:
            self.queue.add((event.namespace, event.name))

    async def _reconcile(self, key: Key) -> None:
        context = self._context
        kinds = context.kinds
        claim = context.get(kinds.pvcs, *key)
        if claim is None:
            await self._reclaim(key)
            return
        spec = claim.obj.get("spec") or {}
        if (claim.obj.get("status") or {}).get("phase") == "Bound":
            return
        class_name = spec.get("storageClassName") or STORAGE_CLASS
        storage_class = context.get(kinds.storageclasses, "", class_name)
        if storage_class is None:
            if (claim.obj.get("status") or {}).get("phase") != "Pending":
                context.recorder.record(
                    claim,
                    EventType.WARNING,
                    "ProvisioningFailed",
                    f'storageclass.storage.k8s.io "{class_name}" not found',
                    "persistentvolume-controller",
                )
            await context.write_status(kinds.pvcs, claim, {"phase": "Pending"})
            return
        provisioner = str(storage_class.obj.get("provisioner") or PROVISIONER)
        volume_name = spec.get("volumeName") or f"pvc-{claim.metadata['uid']}"
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        modes = spec.get("accessModes") or ["ReadWriteOnce"]
        if context.store.lookup(kinds.pvs, None, volume_name) is None:
            volume = {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {
                    "name": volume_name,
                    "annotations": {"pv.kubernetes.io/provisioned-by": provisioner},
                },
                "spec": {
                    "accessModes": modes,
                    "capacity": {"storage": size},
                    "claimRef": {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "name": key[1],
                        "namespace": key[0],
                        "resourceVersion": claim.metadata.get("resourceVersion", ""),
                        "uid": claim.metadata["uid"],
                    },
                    "hostPath": {
                        "path": f"/var/local-path-provisioner/{volume_name}_{key[0]}_{key[1]}",
                        "type": "DirectoryOrCreate",
                    },
                    "persistentVolumeReclaimPolicy": storage_class.obj.get(
                        "reclaimPolicy", "Delete"
                    ),
                    "storageClassName": class_name,
                    "volumeMode": spec.get("volumeMode", "Filesystem"),
                },
            }
            created = await context.create(kinds.pvs, "", volume)
            if created is not None:
                await context.write_status(kinds.pvs, created, {"phase": "Bound"})
                context.recorder.record(
                    claim,
                    EventType.NORMAL,
                    "ProvisioningSucceeded",
                    f"Successfully provisioned volume {volume_name}",
                    provisioner,
                )

        def bind(obj: Obj) -> None:
            obj["spec"]["volumeName"] = volume_name
            obj["spec"].setdefault("storageClassName", class_name)
            obj["metadata"].setdefault("annotations", {}).update(
                {
                    "pv.kubernetes.io/bind-completed": "yes",
                    "pv.kubernetes.io/bound-by-controller": "yes",
                    "volume.beta.kubernetes.io/storage-provisioner": provisioner,
                    "volume.kubernetes.io/storage-provisioner": provisioner,
                }
            )

        claim = await context.update(kinds.pvcs, claim, bind)
        await context.write_status(
            kinds.pvcs,
            claim,
            {"accessModes": modes, "capacity": {"storage": size}, "phase": "Bound"},
        )

    async def _reclaim(self, key: Key) -> None:
        context = self._context
        for volume in context.store.objects_of(context.kinds.pvs.key):
            spec = volume.obj.get("spec") or {}
            ref = spec.get("claimRef") or {}
            if (ref.get("namespace"), ref.get("name")) != key:
                continue
            if spec.get("persistentVolumeReclaimPolicy", "Delete") == "Delete":
                await context.delete(context.kinds.pvs, volume)
            else:
                await context.write_status(context.kinds.pvs, volume, {"phase": "Released"})
