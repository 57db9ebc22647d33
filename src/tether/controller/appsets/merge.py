"""The ``merge`` generator: the first generator's sets, overridden by matching later ones.

Sets match when they agree on every ``mergeKeys`` parameter. Sets of a later generator
that match no base set are dropped; base sets without a match are kept as they are.
Two sets of one generator with the same merge-key values are an error, as in Argo CD.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import Generated, GenerationContext, requeue_of
from tether.controller.appsets.matrix import ChildRunner, earliest
from tether.controller.appsets.params import ParamSet, combine
from tether.model.applicationset import Generator


def _lookup(params: Mapping[str, Any], key: str) -> Any:
    if key in params:
        return params[key]
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _by_merge_key(keys: tuple[str, ...], params: tuple[ParamSet, ...]) -> dict[str, ParamSet]:
    out: dict[str, ParamSet] = {}
    for param_set in params:
        identity = json.dumps({k: _lookup(param_set, k) for k in sorted(set(keys))}, default=str)
        if identity in out:
            raise GeneratorError(
                "merge", f"param sets must be unique by merge keys; duplicate key was {identity}"
            )
        out[identity] = param_set
    return out


async def generate_merge(
    generator: Generator, ctx: GenerationContext, run_child: ChildRunner
) -> Generated:
    """Base sets from the first child, overridden by the others in order."""
    raw_keys = generator.body.get("mergeKeys") or []
    keys = tuple(str(k) for k in raw_keys)
    results = [await run_child(child, ctx, None) for child in generator.children]
    merged = _by_merge_key(keys, results[0].params)
    for result in results[1:]:
        overrides = _by_merge_key(keys, result.params)
        for identity, base in merged.items():
            override = overrides.get(identity)
            if override is not None:
                merged[identity] = combine(base, override) if ctx.go_template else base | override
    delays = [r.requeue_after for r in results]
    return Generated(tuple(merged.values()), requeue_of(generator, earliest(*delays)))
