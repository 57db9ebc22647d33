"""AppProjects as the controller reads them: lookup, and what a project forbids an app.

The ``default`` project exists even before anyone creates it (as Argo CD installs it),
allowing everything. An app whose project is missing, whose repositories or destination
the project does not permit, or which lives in a namespace the project does not list
in ``sourceNamespaces`` gets an ``InvalidSpecError`` and is neither compared nor synced.
"""

from __future__ import annotations

import logging

from tether.live import ClusterCache
from tether.model import ResourceKey, SpecError
from tether.model.application import Application
from tether.model.project import AppProject, default_project

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "default"


def resolve_project(cache: ClusterCache, namespace: str, name: str) -> AppProject | None:
    """The AppProject ``name`` of the control namespace, or ``None`` if it does not exist."""
    found = cache.get(ResourceKey("argoproj.io", "AppProject", namespace, name))
    if found is None:
        return default_project(namespace) if name == DEFAULT_PROJECT else None
    try:
        return AppProject.from_dict(found)
    except SpecError as error:
        log.warning("failed to read AppProject %s/%s: %s", namespace, name, error)
        return None


def project_problem(
    app: Application, project: AppProject | None, control_namespace: str = ""
) -> str:
    """Why ``project`` does not allow ``app`` as specified, or ``""`` if it does.

    ``control_namespace`` is where projects live; an app elsewhere needs the project to
    list its namespace in ``sourceNamespaces``.
    """
    if project is None:
        return f"Application referencing project {app.spec.project_name} which does not exist"
    if control_namespace:
        permitted = project.is_app_namespace_permitted(app.namespace, control_namespace)
        if not permitted:
            return permitted.reason
    for source in app.sources:
        allowed = project.is_source_permitted(source.repo_url)
        if not allowed:
            return (
                f"application repo {source.repo_url} is not permitted in project '{project.name}'"
            )
    destination = app.spec.destination
    allowed = project.is_destination_permitted(
        destination.server, destination.name, destination.namespace
    )
    if not allowed:
        return allowed.reason
    return ""
