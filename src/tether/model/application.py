"""The Application custom resource (``argoproj.io/v1alpha1``), exactly as Argo CD spells it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from tether.model import keys
from tether.model.appspec import ApplicationSpec
from tether.model.meta import ObjectMeta
from tether.model.operation import Operation
from tether.model.source import ApplicationSource
from tether.model.specerror import SpecError
from tether.model.status import ApplicationStatus
from tether.model.syncoptions import SyncOptions
from tether.model.wire import Fields

GROUP: Final = "argoproj.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
APPLICATION_KIND: Final = "Application"


def check_type_meta(f: Fields, kind: str) -> None:
    """Check ``apiVersion`` and ``kind`` of a resource, when they are given."""
    if f.has("apiVersion") and f.text("apiVersion") != API_VERSION:
        raise SpecError(f.at("apiVersion"), f"expected {API_VERSION}, got {f.text('apiVersion')!r}")
    if f.has("kind") and f.text("kind") != kind:
        raise SpecError(f.at("kind"), f"expected {kind}, got {f.text('kind')!r}")


@dataclass(frozen=True, slots=True)
class Application:
    """An Application: a set of sources rendered into one destination, and its status.

    ``operation`` is a requested operation written at the top level (as ``argocd app
    sync`` writes it), waiting for the controller to pick it up.
    """

    metadata: ObjectMeta
    spec: ApplicationSpec
    status: ApplicationStatus = field(default_factory=ApplicationStatus)
    operation: Operation | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Application:
        """Parse an Application manifest, raising :class:`SpecError` on the first bad field."""
        f = Fields(data, path)
        check_type_meta(f, APPLICATION_KIND)
        metadata = ObjectMeta.from_dict(f.data.get("metadata"), f.at("metadata"))
        if not metadata.name and not metadata.generate_name:
            raise SpecError(f.at("metadata.name"), "is required")
        operation = f.child("operation")
        return cls(
            metadata=metadata,
            spec=ApplicationSpec.from_dict(f.data.get("spec"), f.at("spec")),
            status=ApplicationStatus.from_dict(f.data.get("status"), f.at("status")),
            operation=None
            if operation is None
            else Operation.from_dict(operation.data, operation.path),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, as Argo CD writes it; an empty status is left out."""
        out: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": APPLICATION_KIND,
            "metadata": self.metadata.to_dict(),
            "spec": self.spec.to_dict(),
        }
        if self.operation is not None:
            out["operation"] = self.operation.to_dict()
        status = self.status.to_dict()
        if status:
            out["status"] = status
        return out

    # --- what an engine asks -------------------------------------------------------

    @property
    def name(self) -> str:
        """The Application's name."""
        return self.metadata.name

    @property
    def namespace(self) -> str:
        """The namespace the Application lives in (not its destination)."""
        return self.metadata.namespace

    @property
    def qualified_name(self) -> str:
        """``<namespace>/<name>``, or the name alone when the namespace is unknown."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def sources(self) -> tuple[ApplicationSource, ...]:
        """The app's sources whatever the form (``spec.source`` or ``spec.sources``)."""
        return self.spec.all_sources

    @property
    def is_multi_source(self) -> bool:
        """Whether the app uses ``spec.sources``."""
        return self.spec.is_multi_source

    @property
    def is_automated(self) -> bool:
        """Whether automated sync is on."""
        return self.spec.is_automated

    @property
    def sync_options(self) -> SyncOptions:
        """The app's effective options: ``syncPolicy.syncOptions`` and its compare-options.

        Per-object annotations override these: see :meth:`SyncOptions.for_object`.
        """
        compare = self.metadata.annotations.get(keys.COMPARE_OPTIONS, "")
        return self.spec.sync_options.overridden_by(SyncOptions.parse_compare_options(compare))

    @property
    def has_resources_finalizer(self) -> bool:
        """Whether deleting the app deletes (cascades to) its objects."""
        return any(
            f in (keys.RESOURCES_FINALIZER, keys.RESOURCES_FINALIZER_BACKGROUND)
            for f in self.metadata.finalizers
        )

    @property
    def refresh_requested(self) -> str:
        """The ``argocd.argoproj.io/refresh`` annotation (``normal`` or ``hard``), or ``""``."""
        return self.metadata.annotations.get(keys.REFRESH, "")
