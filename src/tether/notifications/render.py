"""Rendering notification templates with the Go template engine.

Every string of a template (``message``, ``title`` and each string inside the
service-specific fields) is a Go ``text/template`` with Sprig, rendered over
``{"app": <Application>, "context": <context>, "serviceType": <type>,
"recipient": <recipient>}``, as Argo CD does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.controller.appsets.errors import TemplateError as GoTemplateError
from tether.controller.appsets.gotemplate import GoTemplate
from tether.notifications.errors import TemplateError
from tether.notifications.model import Rendered, Template


def _render_value(value: Any, data: Mapping[str, Any], name: str) -> Any:
    if isinstance(value, str):
        return GoTemplate(value, name=name).render(data)
    if isinstance(value, Mapping):
        return {k: _render_value(v, data, f"{name}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, data, name) for v in value]
    return value


def render(template: Template, data: Mapping[str, Any], app: str) -> Rendered:
    """Render ``template`` over ``data``; a syntax or execution error is a TemplateError."""
    try:
        return Rendered(
            template.name,
            _render_value(template.message, data, template.name),
            _render_value(template.title, data, template.name),
            _render_value(template.fields, data, template.name),
        )
    except (GoTemplateError, RecursionError) as error:
        raise TemplateError(template.name, app, str(error)) from error
