"""An Application's source: where its manifests come from and how they are rendered.

These types mirror Argo CD's ``ApplicationSource`` (``spec.source`` or each item of
``spec.sources``) field for field, with the same camelCase names on the wire. They are
parsed from plain mappings with :meth:`ApplicationSource.from_dict`, which checks types and
reports the first bad field by its path (``spec.source.helm.valueFiles[1]``), and turned
back into mappings with :meth:`ApplicationSource.to_dict` so they round-trip unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tether.model.specerror import SpecError

_T = TypeVar("_T")


def _get(data: Mapping[str, Any], key: str, kind: type[_T], default: _T, path: str) -> _T:
    """Return ``data[key]`` checked against ``kind``, or ``default`` when absent or null."""
    value = data.get(key)
    if value is None:
        return default
    # Argo CD accepts numbers and booleans where strings are expected (YAML turns `1` into
    # an int); only the reverse is an error.
    if kind is str and isinstance(value, int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)  # type: ignore[return-value]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return value  # type: ignore[return-value]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SpecError(f"{path}.{key}", f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _mapping(data: Any, path: str) -> Mapping[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SpecError(path, f"expected an object, got {type(data).__name__}")
    return data


def _strings(data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    items = _get(data, key, list, [], path)
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise SpecError(f"{path}.{key}[{index}]", "expected a string")
        out.append(str(item))
    return tuple(out)


def _string_map(data: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
    items = _mapping(data.get(key), f"{path}.{key}")
    return {str(k): _get(items, k, str, "", f"{path}.{key}") for k in items}


def _objects(data: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The items of a list of objects, each with its path for error messages."""
    items = _get(data, key, list, [], path)
    return [
        (f"{path}.{key}[{i}]", _mapping(item, f"{path}.{key}[{i}]")) for i, item in enumerate(items)
    ]


def _prune(value: dict[str, Any]) -> dict[str, Any]:
    """Drop empty fields, so that ``to_dict`` writes what Argo CD writes (``omitempty``)."""
    return {k: v for k, v in value.items() if v not in (None, "", [], {}, False)}


@dataclass(frozen=True, slots=True)
class HelmParameter:
    """One ``--set`` (or ``--set-string`` when ``force_string``) parameter."""

    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True, slots=True)
class HelmFileParameter:
    """One ``--set-file`` parameter; ``path`` is relative to the chart, inside the repo."""

    name: str
    path: str


