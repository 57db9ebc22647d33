"""Substituting parameters into an ApplicationSet's template.

Two languages, as in Argo CD:

fasttemplate (the default)
    ``{{name}}`` (spaces inside the braces allowed) is replaced by the parameter's
    string value. An unknown name is left exactly as written, so a template meant for
    a later stage survives; there is no escaping and no logic.
goTemplate (``goTemplate: true``)
    Each string of the template is a Go ``text/template`` (see :mod:`.gotemplate`)
    executed over the parameters, with ``goTemplateOptions`` (``missingkey=error``).

Both walk the template's data and substitute into every string value and every map
key (labels and annotations are often keyed by parameters); numbers and booleans
are left alone. ``templatePatch`` is a Go template rendered once as a whole, parsed as
YAML and merged over the rendered Application.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from tether.controller.appsets.errors import TemplateError
from tether.controller.appsets.gotemplate import GoTemplate
from tether.render.errors import RenderError
from tether.render.yamlio import load_documents

_TAG: Final = re.compile(r"\{\{(.*?)\}\}", re.S)

Substitute = Callable[[str], str]


def fasttemplate(text: str, params: Mapping[str, Any]) -> str:
    """Replace ``{{ name }}`` tags whose trimmed name is a string parameter."""
    if "{{" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        value = params.get(name)
        if not name or not isinstance(value, str):
            return match.group(0)
        return value

    return _TAG.sub(replace, text)


def substitution(
    params: Mapping[str, Any], *, go_template: bool, options: Sequence[str] = ()
) -> Substitute:
    """A function that renders one template string with ``params``."""
    if not go_template:
        return lambda text: fasttemplate(text, params)

    def render(text: str) -> str:
        if "{{" not in text:
            return text
        return GoTemplate(text, options=options).render(params)

    return render


def render_data(data: Any, substitute: Substitute) -> Any:
    """``data`` with every string (values and map keys) rendered by ``substitute``."""
    if isinstance(data, str):
        return substitute(data)
    if isinstance(data, Mapping):
        return {substitute(str(k)): render_data(v, substitute) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [render_data(v, substitute) for v in data]
    return data


def render_patch(
    patch: str, params: Mapping[str, Any], options: Sequence[str] = ()
) -> Mapping[str, Any]:
    """Render a ``templatePatch`` and parse the YAML it produces."""
    text = GoTemplate(patch, name="templatePatch", options=options).render(params)
    try:
        documents = load_documents(text, name="templatePatch")
    except RenderError as error:
        raise TemplateError(f"templatePatch did not render to valid YAML: {error}") from error
    parsed = documents[0] if documents else None
    if parsed is None:
        return {}
    if not isinstance(parsed, Mapping):
        raise TemplateError("templatePatch must render to a YAML mapping")
    return parsed


def merge_over(base: Any, patch: Any) -> Any:
    """``patch`` merged over ``base``: maps merge key by key, anything else replaces.

    This is what Argo CD's strategic merge of a templatePatch amounts to for an
    Application, whose lists carry no merge keys: a list in the patch replaces the
    list in the template. A ``null`` in the patch removes the key.
    """
    if not isinstance(base, Mapping) or not isinstance(patch, Mapping):
        return patch
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_over(out.get(key), value)
    return out


def override_template(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A generator's ``template`` over the ApplicationSet's: its set fields win."""
    out = dict(base)
    for key, value in override.items():
        if value in (None, "", {}, []):
            continue
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = override_template(current, value)
        else:
            out[key] = value
    return out
