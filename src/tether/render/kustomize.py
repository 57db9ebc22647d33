"""The Kustomize renderer: ``kubectl kustomize`` (or ``kustomize build``) of an app folder.

Before the tool runs, the kustomization graph (``resources``, ``bases``,
``components`` of the app and of every local base it reaches) is checked: entries that
are remote (``https://``, ``git::``, ``github.com/...``, ``?ref=``) are refused unless
remote bases are allowed, and local entries must stay inside the repository. The build
runs with ``--load-restrictor LoadRestrictionsRootOnly`` unless the build options set a
restrictor themselves.

The Application's ``kustomize`` block is applied the way Argo CD applies it, by editing
the kustomization as ``kustomize edit`` would, but in a scratch copy of the application
folder (:func:`~tether.render.scratch.scratch_overlay`), never in the checkout:

========================  =====================================================
option                    edit
========================  =====================================================
namePrefix/nameSuffix     ``namePrefix`` / ``nameSuffix`` set
images                    ``images`` entry set per image name (``kustomize edit set image``)
replicas                  ``replicas`` entry set per workload name
commonLabels              ``commonLabels`` added (an existing key is an error unless
                          ``forceCommonLabels``); with ``labelWithoutSelector`` a
                          ``labels`` entry with ``includeSelectors: false`` instead
commonAnnotations         ``commonAnnotations`` added (same rule, ``forceCommonAnnotations``;
                          values ``$VAR``-expanded with ``commonAnnotationsEnvsubst``)
namespace                 ``namespace`` set
components                appended to ``components`` (missing ones are an error unless
                          ``ignoreMissingComponents``)
patches                   appended to ``patches``
========================  =====================================================

``kustomize.version`` pins a standalone kustomize binary configured in the settings
(Argo CD's ``kustomize.path.<version>``); an unconfigured version is an error.
"""

from __future__ import annotations

import asyncio
import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.model import KustomizeSource
from tether.render.detect import kustomization_file
from tether.render.envsubst import expand
from tether.render.errors import MissingPathError, PathEscapeError, RefusedSourceError, RenderError
from tether.render.paths import repo_relative, resolve_in_repo
from tether.render.scratch import scratch_overlay
from tether.render.settings import RenderSettings
from tether.render.toolchain import Toolchain
from tether.render.yamlio import dump_documents, load_documents, load_file, to_objects

_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git::|git@|github\.com/|gitlab\.com/|bitbucket\.org/)"
)
#: Local kustomizations checked per render before the graph counts as hostile.
_MAX_KUSTOMIZATIONS = 500


def is_remote(entry: str) -> bool:
    """Whether a kustomization entry names a remote base rather than a local path."""
    return bool(_REMOTE.match(entry)) or "?ref=" in entry or "//" in entry.split("?")[0][1:]


def needs_edits(options: KustomizeSource | None) -> bool:
    """Whether ``options`` change the kustomization (and so need a scratch copy)."""
    if options is None:
        return False
    return bool(
        options.name_prefix
        or options.name_suffix
        or options.images
        or options.common_labels
        or options.common_annotations
        or options.namespace
        or options.replicas
        or options.patches
        or options.components
    )


def check_graph(root: Path, app_dir: Path, settings: RenderSettings, *, subject: str) -> None:
    """Refuse remote bases and local paths that leave the repository, transitively.

    Every kustomization reached through ``resources``, ``bases`` and ``components`` is
    read; in each, those entries and every field that names a file (patches, generator
    files, CRDs, configurations, replacements, Helm values, ...) must resolve inside the
    repository. The load restrictor enforces more (files below the kustomization), but
    it can be switched off by build options; this check cannot.
    """
    pending, seen = [app_dir], set()
    while pending:
        folder = pending.pop()
        if folder in seen:
            continue
        seen.add(folder)
        if len(seen) > _MAX_KUSTOMIZATIONS:
            raise RenderError(subject, f"more than {_MAX_KUSTOMIZATIONS} kustomizations")
        file = kustomization_file(folder)
        if file is None:
            continue
        name = repo_relative(root, file)
        documents = load_file(file, name=name)
        spec = documents[0] if documents else {}
        if not isinstance(spec, dict):
            raise RenderError(name, "is not a kustomization: expected a mapping")
        for key in ("resources", "bases", "components"):
            entries = spec.get(key) or []
            if not isinstance(entries, list):
                raise RenderError(name, f"{key} must be a list")
            for entry in entries:
                entry = str(entry)
                if is_remote(entry):
                    if settings.allow_remote_bases:
                        continue
                    raise RefusedSourceError(
                        subject,
                        entry,
                        f"in {name} is a remote base; remote bases are not allowed",
                    )
                target = _resolve_entry(root, folder, entry, subject)
                if target.is_dir():
                    pending.append(target)
        for entry in file_references(spec):
            _resolve_entry(root, folder, entry, subject)


