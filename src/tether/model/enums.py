"""String enums whose values go on the wire exactly as Argo CD writes them."""

from enum import StrEnum


class SyncStatus(StrEnum):
    """Whether live state matches the desired state (``status.sync.status``)."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatus(StrEnum):
    """Argo CD's health statuses, declared from best to worst.

    The declaration order is the severity order Argo CD uses to aggregate the health
    of many resources into one: the worst one wins.
    """

    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"

    @property
    def severity(self) -> int:
        """Position in the best-to-worst order (0 is Healthy)."""
        return _HEALTH_ORDER.index(self)

    def is_worse_than(self, other: "HealthStatus") -> bool:
        """Whether this status ranks worse than ``other``."""
        return self.severity > other.severity


_HEALTH_ORDER: tuple[HealthStatus, ...] = tuple(HealthStatus)


class OperationPhase(StrEnum):
    """Phase of a sync operation (``status.operationState.phase``)."""

    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"

    @property
    def is_completed(self) -> bool:
        """Whether the operation has ended, for better or worse."""
        return self in (OperationPhase.FAILED, OperationPhase.ERROR, OperationPhase.SUCCEEDED)


class SyncPhase(StrEnum):
    """The phases of a sync operation, in the order they run."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    PRE_DELETE = "PreDelete"
    POST_DELETE = "PostDelete"


class HookType(StrEnum):
    """Values of the ``argocd.argoproj.io/hook`` annotation."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    PRE_DELETE = "PreDelete"
    POST_DELETE = "PostDelete"
    SKIP = "Skip"


class HookDeletePolicy(StrEnum):
    """Values of the ``argocd.argoproj.io/hook-delete-policy`` annotation."""

    HOOK_SUCCEEDED = "HookSucceeded"
    HOOK_FAILED = "HookFailed"
    BEFORE_HOOK_CREATION = "BeforeHookCreation"


class ResultCode(StrEnum):
    """Outcome of syncing one resource (``syncResult.resources[].status``)."""

    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"
