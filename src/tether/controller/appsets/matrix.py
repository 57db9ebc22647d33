"""The ``matrix`` generator: every combination of two generators' parameter sets.

The second generator may use the first's parameters: before it runs, its definition
is rendered with each of the first generator's parameter sets (so a git generator can
read ``{{path}}/config.json`` for each cluster). With fasttemplate a name both sets
define with different values is an error; with goTemplate the first set wins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import Generated, GenerationContext, requeue_of
from tether.controller.appsets.params import ParamSet, combine, conflicts
from tether.model.applicationset import Generator

#: Runs a child generator, rendered with parameters when given (see :mod:`.generate`).
ChildRunner = Callable[
    [Generator, GenerationContext, Mapping[str, object] | None], Awaitable[Generated]
]


def earliest(*delays: float | None) -> float | None:
    """The soonest requeue among children (None: no child asks for one)."""
    present = [d for d in delays if d is not None]
    return min(present) if present else None


async def generate_matrix(
    generator: Generator, ctx: GenerationContext, run_child: ChildRunner
) -> Generated:
    """The cartesian product of the two children's parameter sets."""
    first_child, second_child = generator.children
    first = await run_child(first_child, ctx, None)
    out: list[ParamSet] = []
    delays: list[float | None] = [first.requeue_after]
    for left in first.params:
        second = await run_child(second_child, ctx, left)
        delays.append(second.requeue_after)
        for right in second.params:
            if ctx.go_template:
                out.append(combine(right, left))
                continue
            clash = conflicts(left, right)
            if clash:
                raise GeneratorError(
                    "matrix",
                    f"found duplicate key {clash[0]} with different value, "
                    f"a: {left[clash[0]]} ,b: {right[clash[0]]}",
                )
            out.append({**left, **right})
    return Generated(tuple(out), requeue_of(generator, earliest(*delays)))