def file_references(spec: Mapping[str, Any]) -> list[str]:
    """The file paths a kustomization names outside ``resources``/``bases``/``components``.

    Inline content (patches given as YAML text, generator literals) is not a path and is
    left out.
    """
    paths: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str) and value and "\n" not in value:
            paths.append(value)

    def items(key: str) -> list[Any]:
        value = spec.get(key)
        return value if isinstance(value, list) else []

    for key in ("patchesStrategicMerge", "crds", "configurations"):
        for item in items(key):
            add(item)
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in items(key):
            if isinstance(item, dict):
                add(item.get("path"))
    for key in ("configMapGenerator", "secretGenerator"):
        for generator in items(key):
            if not isinstance(generator, dict):
                continue
            for source in generator.get("files") or []:
                add(str(source).partition("=")[2] or str(source))
            for env in generator.get("envs") or []:
                add(env)
            add(generator.get("env"))
    for chart in items("helmCharts"):
        if isinstance(chart, dict):
            add(chart.get("valuesFile"))
            for extra in chart.get("additionalValuesFiles") or []:
                add(extra)
    helm_globals = spec.get("helmGlobals")
    if isinstance(helm_globals, dict):
        add(helm_globals.get("chartHome"))
    openapi = spec.get("openapi")
    if isinstance(openapi, dict):
        add(openapi.get("path"))
    return paths


def _resolve_entry(root: Path, folder: Path, entry: str, subject: str) -> Path:
    """A kustomization path: relative to its folder, or absolute on the file system.

    Unlike Application options, an absolute path in a kustomization is a real file
    system path to kustomize, so it must lie inside the repository itself.
    """
    if entry.startswith("/"):
        absolute = Path(posixpath.normpath(entry))
        if absolute != root and root not in absolute.parents:
            raise PathEscapeError(subject, entry, "resolves outside the repository")
        entry = "/" + absolute.relative_to(root).as_posix()
    return resolve_in_repo(root, folder, entry, subject=subject)


def edit_kustomization(
    spec: dict[str, Any],
    options: KustomizeSource,
    *,
    env: Mapping[str, str],
    components: list[str],
    subject: str,
) -> dict[str, Any]:
    """``spec`` (a kustomization) with the Application's ``kustomize`` options applied."""
    spec = dict(spec)
    if options.name_prefix:
        spec["namePrefix"] = options.name_prefix
    if options.name_suffix:
        spec["nameSuffix"] = options.name_suffix
    if options.namespace:
        spec["namespace"] = options.namespace
    for image in options.images:
        spec["images"] = _set_by_name(spec.get("images"), parse_image(expand(image, env)))
    for replica in options.replicas:
        count = {"name": replica.name, "count": replica.count}
        spec["replicas"] = _set_by_name(spec.get("replicas"), count)
    if options.common_labels:
        labels = dict(options.common_labels)
        if options.label_without_selector:
            pairs: dict[str, Any] = {"pairs": labels, "includeSelectors": False}
            if options.label_include_templates:
                pairs["includeTemplates"] = True
            spec["labels"] = [*(spec.get("labels") or []), pairs]
        else:
            spec["commonLabels"] = _add_pairs(
                spec.get("commonLabels"), labels, options.force_common_labels, "label", subject
            )
    if options.common_annotations:
        annotations = {
            key: expand(value, env) if options.common_annotations_envsubst else value
            for key, value in options.common_annotations.items()
        }
        spec["commonAnnotations"] = _add_pairs(
            spec.get("commonAnnotations"),
            annotations,
            options.force_common_annotations,
            "annotation",
            subject,
        )
    if components:
        existing = list(spec.get("components") or [])
        spec["components"] = existing + [c for c in components if c not in existing]
    if options.patches:
        spec["patches"] = [*(spec.get("patches") or []), *(dict(p) for p in options.patches)]
    return spec


def parse_image(image: str) -> dict[str, str]:
    """A kustomize ``images`` entry from ``kustomize edit set image`` syntax.

    ``name=new:tag``, ``name=new@digest``, ``name:tag``, ``name@digest``, ``name=new``.
    """
    name, _, replacement = image.partition("=")
    target = replacement or name
    entry = {"name": _strip_ref(name)}
    base, _, digest = target.partition("@")
    tag = ""
    if not digest:
        slash = base.rfind("/")
        colon = base.rfind(":")
        if colon > slash:
            base, tag = base[:colon], base[colon + 1 :]
    if replacement:
        entry["newName"] = base
    if tag:
        entry["newTag"] = tag
    if digest:
        entry["digest"] = digest
    return entry


@dataclass(frozen=True, slots=True)
class KustomizeBuild:
    """Facts a build needs besides the folder: environment, settings, cluster versions.

    ``kube_version`` and ``api_versions`` are the destination cluster's; the source's own
    ``kustomize.kubeVersion``/``apiVersions`` win over them. They reach Helm charts that
    kustomize inflates (``--enable-helm`` in the build options), as in Argo CD.
    """

    env: Mapping[str, str]
    settings: RenderSettings
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()