@dataclass(frozen=True, slots=True)
class HelmSource:
    """``spec.source.helm``: options for ``helm template``."""

    value_files: tuple[str, ...] = ()
    parameters: tuple[HelmParameter, ...] = ()
    file_parameters: tuple[HelmFileParameter, ...] = ()
    release_name: str = ""
    values: str = ""
    values_object: Mapping[str, Any] | None = None
    ignore_missing_value_files: bool = False
    skip_crds: bool = False
    skip_tests: bool = False
    skip_schema_validation: bool = False
    pass_credentials: bool = False
    namespace: str = ""
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    version: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> HelmSource:
        """Parse ``spec.source.helm``."""
        values_object = data.get("valuesObject")
        if values_object is not None and not isinstance(values_object, Mapping):
            raise SpecError(f"{path}.valuesObject", "expected an object")
        return cls(
            value_files=_strings(data, "valueFiles", path),
            parameters=tuple(
                HelmParameter(
                    name=_get(item, "name", str, "", p),
                    value=_get(item, "value", str, "", p),
                    force_string=_get(item, "forceString", bool, False, p),
                )
                for p, item in _objects(data, "parameters", path)
            ),
            file_parameters=tuple(
                HelmFileParameter(
                    name=_get(item, "name", str, "", p), path=_get(item, "path", str, "", p)
                )
                for p, item in _objects(data, "fileParameters", path)
            ),
            release_name=_get(data, "releaseName", str, "", path),
            values=_get(data, "values", str, "", path),
            values_object=values_object,
            ignore_missing_value_files=_get(data, "ignoreMissingValueFiles", bool, False, path),
            skip_crds=_get(data, "skipCrds", bool, False, path),
            skip_tests=_get(data, "skipTests", bool, False, path),
            skip_schema_validation=_get(data, "skipSchemaValidation", bool, False, path),
            pass_credentials=_get(data, "passCredentials", bool, False, path),
            namespace=_get(data, "namespace", str, "", path),
            kube_version=_get(data, "kubeVersion", str, "", path),
            api_versions=_strings(data, "apiVersions", path),
            version=_get(data, "version", str, "", path),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase, empty fields omitted)."""
        return _prune(
            {
                "valueFiles": list(self.value_files),
                "parameters": [
                    {"name": p.name, "value": p.value}
                    | ({"forceString": True} if p.force_string else {})
                    for p in self.parameters
                ],
                "fileParameters": [{"name": p.name, "path": p.path} for p in self.file_parameters],
                "releaseName": self.release_name,
                "values": self.values,
                "valuesObject": dict(self.values_object) if self.values_object else None,
                "ignoreMissingValueFiles": self.ignore_missing_value_files,
                "skipCrds": self.skip_crds,
                "skipTests": self.skip_tests,
                "skipSchemaValidation": self.skip_schema_validation,
                "passCredentials": self.pass_credentials,
                "namespace": self.namespace,
                "kubeVersion": self.kube_version,
                "apiVersions": list(self.api_versions),
                "version": self.version,
            }
        )


@dataclass(frozen=True, slots=True)
class KustomizeReplica:
    """One ``replicas`` override: the workload's name and its count."""

    name: str
    count: int


