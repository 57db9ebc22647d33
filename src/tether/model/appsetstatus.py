"""``status`` of an ApplicationSet: conditions, per-application progress and resources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tether.model.specerror import SpecError
from tether.model.status import ResourceStatus
from tether.model.wire import Fields, WireObject, format_time, prune


class AppSetConditionType(StrEnum):
    """``status.conditions[].type`` values of an ApplicationSet."""

    ERROR_OCCURRED = "ErrorOccurred"
    PARAMETERS_GENERATED = "ParametersGenerated"
    RESOURCES_UP_TO_DATE = "ResourcesUpToDate"
    ROLLING_SYNC = "RollingSync"


class ConditionStatus(StrEnum):
    """Whether a condition holds, as Kubernetes writes it."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class AppSetConditionReason(StrEnum):
    """Reasons Argo CD gives for ApplicationSet conditions."""

    ERROR_OCCURRED = "ErrorOccurred"
    APPLICATION_SET_UP_TO_DATE = "ApplicationSetUpToDate"
    PARAMETERS_GENERATED = "ParametersGenerated"
    APPLICATION_GENERATION_FROM_PARAMS_ERROR = "ApplicationGenerationFromParamsError"
    UPDATE_APPLICATION_ERROR = "UpdateApplicationError"
    APPLICATION_PARAMS_GENERATION_ERROR = "ApplicationParamsGenerationError"
    RENDER_TEMPLATE_PARAMS_ERROR = "RenderTemplateParamsError"
    CREATE_APPLICATION_ERROR = "CreateApplicationError"
    DELETE_APPLICATION_ERROR = "DeleteApplicationError"
    REFRESH_APPLICATION_ERROR = "RefreshApplicationError"
    APPLICATION_VALIDATION_ERROR = "ApplicationValidationError"
    APPLICATION_SET_MODIFIED = "ApplicationSetModified"
    APPLICATION_SET_ROLLOUT_PROGRESSING = "ApplicationSetRolloutProgressing"
    APPLICATION_SET_ROLLOUT_COMPLETE = "ApplicationSetRolloutComplete"
    SYNC_APPLICATION_ERROR = "SyncApplicationError"


@dataclass(frozen=True, slots=True)
class AppSetCondition(WireObject):
    """One ``status.conditions`` entry; ``type`` and ``reason`` are kept as written."""

    type: str
    status: ConditionStatus
    message: str = ""
    reason: str = ""
    last_transition_time: datetime | None = None

    @classmethod
    def read(cls, f: Fields) -> AppSetCondition:
        """Parse one condition; ``type`` and ``status`` are required."""
        status = f.choice("status", ConditionStatus)
        if not f.text("type"):
            raise SpecError(f.at("type"), "is required")
        if status is None:
            raise SpecError(f.at("status"), "is required")
        return cls(
            type=f.text("type"),
            status=status,
            message=f.text("message"),
            reason=f.text("reason"),
            last_transition_time=f.timestamp("lastTransitionTime"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (``type``, ``status``, ``message`` and ``reason`` always written)."""
        out = {
            "type": self.type,
            "status": self.status.value,
            "message": self.message,
            "reason": self.reason,
        }
        return out | prune({"lastTransitionTime": format_time(self.last_transition_time)})


class AppStatusPhase(StrEnum):
    """Progress of one Application in a progressive (RollingSync) rollout."""

    WAITING = "Waiting"
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    HEALTHY = "Healthy"


@dataclass(frozen=True, slots=True)
class AppSetApplicationStatus(WireObject):
    """One ``status.applicationStatus`` entry: where an Application is in the rollout."""

    application: str
    status: str
    message: str = ""
    step: str = ""
    target_revisions: tuple[str, ...] = ()
    last_transition_time: datetime | None = None

    @classmethod
    def read(cls, f: Fields) -> AppSetApplicationStatus:
        """Parse one entry; ``application`` is required."""
        if not f.text("application"):
            raise SpecError(f.at("application"), "is required")
        return cls(
            application=f.text("application"),
            status=f.text("status"),
            message=f.text("message"),
            step=f.text("step"),
            target_revisions=f.texts("targetRevisions"),
            last_transition_time=f.timestamp("lastTransitionTime"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out = {"application": self.application, "message": self.message, "status": self.status}
        return out | prune(
            {
                "step": self.step,
                "targetRevisions": list(self.target_revisions),
                "lastTransitionTime": format_time(self.last_transition_time),
            }
        )


@dataclass(frozen=True, slots=True)
class ApplicationSetStatus:
    """``status`` of an ApplicationSet."""

    conditions: tuple[AppSetCondition, ...] = ()
    application_status: tuple[AppSetApplicationStatus, ...] = ()
    resources: tuple[ResourceStatus, ...] = ()
    resources_count: int | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str = "status") -> ApplicationSetStatus:
        """Parse ``status``."""
        f = Fields(data, path)
        return cls(
            conditions=tuple(AppSetCondition.read(c) for c in f.children("conditions")),
            application_status=tuple(
                AppSetApplicationStatus.read(a) for a in f.children("applicationStatus")
            ),
            resources=tuple(ResourceStatus.read(r) for r in f.children("resources")),
            resources_count=f.opt_integer("resourcesCount"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "conditions": [c.to_dict() for c in self.conditions],
                "applicationStatus": [a.to_dict() for a in self.application_status],
                "resources": [r.to_dict() for r in self.resources],
                "resourcesCount": self.resources_count,
            }
        )

    def condition(self, kind: str) -> AppSetCondition | None:
        """The condition of a type, if present."""
        return next((c for c in self.conditions if c.type == kind), None)
