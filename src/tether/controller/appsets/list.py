"""The ``list`` generator: literal parameter sets, from ``elements`` and ``elementsYaml``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import Generated, GenerationContext, requeue_of
from tether.controller.appsets.params import ParamSet, as_go_data
from tether.model.applicationset import Generator
from tether.render.errors import RenderError
from tether.render.yamlio import load_documents


async def generate_list(generator: Generator, ctx: GenerationContext) -> Generated:
    """One parameter set per element.

    With fasttemplate every value must be a string (``values`` a map of strings, which
    become ``values.<key>``), as Argo CD requires; with goTemplate elements are used as
    they are. ``elementsYaml`` (usually itself templated by a matrix) adds elements.
    """
    elements = generator.body.get("elements") or []
    if not isinstance(elements, list):
        raise GeneratorError("list", "elements must be a list")
    out: list[ParamSet] = []
    for index, element in enumerate(elements):
        if not isinstance(element, Mapping):
            raise GeneratorError("list", f"elements[{index}] must be an object")
        out.append(_element(element, index, go_template=ctx.go_template))
    raw_yaml = generator.body.get("elementsYaml")
    if raw_yaml:
        out.extend(_yaml_elements(raw_yaml))
    return Generated(tuple(out), requeue_of(generator, None))


def _element(element: Mapping[str, Any], index: int, *, go_template: bool) -> ParamSet:
    if go_template:
        return dict(as_go_data(element))
    params: ParamSet = {}
    for key, value in element.items():
        if key == "values" and isinstance(value, Mapping):
            for name, item in value.items():
                if not isinstance(item, str):
                    raise GeneratorError(
                        "list", f"elements[{index}].values.{name} must be a string"
                    )
                params[f"values.{name}"] = item
        elif isinstance(value, str):
            params[str(key)] = value
        else:
            raise GeneratorError(
                "list",
                f"elements[{index}].{key} must be a string without goTemplate, got {value!r}",
            )
    return params


def _yaml_elements(raw: Any) -> list[ParamSet]:
    if not isinstance(raw, str):
        raise GeneratorError("list", "elementsYaml must be a string")
    try:
        documents = load_documents(raw, name="elementsYaml")
    except RenderError as error:
        raise GeneratorError("list", f"elementsYaml is not valid YAML: {error}") from error
    parsed = documents[0] if documents else None
    if parsed is None:
        return []
    if not isinstance(parsed, list) or not all(isinstance(e, Mapping) for e in parsed):
        raise GeneratorError("list", "elementsYaml must be a YAML list of objects")
    return [dict(as_go_data(e)) for e in parsed]