@dataclass(frozen=True, slots=True)
class KustomizeSource:
    """``spec.source.kustomize``: edits Argo CD makes to the kustomization before building."""

    name_prefix: str = ""
    name_suffix: str = ""
    images: tuple[str, ...] = ()
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    common_annotations_envsubst: bool = False
    force_common_labels: bool = False
    force_common_annotations: bool = False
    label_without_selector: bool = False
    label_include_templates: bool = False
    namespace: str = ""
    replicas: tuple[KustomizeReplica, ...] = ()
    patches: tuple[Mapping[str, Any], ...] = ()
    components: tuple[str, ...] = ()
    ignore_missing_components: bool = False
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    version: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> KustomizeSource:
        """Parse ``spec.source.kustomize``."""
        replicas = []
        for p, item in _objects(data, "replicas", path):
            raw = item.get("count")
            try:
                count = int(str(raw))  # int-or-string on the wire
            except (TypeError, ValueError):
                raise SpecError(f"{p}.count", f"expected an integer, got {raw!r}") from None
            replicas.append(KustomizeReplica(name=_get(item, "name", str, "", p), count=count))
        return cls(
            name_prefix=_get(data, "namePrefix", str, "", path),
            name_suffix=_get(data, "nameSuffix", str, "", path),
            images=_strings(data, "images", path),
            common_labels=_string_map(data, "commonLabels", path),
            common_annotations=_string_map(data, "commonAnnotations", path),
            common_annotations_envsubst=_get(data, "commonAnnotationsEnvsubst", bool, False, path),
            force_common_labels=_get(data, "forceCommonLabels", bool, False, path),
            force_common_annotations=_get(data, "forceCommonAnnotations", bool, False, path),
            label_without_selector=_get(data, "labelWithoutSelector", bool, False, path),
            label_include_templates=_get(data, "labelIncludeTemplates", bool, False, path),
            namespace=_get(data, "namespace", str, "", path),
            replicas=tuple(replicas),
            patches=tuple(item for _, item in _objects(data, "patches", path)),
            components=_strings(data, "components", path),
            ignore_missing_components=_get(data, "ignoreMissingComponents", bool, False, path),
            kube_version=_get(data, "kubeVersion", str, "", path),
            api_versions=_strings(data, "apiVersions", path),
            version=_get(data, "version", str, "", path),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase, empty fields omitted)."""
        return _prune(
            {
                "namePrefix": self.name_prefix,
                "nameSuffix": self.name_suffix,
                "images": list(self.images),
                "commonLabels": dict(self.common_labels),
                "commonAnnotations": dict(self.common_annotations),
                "commonAnnotationsEnvsubst": self.common_annotations_envsubst,
                "forceCommonLabels": self.force_common_labels,
                "forceCommonAnnotations": self.force_common_annotations,
                "labelWithoutSelector": self.label_without_selector,
                "labelIncludeTemplates": self.label_include_templates,
                "namespace": self.namespace,
                "replicas": [{"name": r.name, "count": r.count} for r in self.replicas],
                "patches": [dict(p) for p in self.patches],
                "components": list(self.components),
                "ignoreMissingComponents": self.ignore_missing_components,
                "kubeVersion": self.kube_version,
                "apiVersions": list(self.api_versions),
                "version": self.version,
            }
        )


@dataclass(frozen=True, slots=True)
class JsonnetVar:
    """An external variable or top-level argument; ``code`` means the value is Jsonnet code."""

    name: str
    value: str
    code: bool = False


@dataclass(frozen=True, slots=True)
class JsonnetSource:
    """``spec.source.directory.jsonnet``."""

    ext_vars: tuple[JsonnetVar, ...] = ()
    tlas: tuple[JsonnetVar, ...] = ()
    libs: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> JsonnetSource:
        """Parse ``spec.source.directory.jsonnet``."""

        def variables(key: str) -> tuple[JsonnetVar, ...]:
            return tuple(
                JsonnetVar(
                    name=_get(item, "name", str, "", p),
                    value=_get(item, "value", str, "", p),
                    code=_get(item, "code", bool, False, p),
                )
                for p, item in _objects(data, key, path)
            )

        return cls(
            ext_vars=variables("extVars"), tlas=variables("tlas"), libs=_strings(data, "libs", path)
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase, empty fields omitted)."""

        def variables(items: tuple[JsonnetVar, ...]) -> list[dict[str, Any]]:
            return [
                {"name": v.name, "value": v.value} | ({"code": True} if v.code else {})
                for v in items
            ]

        return _prune(
            {
                "extVars": variables(self.ext_vars),
                "tlas": variables(self.tlas),
                "libs": list(self.libs),
            }
        )


