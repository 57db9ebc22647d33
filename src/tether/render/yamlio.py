"""Reading YAML and JSON streams from hostile repositories, within fixed limits.

A manifest file, a values file or a tool's output becomes a list of documents here.
What the repository controls cannot make tether spend unbounded memory or time:

- the input is refused past :attr:`YamlLimits.max_bytes` before it is parsed (a file
  is refused by its size, without being read);
- the node graph is checked *before* Python objects are built: nesting deeper than
  :attr:`YamlLimits.max_depth` collections (aliases expanded), aliases that would add
  more than :attr:`YamlLimits.max_alias_nodes` nodes (the "billion laughs" shape) and
  aliases inside their own anchor are refused, never expanded;
- a stream that could nest deeply enough to crash libyaml's recursive composer (tens
  of thousands of levels) is measured on the parser's event stream first, and refused
  there, before a node is composed.

Scalars are read as Kubernetes reads them (:mod:`tether.render.kubeyaml`): every
document is plain JSON data. Empty documents (``---`` followed by nothing, comments
only) are skipped, as
``kubectl`` and Argo CD skip them. Errors are :class:`~tether.render.errors.ManifestError`
values that name the file, the 1-based document number and the line.

:func:`to_objects` then checks that documents are Kubernetes objects (a mapping with
``apiVersion`` and ``kind``) and flattens ``List`` kinds into their items.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from yaml.events import (
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tether.render.errors import ManifestError, ManifestLimitError
from tether.render.kubeyaml import KubeDumper, KubeLoader

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """The bounds one stream is parsed within."""

    #: Largest accepted input, in bytes.
    max_bytes: int = 10 * MiB
    #: Nodes that alias expansion may add to one document, beyond the nodes written.
    max_alias_nodes: int = 100_000
    #: Deepest accepted nesting of mappings and sequences.
    max_depth: int = 100


DEFAULT_LIMITS = YamlLimits()


def load_documents(
    data: str | bytes, *, name: str, limits: YamlLimits = DEFAULT_LIMITS
) -> list[Any]:
    """The non-empty documents of the YAML stream ``data``; ``name`` goes in errors."""
    _check_size(len(data), name, limits)
    if _may_nest_deeply(data):
        _scan(data, name, limits)
    return list(_iter_yaml(data, name, limits))


def load_json(data: str | bytes, *, name: str, limits: YamlLimits = DEFAULT_LIMITS) -> list[Any]:
    """The one JSON value of ``data`` as a list of documents (empty for ``null``)."""
    _check_size(len(data), name, limits)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ManifestError(name, f"invalid JSON: {error}", line=error.lineno) from error
    _check_depth(value, name, limits)
    return [] if value is None else [value]


def load_file(path: Path, *, name: str, limits: YamlLimits = DEFAULT_LIMITS) -> list[Any]:
    """The documents of the file at ``path``: JSON for ``.json`` files, YAML otherwise.

    The size is checked before reading, and reading stops one byte past the limit in
    case the file grows meanwhile. ``name`` (usually repository-relative) goes in errors.
    """
    try:
        with path.open("rb") as handle:
            _check_size(os.fstat(handle.fileno()).st_size, name, limits)
            data = handle.read(limits.max_bytes + 1)
    except OSError as error:
        raise ManifestError(name, f"cannot read file: {error.strerror}") from error
    if path.suffix.lower() == ".json":
        return load_json(data, name=name, limits=limits)
    return load_documents(data, name=name, limits=limits)


def to_objects(documents: Iterable[Any], *, name: str) -> list[dict[str, Any]]:
    """``documents`` checked to be Kubernetes objects, ``List`` kinds flattened.

    A document that is not a mapping with string ``apiVersion`` and ``kind`` is an
    error naming ``name`` and the document number.
    """
    objects: list[dict[str, Any]] = []
    for number, document in enumerate(documents, start=1):
        _check_object(document, name, number)
        items = document.get("items")
        if str(document["kind"]).endswith("List") and isinstance(items, list):
            for item in items:
                _check_object(item, name, number)
                objects.append(item)
        else:
            objects.append(document)
    return objects


def dump_documents(documents: Iterable[Any]) -> str:
    """``documents`` as a ``---``-separated YAML stream, keys in their given order."""
    return yaml.dump_all(
        documents,
        Dumper=KubeDumper,
        explicit_start=True,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )


def _check_size(size: int, name: str, limits: YamlLimits) -> None:
    if size > limits.max_bytes:
        raise ManifestLimitError(
            name, f"is {size} bytes, more than the limit of {limits.max_bytes} bytes"
        )


def _check_object(document: Any, name: str, number: int) -> None:
    if not isinstance(document, dict):
        raise ManifestError(
            name,
            f"is not a Kubernetes object: expected a mapping, got {_kind_of(document)}",
            document=number,
        )
    missing = [key for key in ("apiVersion", "kind") if not isinstance(document.get(key), str)]
    if missing:
        raise ManifestError(
            name,
            f"is not a Kubernetes object: missing {' and '.join(missing)}",
            document=number,
        )


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


#: Nesting the libyaml composer survives with a wide margin (it crashes near 30,000).
_SAFE_COMPOSE_DEPTH = 5000
_LONG_LINE = re.compile(r"[^\n]{2000}")
_DEEP_INDENT = re.compile(r"^ {1000}", re.MULTILINE)


def _may_nest_deeply(data: str | bytes) -> bool:
    """Whether ``data`` could nest deeper than the composer safely recurses.

    A cheap, sound upper bound (C-speed counts and searches): flow nesting needs one
    ``[`` or ``{`` per level; block nesting needs either more indentation per level (at
    most two levels per column) or indicators on one line (at most one per two
    characters). Only streams over the bound pay for :func:`_scan`.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    flow = text.count("[") + text.count("{")
    return (
        flow > _SAFE_COMPOSE_DEPTH // 2
        or _LONG_LINE.search(text) is not None
        or _DEEP_INDENT.search(text) is not None
    )


def _scan(data: str | bytes, name: str, limits: YamlLimits) -> None:
    """Check nesting on the parser's events, before anything is composed.

    libyaml's composer recurses once per level of nesting, and tens of thousands of
    ``[`` crash the process; its event parser is a state machine. Errors name the
    document and line like parse errors do.
    """
    depth = 0
    number = 0
    try:
        for event in yaml.parse(data, Loader=KubeLoader):
            kind = type(event)
            if kind is SequenceStartEvent or kind is MappingStartEvent:
                depth += 1
                if depth > limits.max_depth:
                    mark = event.start_mark
                    raise ManifestLimitError(
                        name,
                        f"nesting is deeper than {limits.max_depth} levels",
                        document=number,
                        line=mark.line + 1 if mark is not None else None,
                    )
            elif kind is SequenceEndEvent or kind is MappingEndEvent:
                depth -= 1
            elif kind is DocumentStartEvent:
                number += 1
    except yaml.MarkedYAMLError as error:
        raise _parse_error(error, name, max(number, 1)) from error
    except yaml.YAMLError as error:
        raise ManifestError(name, f"invalid YAML: {error}", document=number or None) from error


def _parse_error(error: yaml.MarkedYAMLError, name: str, number: int) -> ManifestError:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = error.problem or error.context or "invalid YAML"
    return ManifestError(name, f"invalid YAML: {problem}", document=number, line=line)


def _iter_yaml(data: str | bytes, name: str, limits: YamlLimits) -> Iterator[Any]:
    loader = KubeLoader(data)
    number = 0
    try:
        while True:
            number += 1
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.MarkedYAMLError as error:
                raise _parse_error(error, name, number) from error
            except yaml.YAMLError as error:
                raise ManifestError(name, f"invalid YAML: {error}", document=number) from error
            if node is None:
                continue
            _check_graph(node, name, number, limits)
            try:
                document = loader.construct_document(node)
            except yaml.MarkedYAMLError as error:
                raise _parse_error(error, name, number) from error
            if document is not None:
                yield document
    finally:
        loader.dispose()


def _check_graph(root: Node, name: str, number: int, limits: YamlLimits) -> None:
    """Refuse a document whose nesting, alias expansion or recursion exceeds ``limits``.

    Aliases make the node graph a DAG whose shared collections count once per
    reference; the expanded size and depth are computed bottom-up with each collection's
    figures memoised, so even a graph that expands to 10^9 nodes is measured in time
    linear in its written size. Only collections are visited (a scalar is one node and
    no nesting). A cycle (an alias inside its own anchor) is refused outright.
    """
    if isinstance(root, ScalarNode):
        return
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    written = 0
    # Iterative post-order walk over collections: (node, children visited?)
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            total, deepest = 1, 0
            for child in children:
                if isinstance(child, ScalarNode):
                    total += 1
                else:
                    total += size[id(child)]
                    deepest = max(deepest, depth[id(child)])
            size[key] = total
            depth[key] = deepest + 1
            if deepest + 1 > limits.max_depth:
                raise ManifestLimitError(
                    name,
                    f"nesting is deeper than {limits.max_depth} levels",
                    document=number,
                    line=node.start_mark.line + 1,
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise ManifestLimitError(
                name,
                "an alias refers to a node that contains it (recursive document)",
                document=number,
                line=node.start_mark.line + 1,
            )
        on_path.add(key)
        stack.append((node, True))
        written += 1
        for child in children:
            if isinstance(child, ScalarNode):
                written += 1
            elif id(child) not in size:
                stack.append((child, False))
    expanded = size[id(root)]
    if expanded - written > limits.max_alias_nodes:
        raise ManifestLimitError(
            name,
            f"aliases expand {written} nodes to {expanded}, more than the "
            f"{limits.max_alias_nodes} extra nodes allowed",
            document=number,
            line=root.start_mark.line + 1,
        )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    assert isinstance(node, MappingNode)
    return [item for pair in node.value for item in pair]


def _check_depth(value: Any, name: str, limits: YamlLimits) -> None:
    """Refuse parsed JSON nested deeper than ``limits.max_depth`` (checked iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level > limits.max_depth:
            raise ManifestLimitError(name, f"nesting is deeper than {limits.max_depth} levels")
        stack.extend((child, level + 1) for child in children)
