"""Turning parameter sets into Applications: templates, overrides, patches, validation.

Each parameter set renders the ApplicationSet's ``template`` (or the generator's
override of it), then ``templatePatch``; the result must be a valid Application. One
that is not is reported by name and skipped, without blocking the others. Two
parameter sets rendering the same Application name make the whole pass fail: which
one should win cannot be decided, so nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tether.controller.appsets.errors import AppSetError, RenderError, TemplateError
from tether.controller.appsets.generator import Generated
from tether.controller.appsets.templating import (
    merge_over,
    override_template,
    render_data,
    render_patch,
    substitution,
)
from tether.model.application import API_VERSION, APPLICATION_KIND
from tether.model.applicationset import ApplicationSet, application_from_template
from tether.model.specerror import SpecError

#: A Kubernetes object name (RFC 1123 subdomain).
_DNS_SUBDOMAIN: Final = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
MAX_NAME_LENGTH: Final = 253


class DuplicateApplications(AppSetError):
    """Several parameter sets render Applications with one name."""

    def __init__(self, appset: str, names: Iterable[str]) -> None:
        shown = ", ".join(sorted(names))
        super().__init__(
            f"failed to render ApplicationSet {appset}: "
            f"it contains applications with duplicate names: {shown}"
        )
        self.names = tuple(sorted(names))


@dataclass(frozen=True, slots=True)
class Rendered:
    """The Applications a pass wants, and the parameter sets that failed to render."""

    applications: tuple[dict[str, Any], ...]
    failures: tuple[RenderError, ...]

    @property
    def names(self) -> frozenset[str]:
        """Names of the rendered Applications."""
        return frozenset(a["metadata"]["name"] for a in self.applications)


def render_one(
    appset: ApplicationSet, template: Mapping[str, Any], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The Application one parameter set describes (raises :class:`RenderError`)."""
    spec = appset.spec
    substitute = substitution(
        params, go_template=spec.go_template, options=spec.go_template_options
    )
    guessed = ""
    try:
        rendered = render_data(dict(template), substitute)
        guessed = str(((rendered.get("metadata") or {}).get("name")) or "")
        if spec.template_patch:
            patch = render_patch(spec.template_patch, params, spec.go_template_options)
            rendered = merge_over(rendered, patch)
            guessed = str(((rendered.get("metadata") or {}).get("name")) or guessed)
        namespace = appset.metadata.namespace or ""
        application_from_template(rendered, namespace)
    except (TemplateError, SpecError) as error:
        raise RenderError(guessed, str(error)) from error
    if not _DNS_SUBDOMAIN.fullmatch(guessed) or len(guessed) > MAX_NAME_LENGTH:
        raise RenderError(
            guessed,
            f"invalid metadata.name {guessed!r}: must be a lower-case DNS subdomain "
            f"of at most {MAX_NAME_LENGTH} characters (see the normalize function)",
        )
    metadata = dict(rendered.get("metadata") or {})
    metadata.setdefault("namespace", appset.metadata.namespace)
    return {
        "apiVersion": API_VERSION,
        "kind": APPLICATION_KIND,
        "metadata": metadata,
        "spec": rendered.get("spec"),
    }


def render_applications(appset: ApplicationSet, results: Iterable[Generated]) -> Rendered:
    """Every Application of a pass; raises :class:`DuplicateApplications` on a clash."""
    applications: list[dict[str, Any]] = []
    failures: list[RenderError] = []
    seen: dict[str, int] = {}
    for result in results:
        template = appset.spec.template
        if result.template:
            template = override_template(template, result.template)
        for params in result.params:
            try:
                app = render_one(appset, template, params)
            except RenderError as error:
                failures.append(error)
                continue
            name = app["metadata"]["name"]
            seen[name] = seen.get(name, 0) + 1
            applications.append(app)
    duplicates = [name for name, count in seen.items() if count > 1]
    if duplicates:
        raise DuplicateApplications(appset.metadata.name, duplicates)
    applications.sort(key=lambda a: a["metadata"]["name"])
    return Rendered(tuple(applications), tuple(failures))