@dataclass(frozen=True, slots=True)
class DirectorySource:
    """``spec.source.directory``: a folder of YAML, JSON and Jsonnet files."""

    recurse: bool = False
    include: str = ""
    exclude: str = ""
    jsonnet: JsonnetSource = field(default_factory=JsonnetSource)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> DirectorySource:
        """Parse ``spec.source.directory``."""
        return cls(
            recurse=_get(data, "recurse", bool, False, path),
            include=_get(data, "include", str, "", path),
            exclude=_get(data, "exclude", str, "", path),
            jsonnet=JsonnetSource.from_dict(
                _mapping(data.get("jsonnet"), f"{path}.jsonnet"), f"{path}.jsonnet"
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase, empty fields omitted)."""
        return _prune(
            {
                "recurse": self.recurse,
                "include": self.include,
                "exclude": self.exclude,
                "jsonnet": self.jsonnet.to_dict(),
            }
        )


@dataclass(frozen=True, slots=True)
class PluginParameter:
    """A plugin parameter: exactly one of a string, an array or a map."""

    name: str
    string: str | None = None
    array: tuple[str, ...] | None = None
    map: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class PluginSource:
    """``spec.source.plugin``: a config management plugin and its inputs."""

    name: str = ""
    env: tuple[tuple[str, str], ...] = ()
    parameters: tuple[PluginParameter, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> PluginSource:
        """Parse ``spec.source.plugin``."""
        env = tuple(
            (_get(item, "name", str, "", p), _get(item, "value", str, "", p))
            for p, item in _objects(data, "env", path)
        )
        parameters = []
        for p, item in _objects(data, "parameters", path):
            array = _strings(item, "array", p) if "array" in item else None
            mapping = _string_map(item, "map", p) if "map" in item else None
            parameters.append(
                PluginParameter(
                    name=_get(item, "name", str, "", p),
                    string=_get(item, "string", str, "", p) if "string" in item else None,
                    array=array,
                    map=mapping,
                )
            )
        return cls(name=_get(data, "name", str, "", path), env=env, parameters=tuple(parameters))

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase, empty fields omitted)."""
        parameters: list[dict[str, Any]] = []
        for p in self.parameters:
            item: dict[str, Any] = {"name": p.name}
            if p.string is not None:
                item["string"] = p.string
            if p.array is not None:
                item["array"] = list(p.array)
            if p.map is not None:
                item["map"] = dict(p.map)
            parameters.append(item)
        out: dict[str, Any] = _prune(
            {"name": self.name, "env": [{"name": n, "value": v} for n, v in self.env]}
        )
        if parameters:
            out["parameters"] = parameters
        return out


@dataclass(frozen=True, slots=True)
class ApplicationSource:
    """One source of an Application: a Git path or a Helm chart, and how to render it.

    ``chart`` set means ``repo_url`` is a Helm repository (HTTP or ``oci://``) and
    ``target_revision`` the chart version; otherwise ``repo_url`` is a Git repository and
    ``path`` a folder in it. ``ref`` names a source whose files other sources may use in
    Helm value files as ``$<ref>/path``.
    """

    repo_url: str
    path: str = ""
    target_revision: str = ""
    chart: str = ""
    ref: str = ""
    name: str = ""
    helm: HelmSource | None = None
    kustomize: KustomizeSource | None = None
    directory: DirectorySource | None = None
    plugin: PluginSource | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str = "spec.source") -> ApplicationSource:
        """Parse a source from its wire form, raising :class:`SpecError` on a bad field."""
        data = _mapping(data, path)
        repo_url = _get(data, "repoURL", str, "", path)
        if not repo_url:
            raise SpecError(f"{path}.repoURL", "is required")

        def block(key: str) -> Mapping[str, Any] | None:
            raw = data.get(key)
            return None if raw is None else _mapping(raw, f"{path}.{key}")

        helm, kustomize, directory, plugin = (
            block(k) for k in ("helm", "kustomize", "directory", "plugin")
        )
        return cls(
            repo_url=repo_url,
            path=_get(data, "path", str, "", path),
            target_revision=_get(data, "targetRevision", str, "", path),
            chart=_get(data, "chart", str, "", path),
            ref=_get(data, "ref", str, "", path),
            name=_get(data, "name", str, "", path),
            helm=None if helm is None else HelmSource.from_dict(helm, f"{path}.helm"),
            kustomize=None
            if kustomize is None
            else KustomizeSource.from_dict(kustomize, f"{path}.kustomize"),
            directory=None
            if directory is None
            else DirectorySource.from_dict(directory, f"{path}.directory"),
            plugin=None if plugin is None else PluginSource.from_dict(plugin, f"{path}.plugin"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, as Argo CD writes it."""
        out: dict[str, Any] = _prune(
            {
                "repoURL": self.repo_url,
                "path": self.path,
                "targetRevision": self.target_revision,
                "chart": self.chart,
                "ref": self.ref,
                "name": self.name,
            }
        )
        for key, block in (
            ("helm", self.helm),
            ("kustomize", self.kustomize),
            ("directory", self.directory),
            ("plugin", self.plugin),
        ):
            if block is not None:
                out[key] = block.to_dict()
        return out

    @property
    def is_helm_repository(self) -> bool:
        """Whether this source is a chart from a Helm repository rather than a Git path."""
        return bool(self.chart)
