"""The controller: reconcilers that make clusters follow Git.

The application reconciler refreshes each Application (render, compare, assess
health), writes its ``.status`` when something changed, and runs sync operations:
automated ones as the sync policy says, and manual ones requested through the API.
The ApplicationSet reconciler runs generators, renders templates and creates, updates
or deletes the generated Applications. Projects, sync windows, history and rollback,
app-of-apps and destination clusters are handled here.

Using it
--------
::

    await install(client, "argocd")                     # CRDs, namespace, default project
    controller = ApplicationController(client, GitCache(cache_dir), namespace="argocd")
    await controller.start()                            # watches, queues, periodic resync
    ...
    await controller.close()

Modules, in the order a refresh uses them: :mod:`~tether.controller.settings`
(``argocd-cm``), :mod:`~tether.controller.projects` (AppProject lookup and checks),
:mod:`~tether.controller.clusters` (destinations, their clients and caches; the Secrets
``tether cluster add`` writes come from :mod:`~tether.controller.clustersecret`),
:mod:`~tether.controller.comparison` (resolve, render, collect live, diff, health),
:mod:`~tether.controller.orphans` (``OrphanedResourceWarning``),
:mod:`~tether.controller.status` (status fields, written only when changed),
:mod:`~tether.controller.autosync` (Argo CD's automated-sync rules and self-heal
back-off), :mod:`~tether.controller.gates` (what holds a sync back:
:mod:`~tether.controller.syncwindows` and :mod:`~tether.controller.dependencies`),
:mod:`~tether.controller.operation` (running syncs, history, retries),
:mod:`~tether.controller.rollback` (``request_rollback``),
:mod:`~tether.controller.deletion` (cascading deletion and its hooks),
:mod:`~tether.controller.appwriter` (patching Applications),
:mod:`~tether.controller.workqueue` (deduplicated, per-app rate-limited queues),
:mod:`~tether.controller.leases` (shards of apps held through Leases, for several
replicas), :mod:`~tether.controller.metrics` (Prometheus metrics with Argo CD's names;
``docs/monitoring.md``) and :mod:`~tether.controller.appcontroller` (the event routing
and the two queues). ``docs/controller.md`` is the operator's guide.

Rules
-----
- A failed comparison (unreachable repository, render error) writes a
  ``ComparisonError`` condition and an ``Unknown`` sync status and keeps the last known
  resources and health; it never leads to a sync, so nothing is pruned.
- An automated sync happens once per (revision, spec); a failed one is not repeated on
  the same revision unless ``syncPolicy.retry`` says so (a ``SyncError`` condition says
  why); ``selfHeal`` re-syncs drift after a growing back-off (2 s, x3, capped at 300 s;
  ``tether.dev/self-heal.backoff.*`` in ``argocd-cm``); a sync that would prune
  everything needs ``allowEmpty``.
- A sync starts only through open gates: the project's sync windows and the app's
  ``tether.dev/depends-on`` apps (Synced, Healthy, not syncing). A closed gate is a
  condition on the app, and the message of a requested operation while it waits. An
  automated sync or a retry is recorded as started only once its gate is open; a user's
  request is recorded at once and waits.
- Time is the controller's clock throughout (window verdicts, ``startedAt``,
  ``finishedAt``, back-offs). A last sync that lies ahead of the clock (the clock went
  back) does not hold a self-heal or retry back-off for the length of the jump.
- Rollback syncs a history entry's revision and source and turns automated sync off.
- Deleting an app with ``resources-finalizer.argocd.argoproj.io`` (foreground) or
  ``.../background`` runs its PreDelete hooks, deletes its resources (not those with
  ``Delete=false``), runs its PostDelete hooks, then releases the app
  (:mod:`~tether.controller.deletion`); a running sync of the app is stopped first.
  Without the finalizer nothing is deleted.
- Operations read the app from the API server, never from a cache that may lag, so a
  finished operation is never started again; a restarted controller resumes a Running
  one from ``.status.operationState``. An operation whose cluster cannot be read for a
  while (it restarts, the network dropped) is not ended either: it stays Running, its
  message says what it waits for, and it resumes where it stopped, so the hooks it
  completed do not run again. ``syncPolicy.retry`` retries an operation that ended in
  Failed or in Error, as Argo CD does.
- With several replicas (``--shards``), exactly one holds each app's shard Lease and
  only it writes the app.
- Status is written only when something but its timestamps changed.
"""

from tether.controller.appcontroller import ApplicationController
from tether.controller.install import install
from tether.controller.rollback import RollbackError, request_rollback

__all__ = ["ApplicationController", "RollbackError", "install", "request_rollback"]
