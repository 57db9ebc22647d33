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
from typing import Any

from tether.model.specerror import SpecError
from tether.model.wire import Fields, WireObject
from tether.model.wire import prune as _prune


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
class HelmSource(WireObject):
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
    def read(cls, f: Fields) -> HelmSource:
        """Parse ``spec.source.helm``."""
        return cls(
            value_files=f.texts("valueFiles"),
            parameters=tuple(
                HelmParameter(p.text("name"), p.text("value"), p.flag("forceString"))
                for p in f.children("parameters")
            ),
            file_parameters=tuple(
                HelmFileParameter(p.text("name"), p.text("path"))
                for p in f.children("fileParameters")
            ),
            release_name=f.text("releaseName"),
            values=f.text("values"),
            values_object=f.mapping("valuesObject"),
            ignore_missing_value_files=f.flag("ignoreMissingValueFiles"),
            skip_crds=f.flag("skipCrds"),
            skip_tests=f.flag("skipTests"),
            skip_schema_validation=f.flag("skipSchemaValidation"),
            pass_credentials=f.flag("passCredentials"),
            namespace=f.text("namespace"),
            kube_version=f.text("kubeVersion"),
            api_versions=f.texts("apiVersions"),
            version=f.text("version"),
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
class KustomizeSource(WireObject):
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
    def read(cls, f: Fields) -> KustomizeSource:
        """Parse ``spec.source.kustomize``."""
        replicas = []
        for item in f.children("replicas"):
            raw = item.data.get("count")
            try:
                count = int(str(raw))  # int-or-string on the wire
            except ValueError:
                raise SpecError(item.at("count"), f"expected an integer, got {raw!r}") from None
            replicas.append(KustomizeReplica(name=item.text("name"), count=count))
        return cls(
            name_prefix=f.text("namePrefix"),
            name_suffix=f.text("nameSuffix"),
            images=f.texts("images"),
            common_labels=f.text_map("commonLabels"),
            common_annotations=f.text_map("commonAnnotations"),
            common_annotations_envsubst=f.flag("commonAnnotationsEnvsubst"),
            force_common_labels=f.flag("forceCommonLabels"),
            force_common_annotations=f.flag("forceCommonAnnotations"),
            label_without_selector=f.flag("labelWithoutSelector"),
            label_include_templates=f.flag("labelIncludeTemplates"),
            namespace=f.text("namespace"),
            replicas=tuple(replicas),
            patches=tuple(item.data for item in f.children("patches")),
            components=f.texts("components"),
            ignore_missing_components=f.flag("ignoreMissingComponents"),
            kube_version=f.text("kubeVersion"),
            api_versions=f.texts("apiVersions"),
            version=f.text("version"),
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
class JsonnetSource(WireObject):
    """``spec.source.directory.jsonnet``."""

    ext_vars: tuple[JsonnetVar, ...] = ()
    tlas: tuple[JsonnetVar, ...] = ()
    libs: tuple[str, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> JsonnetSource:
        """Parse ``spec.source.directory.jsonnet``."""

        def variables(key: str) -> tuple[JsonnetVar, ...]:
            return tuple(
                JsonnetVar(v.text("name"), v.text("value"), v.flag("code")) for v in f.children(key)
            )

        return cls(ext_vars=variables("extVars"), tlas=variables("tlas"), libs=f.texts("libs"))

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
class DirectorySource(WireObject):
    """``spec.source.directory``: a folder of YAML, JSON and Jsonnet files."""

    recurse: bool = False
    include: str = ""
    exclude: str = ""
    jsonnet: JsonnetSource = field(default_factory=JsonnetSource)

    @classmethod
    def read(cls, f: Fields) -> DirectorySource:
        """Parse ``spec.source.directory``."""
        jsonnet = f.child("jsonnet")
        return cls(
            recurse=f.flag("recurse"),
            include=f.text("include"),
            exclude=f.text("exclude"),
            jsonnet=JsonnetSource() if jsonnet is None else JsonnetSource.read(jsonnet),
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
class PluginSource(WireObject):
    """``spec.source.plugin``: a config management plugin and its inputs."""

    name: str = ""
    env: tuple[tuple[str, str], ...] = ()
    parameters: tuple[PluginParameter, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> PluginSource:
        """Parse ``spec.source.plugin``."""
        return cls(
            name=f.text("name"),
            env=tuple((e.text("name"), e.text("value")) for e in f.children("env")),
            parameters=tuple(
                PluginParameter(
                    name=p.text("name"),
                    string=p.text("string") if p.has("string") else None,
                    array=p.texts("array") if p.has("array") else None,
                    map=p.text_map("map") if p.has("map") else None,
                )
                for p in f.children("parameters")
            ),
        )

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
class ApplicationSource(WireObject):
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
        return cls.read(Fields(data, path))

    @classmethod
    def read(cls, f: Fields) -> ApplicationSource:
        """Parse a source from a field reader."""
        repo_url = f.text("repoURL")
        if not repo_url:
            raise SpecError(f.at("repoURL"), "is required")
        helm, kustomize, directory, plugin = (
            f.child(k) for k in ("helm", "kustomize", "directory", "plugin")
        )
        return cls(
            repo_url=repo_url,
            path=f.text("path"),
            target_revision=f.text("targetRevision"),
            chart=f.text("chart"),
            ref=f.text("ref"),
            name=f.text("name"),
            helm=None if helm is None else HelmSource.read(helm),
            kustomize=None if kustomize is None else KustomizeSource.read(kustomize),
            directory=None if directory is None else DirectorySource.read(directory),
            plugin=None if plugin is None else PluginSource.read(plugin),
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
