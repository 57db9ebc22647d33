"""Parameter sets: what generators produce and templates consume.

A parameter set is a mapping from names to values. For fasttemplate (the default)
every value is a string and nested data is flattened with dots (``cluster.name``,
``list.0``), as Argo CD does; with ``goTemplate: true`` values keep their shape
(nested maps, lists, numbers as Go ``float64``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from tether.controller.appsets.gotemplate.argofuncs import normalize
from tether.controller.appsets.gotemplate.values import format_value

ParamSet = dict[str, Any]


def as_go_data(value: Any) -> Any:
    """``value`` as Go decodes JSON into ``interface{}``: every number a ``float64``."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): as_go_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_go_data(v) for v in value]
    return value


def go_string(value: Any) -> str:
    """``fmt.Sprintf("%v", value)``: how fasttemplate parameters are written."""
    if isinstance(value, str):
        return value
    return format_value(as_go_data(value))


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested data as dotted keys with string values (lists indexed: ``a.0.b``)."""
    out: dict[str, str] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        _flatten_into(out, name, item)
    return out


def _flatten_into(out: dict[str, str], name: str, item: Any) -> None:
    if isinstance(item, Mapping) and item:
        for key, child in item.items():
            _flatten_into(out, f"{name}.{key}", child)
    elif isinstance(item, (list, tuple)) and item:
        for index, child in enumerate(item):
            _flatten_into(out, f"{name}.{index}", child)
    else:
        out[name] = go_string(item)


def flat_view(params: Mapping[str, Any]) -> dict[str, str]:
    """Every parameter as a dotted name and a string (for selectors and merge keys)."""
    return flatten(params)


def path_params(
    path: str, *, go_template: bool, prefix: str = "", with_file: str | None = None
) -> ParamSet:
    """Argo CD's path parameters of a Git generator for a directory (and a file in it).

    fasttemplate: ``path``, ``path.basename``, ``path.basenameNormalized``, ``path[N]``
    (and ``path.filename``, ``path.filenameNormalized`` for files); goTemplate: a
    ``path`` map with ``path``, ``basename``, ``basenameNormalized``, ``segments``
    (and ``filename``, ``filenameNormalized``). ``prefix`` is ``pathParamPrefix``.
    """
    segments = path.split("/")
    basename = posixpath.basename(path.rstrip("/")) or path
    if go_template:
        value: dict[str, Any] = {
            "path": path,
            "basename": basename,
            "basenameNormalized": normalize(basename),
            "segments": segments,
        }
        if with_file is not None:
            value["filename"] = with_file
            value["filenameNormalized"] = normalize(with_file)
        return {prefix: {"path": value}} if prefix else {"path": value}
    key = f"{prefix}.path" if prefix else "path"
    out: ParamSet = {
        key: path,
        f"{key}.basename": basename,
        f"{key}.basenameNormalized": normalize(basename),
    }
    if with_file is not None:
        out[f"{key}.filename"] = with_file
        out[f"{key}.filenameNormalized"] = normalize(with_file)
    for index, segment in enumerate(segments):
        if segment:
            out[f"{key}[{index}]"] = segment
    return out


def combine(first: Mapping[str, Any], second: Mapping[str, Any]) -> ParamSet:
    """Two parameter sets joined; nested maps merge, the second wins on a clash."""
    out: ParamSet = dict(first)
    for key, value in second.items():
        existing = out.get(key)
        if isinstance(existing, Mapping) and isinstance(value, Mapping):
            out[key] = combine(existing, value)
        else:
            out[key] = value
    return out


def conflicts(first: Mapping[str, Any], second: Mapping[str, Any]) -> Sequence[str]:
    """Keys both sets define with different string values (fasttemplate matrix clash)."""
    return sorted(k for k in first.keys() & second.keys() if first[k] != second[k])
