"""URL parsing: which resource, namespace, name and subresource a request path names.

Resource paths have the shapes kube-apiserver serves::

    /api/v1/<plural>[/<name>[/<sub>]]
    /api/v1/namespaces/<ns>/<plural>[/<name>[/<sub>]]
    /apis/<group>/<version>/...             (the same below the group version)

plus the legacy ``/watch/`` segment after the group version. ``namespaces/<name>/status``
and ``namespaces/<name>/finalize`` are subresources of a namespace, not a namespaced
resource: no resource is called ``status`` or ``finalize``.
"""

from __future__ import annotations

from dataclasses import dataclass

_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class ResourcePath:
    """A parsed resource URL."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""
    watch: bool = False


def parse_resource_path(segments: list[str]) -> ResourcePath | None:
    """Parse path ``segments`` (already split on ``/``), or ``None`` if not a resource."""
    if len(segments) >= 3 and segments[0] == "api":
        group, version, rest = "", segments[1], segments[2:]
    elif len(segments) >= 4 and segments[0] == "apis":
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return None
    watch = False
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
    if not rest or "" in rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    else:
        namespace = None
    if len(rest) > 3:
        return None
    return ResourcePath(
        group=group,
        version=version,
        plural=rest[0],
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else "",
        watch=watch,
    )
