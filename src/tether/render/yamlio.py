"""Reading YAML and JSON streams from hostile repositories, within fixed limits.

A manifest file, a values file or a tool's output becomes a list of documents here.
What the repository controls cannot make tether spend unbounded memory or time:

- the input is refused past :attr:`YamlLimits.max_bytes` before it is parsed (a file
  is refused by its size, without being read);
- YAML aliases are checked on the node graph *before* Python objects are built: a
  document whose aliases would expand to more than :attr:`YamlLimits.max_alias_nodes`
  extra nodes (the "billion laughs" shape) or that refers to itself is refused, never
  expanded;
- nesting deeper than :attr:`YamlLimits.max_depth` is refused.

Empty documents (``---`` followed by nothing, comments only) are skipped, as
``kubectl`` and Argo CD skip them. Errors are :class:`~tether.render.errors.ManifestError`
values that name the file, the 1-based document number and the line.

:func:`to_objects` then checks that documents are Kubernetes objects (a mapping with
``apiVersion`` and ``kind``) and flattens ``List`` kinds into their items.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tether.render.errors import ManifestError, ManifestLimitError

try:  # libyaml is what makes parsing fast; PyYAML wheels bundle it.
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - only on builds without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _Dumper(_BaseDumper):
    """The safe dumper, writing multi-line strings as literal blocks (``|``)."""


def _represent_str(dumper: _BaseDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)

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
        Dumper=_Dumper,
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


def _iter_yaml(data: str | bytes, name: str, limits: YamlLimits) -> Iterator[Any]:
    loader = _Loader(data)
    number = 0
    try:
        while True:
            number += 1
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.MarkedYAMLError as error:
                mark = error.problem_mark or error.context_mark
                line = mark.line + 1 if mark is not None else None
                problem = error.problem or error.context or "invalid YAML"
                raise ManifestError(
                    name, f"invalid YAML: {problem}", document=number, line=line
                ) from error
            except yaml.YAMLError as error:
                raise ManifestError(name, f"invalid YAML: {error}", document=number) from error
            if node is None:
                continue
            _check_graph(node, name, number, limits)
            try:
                document = loader.construct_document(node)
            except yaml.MarkedYAMLError as error:
                mark = error.problem_mark or error.context_mark
                line = mark.line + 1 if mark is not None else None
                raise ManifestError(
                    name, f"invalid YAML: {error.problem}", document=number, line=line
                ) from error
            if document is not None:
                yield document
    finally:
        loader.dispose()


def _check_graph(root: Node, name: str, number: int, limits: YamlLimits) -> None:
    """Refuse a document whose alias expansion, recursion or depth exceeds ``limits``.

    Aliases make the node graph a DAG whose shared nodes are counted once per
    reference; the expanded size is computed bottom-up with each node's size memoised,
    so even a graph that expands to 10^9 nodes is measured in time linear in its
    written size. A cycle (an alias inside its own anchor) is refused outright.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    written = 0
    # Iterative post-order walk: (node, children visited?)
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(child)] for child in children)
            depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
            if depth[key] > limits.max_depth:
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
        written += 1
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
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
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    assert isinstance(node, ScalarNode)
    return []


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
