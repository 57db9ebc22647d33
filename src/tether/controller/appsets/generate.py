"""Running an ApplicationSet's generators: dispatch, ``values``, ``selector``, overrides.

:func:`generate` runs every top-level generator and returns, per generator, its
parameter sets and the template override that goes with them. Any failure raises
:class:`GeneratorError`, and the caller must then change nothing (Argo CD's worst
failure, a transient error deleting every Application, cannot happen).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.controller.appsets.clusters import generate_clusters
from tether.controller.appsets.errors import GeneratorError, TemplateError
from tether.controller.appsets.generator import Generated, GenerationContext
from tether.controller.appsets.gitdirs import generate_git_directories
from tether.controller.appsets.gitfiles import generate_git_files
from tether.controller.appsets.list import generate_list
from tether.controller.appsets.matrix import earliest, generate_matrix
from tether.controller.appsets.merge import generate_merge
from tether.controller.appsets.params import ParamSet, flat_view
from tether.controller.appsets.plugin import generate_plugin
from tether.controller.appsets.pullrequest import generate_pull_requests
from tether.controller.appsets.scm import generate_scm_provider
from tether.controller.appsets.selectors import LabelSelector
from tether.controller.appsets.templating import render_data, substitution
from tether.model.applicationset import Generator


async def _run_type(generator: Generator, ctx: GenerationContext) -> Generated:
    kind = generator.type
    if kind == "list":
        return await generate_list(generator, ctx)
    if kind == "clusters":
        return await generate_clusters(generator, ctx)
    if kind == "git":
        if "files" in generator.body:
            return await generate_git_files(generator, ctx)
        return await generate_git_directories(generator, ctx)
    if kind == "matrix":
        return await generate_matrix(generator, ctx, run_generator)
    if kind == "merge":
        return await generate_merge(generator, ctx, run_generator)
    if kind == "pullRequest":
        return await generate_pull_requests(generator, ctx)
    if kind == "scmProvider":
        return await generate_scm_provider(generator, ctx)
    if kind == "plugin":
        return await generate_plugin(generator, ctx)
    raise GeneratorError(kind, "this generator type is not supported by tether")


def interpolate(
    generator: Generator, params: Mapping[str, Any], ctx: GenerationContext
) -> Generator:
    """``generator`` with its definition rendered with ``params`` (matrix children).

    A ``template`` override inside the child is left alone: it is a template for the
    Applications, rendered later with the combined parameters.
    """
    substitute = substitution(params, go_template=ctx.go_template, options=ctx.options)
    wire = generator.to_dict()
    body = dict(wire[generator.type])
    override = body.pop("template", None)
    try:
        rendered = render_data({**wire, generator.type: body}, substitute)
    except TemplateError as error:
        raise GeneratorError(generator.type, f"failed to render the generator: {error}") from error
    if override is not None:
        rendered[generator.type]["template"] = override
    return Generator.from_dict(rendered, "generator")


async def run_generator(
    generator: Generator, ctx: GenerationContext, params: Mapping[str, Any] | None = None
) -> Generated:
    """One generator: run, then add ``values`` and apply its ``selector``."""
    if params is not None:
        generator = interpolate(generator, params, ctx)
    result = await _run_type(generator, ctx)
    with_values = tuple(_add_values(p, generator, ctx) for p in result.params)
    selector = LabelSelector.parse(generator.selector, generator.type)
    kept = tuple(p for p in with_values if selector.matches(flat_view(p)))
    return Generated(kept, result.requeue_after, generator.template)


def _add_values(params: ParamSet, generator: Generator, ctx: GenerationContext) -> ParamSet:
    if not generator.values:
        return params
    substitute = substitution(params, go_template=ctx.go_template, options=ctx.options)
    out = dict(params)
    try:
        rendered = {k: substitute(v) for k, v in sorted(generator.values.items())}
    except TemplateError as error:
        raise GeneratorError(generator.type, f"failed to render values: {error}") from error
    if ctx.go_template:
        out["values"] = {**dict(out.get("values") or {}), **rendered}
    else:
        out.update({f"values.{k}": v for k, v in rendered.items()})
    return out


async def generate(ctx: GenerationContext) -> tuple[list[Generated], float | None]:
    """Every top-level generator's result, and when to run them again."""
    results = [await run_generator(g, ctx) for g in ctx.appset.spec.generators]
    return results, earliest(*(r.requeue_after for r in results))
