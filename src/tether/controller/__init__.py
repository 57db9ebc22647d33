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
:mod:`~tether.controller.clusters` (destinations, their clients and caches),
:mod:`~tether.controller.comparison` (resolve, render, collect live, diff, health),
:mod:`~tether.controller.status` (status fields, written only when changed),
:mod:`~tether.controller.autosync` (Argo CD's automated-sync rules and self-heal
back-off), :mod:`~tether.controller.operation` (running syncs, history, retries),
:mod:`~tether.controller.workqueue` (deduplicated keyed queues) and
:mod:`~tether.controller.appcontroller` (the event routing and the two queues).

Rules
-----
- A failed comparison (unreachable repository, render error) writes a
  ``ComparisonError`` condition and an ``Unknown`` sync status and keeps the last known
  resources and health; it never leads to a sync, so nothing is pruned.
- An automated sync happens once per revision; ``selfHeal`` re-syncs drift after a
  growing back-off; a sync that would prune everything needs ``allowEmpty``.
- Status is written only when something but its timestamps changed.
"""

from tether.controller.appcontroller import ApplicationController
from tether.controller.install import install

__all__ = ["ApplicationController", "install"]
