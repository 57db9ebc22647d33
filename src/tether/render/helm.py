"""The Helm renderer: ``helm template`` of a chart folder, with Argo CD's options.

The command is built as Argo CD builds it:

- ``releaseName`` (default: the application name; it must be a valid Helm release name,
  so that it can never be read as a flag) and ``--namespace`` (``helm.namespace``,
  default: the destination namespace);
- ``--kube-version`` and ``--api-versions``: the source's own, else the destination
  cluster's (passed in by the caller);
- value precedence, lowest first: the chart's ``values.yaml``, each ``valueFiles`` entry
  in order, then ``values`` or ``valuesObject`` (``valuesObject`` wins when both are
  set; written to a private file), then ``parameters`` (``--set``, or ``--set-string``
  with ``forceString``; commas in values escaped, except in ``{a,b}`` lists) and
  ``fileParameters`` (``--set-file``);
- ``--include-crds`` unless ``skipCrds`` (then ``--skip-crds``), ``--skip-tests`` and
  ``--skip-schema-validation`` when asked. Hooks are kept: they come out as ordinary
  objects with their ``helm.sh/hook*`` annotations, for the sync engine to order.

Value files are relative to the chart folder; an absolute path is relative to the
repository root; ``$ref/path`` reads from the checkout of the source whose ``ref`` is
``ref``. Every such path must stay inside its repository. http(s) value files are
refused unless allowed by the settings; a missing file is an error unless
``ignoreMissingValueFiles``. ``$ARGOCD_APP_*`` in value file names and parameter values
is replaced from the build environment.

Local chart dependencies (``file://`` in ``Chart.yaml``) that are not already in
``charts/`` are built with ``helm dependency build --skip-refresh`` (offline) in a
scratch copy of the chart folder; the checkout is never written.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.model import HelmSource
from tether.render.envsubst import expand
from tether.render.errors import (
    MissingPathError,
    PathEscapeError,
    RefusedSourceError,
    RenderError,
)
from tether.render.paths import resolve_in_repo
from tether.render.scratch import scratch_overlay, scratch_text
from tether.render.settings import RenderSettings
from tether.render.toolchain import Toolchain
from tether.render.yamlio import dump_documents, load_documents, load_file, to_objects

_URL_SCHEMES = ("http://", "https://")
#: Helm's rule for release names (DNS-1123 subdomain, at most 53 characters).
_RELEASE_NAME = re.compile(
    r"(?=.{1,53}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def _escape_commas(value: str) -> str:
    """``value`` for ``--set``: a comma would start another parameter, so escape it.

    A ``{a,b}`` list is Helm's list syntax and is kept, as Argo CD keeps it.
    """
    if value.startswith("{") and value.endswith("}"):
        return value
    return _UNESCAPED_COMMA.sub(r"\\,", value)


@dataclass(frozen=True, slots=True)
class HelmContext:
    """What ``helm template`` needs besides the chart and its options.

    ``root`` is the checkout holding the chart (``None`` for a chart fetched from a Helm
    repository), ``refs`` the checkouts of ``ref`` sources by name.
    """

    release_name: str
    namespace: str
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    root: Path | None = None
    refs: Mapping[str, Path] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)


def template_args(
    chart_dir: Path, options: HelmSource, context: HelmContext, value_files: list[str]
) -> list[str]:
    """The ``helm template`` arguments after the program name (values file paths given).

    The release name is checked first: it is the one positional argument a spec
    controls, and a name such as ``--post-renderer=...`` would be read as a flag.
    """
    release = options.release_name or context.release_name
    if not _RELEASE_NAME.fullmatch(release):
        raise RenderError(
            release,
            "invalid release name: use at most 53 lower case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit",
        )
    args = ["template", release, str(chart_dir)]
    # Values are attached with "=": a value can then never be read as another flag.
    namespace = options.namespace or context.namespace
    if namespace:
        args.append(f"--namespace={namespace}")
    kube_version = options.kube_version or context.kube_version
    if kube_version:
        args.append(f"--kube-version={kube_version}")
    args += [f"--api-versions={v}" for v in options.api_versions or context.api_versions]
    args += [f"--values={value_file}" for value_file in value_files]
    for parameter in options.parameters:
        flag = "--set-string" if parameter.force_string else "--set"
        value = expand(parameter.value, context.env)
        args.append(f"{flag}={parameter.name}={_escape_commas(value)}")
    args.append("--skip-crds" if options.skip_crds else "--include-crds")
    if options.skip_tests:
        args.append("--skip-tests")
    if options.skip_schema_validation:
        args.append("--skip-schema-validation")
    return args


def resolve_value_files(
    chart_dir: Path,
    options: HelmSource,
    context: HelmContext,
    settings: RenderSettings,
    *,
    subject: str,
) -> list[str]:
    """The ``valueFiles`` entries as paths inside their repositories (or allowed URLs)."""
    resolved: list[str] = []
    for raw in options.value_files:
        name = expand(raw, context.env)
        if name.startswith(_URL_SCHEMES) and _ref_of(raw, context) is None:
            if not settings.allow_remote_value_files:
                raise RefusedSourceError(
                    subject, name, "is a remote value file; remote value files are not allowed"
                )
            resolved.append(name)
            continue
        path = _resolve(chart_dir, raw, context, subject=subject)
        if not path.is_file():
            if options.ignore_missing_value_files:
                continue
            raise MissingPathError(subject, raw, "value file")
        resolved.append(str(path))
    return resolved


async def render_helm(
    chart_dir: Path,
    options: HelmSource | None,
    context: HelmContext,
    *,
    settings: RenderSettings,
    toolchain: Toolchain,
    subject: str,
) -> list[dict[str, Any]]:
    """Run ``helm template`` for the chart at ``chart_dir`` and return its objects."""
    options = options or HelmSource()
    value_files, file_parameters, build_dependencies = await asyncio.to_thread(
        _prepare, chart_dir, options, context, settings, subject=subject
    )
    root = context.root
    if root is not None and build_dependencies:
        async with scratch_overlay(root, chart_dir) as copy:
            copy_chart = copy / chart_dir.relative_to(root)
            helm = str(toolchain.helm(subject=subject))
            await toolchain.run(
                [helm, "dependency", "build", "--skip-refresh", str(copy_chart)],
                cwd=copy_chart,
                env=context.env,
                subject=subject,
            )
            return await _template(
                copy_chart,
                options,
                context,
                value_files,
                file_parameters,
                settings,
                toolchain,
                subject,
            )
    return await _template(
        chart_dir, options, context, value_files, file_parameters, settings, toolchain, subject
    )


def _prepare(
    chart_dir: Path,
    options: HelmSource,
    context: HelmContext,
    settings: RenderSettings,
    *,
    subject: str,
) -> tuple[list[str], list[tuple[str, Path]], bool]:
    """Value files, file parameters, and whether local dependencies need building."""
    value_files = resolve_value_files(chart_dir, options, context, settings, subject=subject)
    file_parameters = [
        (parameter.name, _existing(chart_dir, parameter.path, context, subject=subject))
        for parameter in options.file_parameters
    ]
    root = context.root
    build = root is not None and _missing_local_dependencies(root, chart_dir, subject=subject)
    return value_files, file_parameters, build


async def _template(
    chart_dir: Path,
    options: HelmSource,
    context: HelmContext,
    value_files: list[str],
    file_parameters: list[tuple[str, Path]],
    settings: RenderSettings,
    toolchain: Toolchain,
    subject: str,
) -> list[dict[str, Any]]:
    inline = _inline_values(options)
    async with scratch_text(inline) as inline_file:
        files = [*value_files, *([str(inline_file)] if inline_file else [])]
        args = template_args(chart_dir, options, context, files)
        for name, path in file_parameters:
            args.append(f"--set-file={name}={path}")
        helm = str(toolchain.helm(subject=subject))
        result = await toolchain.run([helm, *args], cwd=chart_dir, env=context.env, subject=subject)
    name = f"{subject} (helm template output)"
    documents = load_documents(result.stdout, name=name, limits=settings.yaml_limits)
    return to_objects(documents, name=name)


def _inline_values(options: HelmSource) -> str:
    """``valuesObject`` (which wins) or ``values`` as YAML text, or ``""``."""
    if options.values_object:
        return dump_documents([dict(options.values_object)]).removeprefix("---\n")
    return options.values


def _resolve(chart_dir: Path, raw: str, context: HelmContext, *, subject: str) -> Path:
    """A value or file-parameter path: ``$ref/...``, repo-absolute, or chart-relative.

    As in Argo CD, a leading ``$name`` that is a ``ref`` source is replaced by that
    source's checkout before ``$VAR`` substitution; any other ``$name`` is a variable.
    """
    ref_root = _ref_of(raw, context)
    if ref_root is not None:
        rest = expand(raw.partition("/")[2], context.env)
        return resolve_in_repo(ref_root, ref_root, "/" + rest, subject=subject)
    name = expand(raw, context.env)
    if context.root is None:
        # A chart from a Helm repository: only files inside the fetched chart are allowed.
        return resolve_in_repo(chart_dir, chart_dir, name.lstrip("/"), subject=subject)
    return resolve_in_repo(context.root, chart_dir, name, subject=subject)


def _ref_of(raw: str, context: HelmContext) -> Path | None:
    """The checkout of the ``ref`` source ``raw`` starts with (``$ref/...``), if any."""
    head = raw.partition("/")[0]
    return context.refs.get(head[1:]) if head.startswith("$") else None


def _existing(chart_dir: Path, name: str, context: HelmContext, *, subject: str) -> Path:
    path = _resolve(chart_dir, name, context, subject=subject)
    if not path.is_file():
        raise MissingPathError(subject, name, "file parameter")
    return path


def _missing_local_dependencies(root: Path, chart_dir: Path, *, subject: str) -> bool:
    """Whether ``Chart.yaml`` lists ``file://`` dependencies absent from ``charts/``."""
    chart_file = chart_dir / "Chart.yaml"
    if not chart_file.is_file():
        return False
    documents = load_file(chart_file, name="Chart.yaml")
    chart = documents[0] if documents and isinstance(documents[0], dict) else {}
    vendored = {entry.name for entry in (chart_dir / "charts").glob("*")}
    missing = False
    for dependency in chart.get("dependencies") or []:
        if not isinstance(dependency, dict):
            continue
        repository = str(dependency.get("repository") or "")
        if not repository.startswith("file://"):
            continue
        # The dependency's folder must be inside the repository too.
        target = repository.removeprefix("file://")
        if target.startswith("/"):
            raise PathEscapeError(subject, repository, "is an absolute file:// dependency")
        resolve_in_repo(root, chart_dir, target, subject=subject)
        name = str(dependency.get("name") or "")
        if not any(entry == name or entry.startswith(f"{name}-") for entry in vendored):
            missing = True
    return missing
