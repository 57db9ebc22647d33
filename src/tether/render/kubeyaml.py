"""The YAML loader and dumper, reading scalars the way Kubernetes reads them.

PyYAML's safe loader builds Python types that a Kubernetes object cannot hold: dates
and datetimes for unquoted timestamps, ``bytes`` for ``!!binary``, ``set`` for
``!!set``, integer and boolean mapping keys, integers of any size. Kubernetes reads
YAML by converting it to JSON (sigs.k8s.io/yaml over go-yaml), so tether does what
that conversion does, and every loaded document is plain JSON data:

- timestamps stay strings (``2024-05-01`` is the string ``"2024-05-01"``);
- ``!!binary`` stays its base64 text; ``!!set`` becomes a mapping to nulls;
- mapping keys become strings (``80: http`` has the key ``"80"``, ``true`` is ``"true"``,
  ``null`` is ``"null"``);
- an integer outside the signed and unsigned 64-bit ranges becomes a float, as it does
  in Go.

YAML 1.1 booleans (``yes``, ``on``) stay booleans: go-yaml reads them so too.

The dumper writes multi-line strings as literal blocks (``|``) and keeps key order.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode

try:  # libyaml is what makes parsing fast; PyYAML wheels bundle it.
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - only on builds without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT_RANGE = range(-(2**63), 2**64)


class KubeLoader(_BaseLoader):
    """The safe loader with Kubernetes' reading of scalars and keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose keys are strings, as in JSON."""
        mapping = super().construct_mapping(node, deep=deep)
        if all(type(key) is str for key in mapping):
            return mapping
        return {_key_text(key): value for key, value in mapping.items()}

    def construct_kube_int(self, node: ScalarNode) -> int | float:
        """An integer, or a float when it does not fit in 64 bits."""
        value = SafeConstructor.construct_yaml_int(self, node)
        return value if value in _INT_RANGE else float(value)

    def construct_text(self, node: ScalarNode) -> str:
        """A scalar kept as its text (timestamps, ``!!binary``)."""
        return str(self.construct_scalar(node))

    def construct_kube_set(self, node: MappingNode) -> Any:
        """A ``!!set`` as the mapping to nulls it is written as."""
        data: dict[str, Any] = {}
        yield data
        data.update(self.construct_mapping(node))


# Timestamps are not recognised implicitly; an explicit ``!!timestamp`` is its text.
KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
KubeLoader.add_constructor(_TIMESTAMP, KubeLoader.construct_text)
KubeLoader.add_constructor("tag:yaml.org,2002:binary", KubeLoader.construct_text)
KubeLoader.add_constructor("tag:yaml.org,2002:int", KubeLoader.construct_kube_int)
KubeLoader.add_constructor("tag:yaml.org,2002:set", KubeLoader.construct_kube_set)


def _key_text(key: Any) -> str:
    """A mapping key as the string JSON needs (Go's spelling for booleans and null)."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


class KubeDumper(_BaseDumper):
    """The safe dumper, writing multi-line strings as literal blocks (``|``)."""


def _represent_str(dumper: _BaseDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


KubeDumper.add_representer(str, _represent_str)
