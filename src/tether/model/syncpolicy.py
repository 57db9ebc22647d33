"""``spec.syncPolicy``: automation, retries and the namespace an app may create."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tether.model.wire import Fields, WireObject, parse_duration, prune

#: Argo CD's backoff defaults, used for whatever ``retry.backoff`` leaves out.
DEFAULT_RETRY_DURATION_SECONDS = 5.0
DEFAULT_RETRY_FACTOR = 2
DEFAULT_RETRY_MAX_DURATION_SECONDS = 180.0


@dataclass(frozen=True, slots=True)
class Automated(WireObject):
    """``syncPolicy.automated``: sync on every change of the desired state.

    ``enabled`` is ``None`` when not written; the block's mere presence turns automation
    on unless ``enabled: false`` says otherwise.
    """

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    enabled: bool | None = None

    @classmethod
    def read(cls, f: Fields) -> Automated:
        """Parse ``syncPolicy.automated``."""
        return cls(
            prune=f.flag("prune"),
            self_heal=f.flag("selfHeal"),
            allow_empty=f.flag("allowEmpty"),
            enabled=f.opt_flag("enabled"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (an empty object when nothing is set: automation on, no options)."""
        out = prune(
            {"prune": self.prune, "selfHeal": self.self_heal, "allowEmpty": self.allow_empty}
        )
        if self.enabled is not None:
            out["enabled"] = self.enabled
        return out

    @property
    def is_enabled(self) -> bool:
        """Whether automated sync is on."""
        return self.enabled is not False


@dataclass(frozen=True, slots=True)
class Backoff(WireObject):
    """``retry.backoff``: the wait before each retry, as written (durations stay strings)."""

    duration: str = ""
    factor: int | None = None
    max_duration: str = ""

    @classmethod
    def read(cls, f: Fields) -> Backoff:
        """Parse ``retry.backoff``, checking that the durations parse."""
        backoff = cls(
            duration=f.text("duration"),
            factor=f.opt_integer("factor"),
            max_duration=f.text("maxDuration"),
        )
        if backoff.duration:
            parse_duration(backoff.duration, f.at("duration"))
        if backoff.max_duration:
            parse_duration(backoff.max_duration, f.at("maxDuration"))
        return backoff

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {"duration": self.duration, "factor": self.factor, "maxDuration": self.max_duration}
        )

    @property
    def duration_seconds(self) -> float:
        """The first wait, in seconds (5 unless set)."""
        if not self.duration:
            return DEFAULT_RETRY_DURATION_SECONDS
        return parse_duration(self.duration, "backoff.duration")

    @property
    def factor_value(self) -> int:
        """The multiplier applied to the wait after each failed retry (2 unless set)."""
        return DEFAULT_RETRY_FACTOR if self.factor is None else self.factor

    @property
    def max_duration_seconds(self) -> float:
        """The longest wait, in seconds (180 unless set)."""
        if not self.max_duration:
            return DEFAULT_RETRY_MAX_DURATION_SECONDS
        return parse_duration(self.max_duration, "backoff.maxDuration")


@dataclass(frozen=True, slots=True)
class RetryStrategy(WireObject):
    """``retry``: how often and how patiently a failed sync is retried.

    ``limit`` is the number of retries: 0 means none, a negative number means no limit.
    """

    limit: int = 0
    backoff: Backoff | None = None
    refresh: bool = False

    @classmethod
    def read(cls, f: Fields) -> RetryStrategy:
        """Parse ``retry``."""
        backoff = f.child("backoff")
        return cls(
            limit=f.integer("limit"),
            backoff=None if backoff is None else Backoff.read(backoff),
            refresh=f.flag("refresh"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out = prune({"limit": self.limit or None, "refresh": self.refresh})
        if self.backoff is not None:
            out["backoff"] = self.backoff.to_dict()
        return out

    def allows_retry(self, retry_count: int) -> bool:
        """Whether another retry may start after ``retry_count`` retries."""
        return self.limit < 0 or retry_count < self.limit

    def delay_seconds(self, retry_count: int) -> float:
        """The wait before retry number ``retry_count`` (0 for the first): Argo CD's formula.

        ``duration * factor ** retry_count``, never more than ``maxDuration``.
        """
        backoff = self.backoff or Backoff()
        wait = backoff.duration_seconds * float(backoff.factor_value) ** retry_count
        ceiling = backoff.max_duration_seconds
        return min(wait, ceiling) if ceiling > 0 else wait


@dataclass(frozen=True, slots=True)
class ManagedNamespaceMetadata(WireObject):
    """Labels and annotations set on the namespace ``CreateNamespace=true`` creates."""

    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, f: Fields) -> ManagedNamespaceMetadata:
        """Parse ``managedNamespaceMetadata``."""
        return cls(labels=f.text_map("labels"), annotations=f.text_map("annotations"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune({"labels": dict(self.labels), "annotations": dict(self.annotations)})


@dataclass(frozen=True, slots=True)
class SyncPolicy(WireObject):
    """``spec.syncPolicy``. ``sync_options`` stays as written; see :mod:`.syncoptions`."""

    automated: Automated | None = None
    sync_options: tuple[str, ...] = ()
    retry: RetryStrategy | None = None
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None

    @classmethod
    def read(cls, f: Fields) -> SyncPolicy:
        """Parse ``spec.syncPolicy``."""
        automated, retry, managed = (
            f.child(k) for k in ("automated", "retry", "managedNamespaceMetadata")
        )
        return cls(
            automated=None if automated is None else Automated.read(automated),
            sync_options=f.texts("syncOptions"),
            retry=None if retry is None else RetryStrategy.read(retry),
            managed_namespace_metadata=None
            if managed is None
            else ManagedNamespaceMetadata.read(managed),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form. A present but empty block is written as ``{}``: it means something."""
        out: dict[str, Any] = {}
        if self.automated is not None:
            out["automated"] = self.automated.to_dict()
        if self.sync_options:
            out["syncOptions"] = list(self.sync_options)
        if self.retry is not None:
            out["retry"] = self.retry.to_dict()
        if self.managed_namespace_metadata is not None:
            out["managedNamespaceMetadata"] = self.managed_namespace_metadata.to_dict()
        return out

    @property
    def is_automated(self) -> bool:
        """Whether automated sync is on."""
        return self.automated is not None and self.automated.is_enabled
