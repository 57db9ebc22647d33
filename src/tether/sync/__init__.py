"""Syncing: changing the cluster to match Git, in order, safely and resumably.

A sync operation runs in phases (PreSync, Sync, PostSync; SyncFail when it fails),
each split into waves (``argocd.argoproj.io/sync-wave``), each wave ordered by kind
(Namespaces and CRDs first) and name. A wave starts only when the previous one has
settled (no longer Progressing). Hooks run and are awaited. Objects are applied with
server-side apply under the field manager ``tether``.

Before the first write, every object is checked against its AppProject and
dry-run on the server, so an invalid object fails the sync without changing anything.
Only objects that carry the application's tracking id and are no longer desired are
pruned, and never after a failed or empty render. The operation's state is written
after every step so that a restarted controller resumes where it stopped.

Using it
--------
1. :func:`name_hooks` (hooks that only have ``generateName`` get a name stable for the
   operation) and :func:`assign_namespaces` (the destination namespace for namespaced
   objects without one) prepare the rendered objects.
2. :func:`plan_sync` (pure) turns desired and live objects, the app's
   :class:`~tether.model.syncoptions.SyncOptions`, ``prune``, a selection and the
   out-of-sync keys into a :class:`SyncPlan` of :class:`SyncStep` s.
3. :func:`run_sync` runs the plan with a :class:`SyncContext` (the cluster client, the
   AppProject, the destination, a ``save`` callback for the operation state, a health
   assessor, a clock and a sleep) and returns the final
   :class:`~tether.model.operation.OperationState`. Given a state saved by an earlier,
   interrupted run of the same operation, it resumes.

Rules
-----
- Server-side apply with the field manager ``tether`` and forced conflicts, always; a
  ``ServerSideApply=false`` option does not switch to client-side apply (tether has no
  last-applied three-way merge). ``Replace=true`` uses replace or create, and
  ``Force=true`` with it deletes and recreates.
- A wave starts when every object applied by the earlier waves of its phase exists and is
  no longer Progressing; a Degraded object does not hold the sync (as in Argo CD).
- Hooks are awaited until their health is Healthy (succeeded) or Degraded (failed);
  kinds without a health check complete once they exist. A failed step runs the
  SyncFail hooks and ends the operation as Failed.
- Pruning deletes with the object's uid as a precondition, so an object recreated by
  someone else meanwhile is never deleted by a stale decision.
"""

from tether.sync.context import Destination, SyncContext, sync_id_of
from tether.sync.plan import KIND_ORDER, Action, SyncPlan, SyncStep, SyncTask, kind_rank, plan_sync
from tether.sync.runner import run_sync
from tether.sync.targets import assign_namespaces, name_hooks

__all__ = [
    "KIND_ORDER",
    "Action",
    "Destination",
    "SyncContext",
    "SyncPlan",
    "SyncStep",
    "SyncTask",
    "assign_namespaces",
    "kind_rank",
    "name_hooks",
    "plan_sync",
    "run_sync",
    "sync_id_of",
]