def build_argv(
    base: list[str], folder: Path, options: KustomizeSource | None, build: KustomizeBuild, helm: str
) -> list[str]:
    """The kustomize command line for ``folder`` (``base`` runs kustomize's build)."""
    extra = shlex.split(build.settings.kustomize_build_options)
    argv = [*base, str(folder)]
    if not any(flag.startswith("--load-restrictor") for flag in extra):
        argv += ["--load-restrictor", "LoadRestrictionsRootOnly"]
    if "--enable-helm" in extra:
        # kustomize runs helm itself: name the binary (it may not be on PATH) and pass
        # the cluster facts helm templates ask for.
        argv.append(f"--helm-command={helm}")
        kube_version = (options.kube_version if options else "") or build.kube_version
        if kube_version:
            argv.append(f"--helm-kube-version={kube_version}")
        for api_version in (options.api_versions if options else ()) or build.api_versions:
            argv.append(f"--helm-api-versions={api_version}")
    return [*argv, *extra]


async def render_kustomize(
    root: Path,
    app_dir: Path,
    options: KustomizeSource | None,
    *,
    build: KustomizeBuild,
    toolchain: Toolchain,
    subject: str,
) -> list[dict[str, Any]]:
    """Build the kustomization at ``app_dir`` and return its objects."""
    settings = build.settings
    await asyncio.to_thread(check_graph, root, app_dir, settings, subject=subject)
    if not needs_edits(options):
        return await _build(app_dir, options, build, toolchain, subject)
    assert options is not None
    components = await asyncio.to_thread(_components, root, app_dir, options, subject=subject)
    async with scratch_overlay(root, app_dir) as copy:
        copy_dir = copy / app_dir.relative_to(root)
        await asyncio.to_thread(
            _rewrite,
            copy,
            copy_dir,
            options,
            env=build.env,
            components=components,
            subject=subject,
        )
        return await _build(copy_dir, options, build, toolchain, subject)


async def _build(
    folder: Path,
    options: KustomizeSource | None,
    build: KustomizeBuild,
    toolchain: Toolchain,
    subject: str,
) -> list[dict[str, Any]]:
    helm = ""
    if "--enable-helm" in build.settings.kustomize_build_options:
        helm = str(toolchain.helm(subject=subject))
    base = toolchain.kustomize_argv(subject=subject)
    if options is not None and options.version:
        # Argo CD's kustomize.path.<version>: a pinned kustomize binary per version.
        pinned = build.settings.kustomize_versions.get(options.version)
        if pinned is None:
            known = ", ".join(sorted(build.settings.kustomize_versions)) or "none"
            raise RenderError(
                subject, f"kustomize version {options.version} is not configured (known: {known})"
            )
        base = [str(pinned), "build"]
    argv = build_argv(base, folder, options, build, helm)
    result = await toolchain.run(argv, cwd=folder, env=build.env, subject=subject)
    name = f"{subject} (kustomize output)"
    documents = load_documents(result.stdout, name=name, limits=build.settings.yaml_limits)
    return to_objects(documents, name=name)


def _rewrite(
    copy: Path,
    folder: Path,
    options: KustomizeSource,
    *,
    env: Mapping[str, str],
    components: list[str],
    subject: str,
) -> None:
    """Apply ``options`` to the kustomization of ``folder`` in the scratch ``copy``."""
    file = kustomization_file(folder)
    if file is None:
        raise MissingPathError(subject, repo_relative(copy, folder), "kustomization in")
    documents = load_file(file, name=repo_relative(copy, file))
    spec = documents[0] if documents and isinstance(documents[0], dict) else {}
    edited = edit_kustomization(spec, options, env=env, components=components, subject=subject)
    # Replace the file rather than writing through it: never touch a shared inode.
    file.unlink()
    file.write_text(dump_documents([edited]).removeprefix("---\n"))


def _components(root: Path, app_dir: Path, options: KustomizeSource, *, subject: str) -> list[str]:
    """The Application's components that exist (checked inside the repository)."""
    kept = []
    for component in options.components:
        target = resolve_in_repo(root, app_dir, component, subject=subject)
        if not target.is_dir():
            if options.ignore_missing_components:
                continue
            raise MissingPathError(subject, component, "kustomize component")
        kept.append(component)
    return kept


def _strip_ref(name: str) -> str:
    base = name.partition("@")[0]
    slash, colon = base.rfind("/"), base.rfind(":")
    return base[:colon] if colon > slash else base


def _set_by_name(entries: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """``entries`` with the item named like ``entry`` replaced (or ``entry`` appended)."""
    items = [dict(item) for item in entries or [] if isinstance(item, dict)]
    for item in items:
        if item.get("name") == entry["name"]:
            if "newTag" in entry or "digest" in entry:
                item.pop("newTag", None)
                item.pop("digest", None)
            item.update(entry)
            return items
    return [*items, entry]


def _add_pairs(
    existing: Any, pairs: Mapping[str, str], force: bool, what: str, subject: str
) -> dict[str, str]:
    current = dict(existing or {})
    for key, value in pairs.items():
        if key in current and not force:
            raise RenderError(
                subject,
                f"{what} {key} already in kustomization file; "
                f"set forceCommon{what.title()}s to overwrite it",
            )
        current[key] = value
    return current
