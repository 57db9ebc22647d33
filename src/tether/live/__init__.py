"""The live cache: what each cluster runs, kept current by watches.

For every kind that managed objects use (and their owned children such as
ReplicaSets and Pods), the cache lists once and then watches, reconnecting on errors
and relisting on ``410 Gone``. It indexes objects by tracking id so an application's
objects are found without a cluster-wide scan, keeps the ownership tree for the
resource-tree view, and emits an event whenever a managed object changes (the trigger
for self-heal).
"""

from tether.live.cache import (
    CHILD_KINDS,
    Change,
    ChangeType,
    ClusterCache,
    TrackingMethod,
    tracking_app_of,
)

__all__ = [
    "CHILD_KINDS",
    "Change",
    "ChangeType",
    "ClusterCache",
    "TrackingMethod",
    "tracking_app_of",
]
