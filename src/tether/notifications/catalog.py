"""The built-in triggers and templates: Argo CD's notification catalog.

Each trigger has Argo CD's name, condition and ``oncePer``; each sends the catalog's
template of the matching name. ``argocd-notifications-cm`` entries of the same name
replace them, so a user's catalog install keeps working unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from tether.notifications.model import Condition, Template, Trigger

_OPERATION = "app.status.operationState != nil and app.status.operationState.phase in "


def _trigger(name: str, when: str, template: str, description: str, once: str = "") -> Trigger:
    return Trigger(name, (Condition(when, (template,), once, description),))


BUILTIN_TRIGGERS: Final[Mapping[str, Trigger]] = {
    t.name: t
    for t in (
        _trigger(
            "on-created", "true", "app-created", "Application is created.",
            once="app.metadata.name",
        ),
        _trigger(
            "on-deleted", "app.metadata.deletionTimestamp != nil", "app-deleted",
            "Application is deleted.", once="app.metadata.name",
        ),
        _trigger(
            "on-deployed",
            _OPERATION + "['Succeeded'] and app.status.health.status == 'Healthy'",
            "app-deployed",
            "Application is synced and healthy. Triggered once per commit.",
            once="app.status.operationState?.syncResult?.revision",
        ),
        _trigger(
            "on-health-degraded", "app.status.health.status == 'Degraded'",
            "app-health-degraded", "Application has degraded",
        ),
        _trigger(
            "on-sync-failed", _OPERATION + "['Error', 'Failed']", "app-sync-failed",
            "Application syncing has failed",
        ),
        _trigger(
            "on-sync-running", _OPERATION + "['Running']", "app-sync-running",
            "Application is being synced",
        ),
        _trigger(
            "on-sync-status-unknown", "app.status.sync.status == 'Unknown'",
            "app-sync-status-unknown", "Application status is 'Unknown'",
        ),
        _trigger(
            "on-sync-succeeded", _OPERATION + "['Succeeded']", "app-sync-succeeded",
            "Application syncing has succeeded",
        ),
    )
}  # fmt: skip

_APP = "{{.app.metadata.name}}"
_REVISION = "{{.app.status.sync.revision}}"

BUILTIN_TEMPLATES: Final[Mapping[str, Template]] = {
    t.name: t
    for t in (
        Template("app-created", f"Application {_APP} has been created.", "Application created"),
        Template("app-deleted", f"Application {_APP} has been deleted.", "Application deleted"),
        Template(
            "app-deployed",
            f"Application {_APP} is now running new version of deployments manifests "
            f"(revision {_REVISION}).",
            f"New version of an application {_APP} is up and running.",
        ),
        Template(
            "app-health-degraded",
            f"Application {_APP} has degraded.",
            f"Application {_APP} has degraded.",
        ),
        Template(
            "app-sync-failed",
            f"The sync operation of application {_APP} has failed at "
            "{{.app.status.operationState.finishedAt}} with the following error: "
            "{{.app.status.operationState.message}}",
            f"Failed to sync application {_APP}.",
        ),
        Template(
            "app-sync-running",
            f"The sync operation of application {_APP} has started at "
            "{{.app.status.operationState.startedAt}}.",
            f"Start syncing application {_APP}.",
        ),
        Template(
            "app-sync-status-unknown",
            f"Application {_APP} sync is 'Unknown'.",
            f"Application {_APP} sync status is 'Unknown'",
        ),
        Template(
            "app-sync-succeeded",
            f"Application {_APP} has been successfully synced at "
            "{{.app.status.operationState.finishedAt}}.",
            f"Application {_APP} has been successfully synced",
        ),
    )
}
