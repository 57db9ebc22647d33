"""``tether app``: verbs on Applications.

``tether app manifests --file APP.yaml --local DIR [--revision REV]`` renders an
Application offline, exactly as the controller would, and prints the desired objects
as a ``---``-separated YAML stream (in render order, which is stable for a given input):

- ``--local DIR`` stands in for the repository of the Application's Git source(s);
  ``--local URL=DIR`` (repeatable) maps one ``repoURL`` of a multi-source Application
  to a folder. A plain ``DIR`` serves every source not mapped by a pair, as long as
  they all name the same repository;
- ``--revision REV`` renders commit, branch or tag ``REV`` of a local Git repository
  (checked out through :mod:`tether.source` into a temporary folder) instead of the
  folder's working tree; its commit SHA becomes ``ARGOCD_APP_REVISION``;
- ``--kube-version`` and ``--api-versions`` stand in for the destination cluster's;
- a source with ``chart`` is fetched from its Helm repository into a temporary cache;
- ``--plugins DIR`` reads ``ConfigManagementPlugin`` declarations for ``plugin`` sources,
  ``--age-key FILE`` decrypts SOPS documents, ``--kustomize-build-options`` is
  ``kustomize.buildOptions``.

``tether app manifests NAME [--revision REV]`` asks the API server for the objects
instead (:mod:`tether.cli.app_manifests`; ``--server``/``--auth-token`` as elsewhere).

Errors are one line on stderr (``error: failed to render <path>: <cause>``) and exit
code 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pyrage import x25519

from tether.cli.app_manifests import server_manifests
from tether.cli.output import CommandError, ServerFlag, TokenFlag, open_client, reporting_errors
from tether.model import ApplicationSource, SpecError
from tether.render.errors import RenderError
from tether.render.objects import thaw
from tether.render.plugin import PluginRenderer, load_plugin_folder
from tether.render.renderer import Renderer
from tether.render.request import RenderRequest, SourceCheckout
from tether.render.settings import RenderSettings
from tether.render.sops import parse_identities
from tether.render.yamlio import dump_documents, load_file
from tether.source import GitCache, SourceError

app = typer.Typer(name="app", help="Inspect and render Applications.", no_args_is_help=True)


class ManifestsError(Exception):
    """The command's input is unusable (Application file, ``--local`` mapping)."""


def read_application(path: Path) -> tuple[Mapping[str, Any], tuple[ApplicationSource, ...]]:
    """The Application in ``path`` and its sources (``spec.source`` or ``spec.sources``)."""
    try:
        documents = load_file(path, name=str(path))
    except RenderError as error:
        raise ManifestsError(f"failed to read {path}: {error.cause}") from error
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ManifestsError(f"failed to read {path}: expected one Application object")
    application = documents[0]
    if application.get("kind") != "Application":
        raise ManifestsError(f"failed to read {path}: expected kind Application")
    spec = application.get("spec") or {}
    try:
        if spec.get("sources"):
            sources = tuple(
                ApplicationSource.from_dict(item, f"spec.sources[{index}]")
                for index, item in enumerate(spec["sources"])
            )
        else:
            sources = (ApplicationSource.from_dict(spec.get("source"), "spec.source"),)
    except SpecError as error:
        raise ManifestsError(f"failed to read {path}: {error}") from error
    return application, sources


def map_folders(sources: Sequence[ApplicationSource], local: Sequence[str]) -> dict[str, Path]:
    """The folder standing in for each Git ``repoURL`` of ``sources``."""
    pairs: dict[str, Path] = {}
    fallback: Path | None = None
    for item in local:
        url, separator, named = item.rpartition("=")
        if separator and url:
            pairs[url] = Path(named)
        elif fallback is None:
            fallback = Path(item)
        else:
            raise ManifestsError("--local DIR may be given once; map other sources with URL=DIR")
    unmapped = {s.repo_url for s in sources if not s.is_helm_repository} - pairs.keys()
    if unmapped and fallback is None:
        raise ManifestsError(f"no --local folder for {', '.join(sorted(unmapped))}")
    if len(unmapped) > 1:
        raise ManifestsError(
            f"sources use {len(unmapped)} repositories; map each with --local URL=DIR"
        )
    for url in unmapped:
        assert fallback is not None
        pairs[url] = fallback
    for url, folder in pairs.items():
        if not folder.is_dir():
            raise ManifestsError(f"--local folder {folder} for {url} is not a directory")
    return pairs


@contextlib.asynccontextmanager
async def checkouts(
    sources: Sequence[ApplicationSource], folders: Mapping[str, Path], revision: str
) -> AsyncIterator[tuple[SourceCheckout, ...]]:
    """The sources with their folders, checked out at ``revision`` when one is given."""
    if not revision:
        yield tuple(
            SourceCheckout(s, None if s.is_helm_repository else folders[s.repo_url])
            for s in sources
        )
        return
    async with contextlib.AsyncExitStack() as stack:
        cache_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tether-cli-")))
        git = GitCache(cache_dir)
        checked_out: dict[str, SourceCheckout] = {}
        result = []
        for source in sources:
            if source.is_helm_repository:
                result.append(SourceCheckout(source, None, source.target_revision))
                continue
            if source.repo_url not in checked_out:
                url = folders[source.repo_url].resolve().as_uri()
                checkout = await stack.enter_async_context(git.checkout(url, revision))
                checked_out[source.repo_url] = SourceCheckout(source, checkout.path, checkout.sha)
            done = checked_out[source.repo_url]
            result.append(SourceCheckout(source, done.root, done.revision))
        yield tuple(result)


@dataclass(frozen=True, slots=True)
class Tooling:
    """Operator configuration for an offline render (all optional)."""

    plugins: Path | None = None
    age_key: Path | None = None
    kustomize_build_options: str = ""

    def settings(self) -> RenderSettings:
        """The render settings these options make."""
        identities: tuple[x25519.Identity, ...] = ()
        if self.age_key is not None:
            try:
                text = self.age_key.read_text()
            except OSError as error:
                raise ManifestsError(
                    f"failed to read {self.age_key}: {error.strerror or error}"
                ) from error
            identities = parse_identities(text, source=str(self.age_key))
        return RenderSettings(
            kustomize_build_options=self.kustomize_build_options, sops_identities=identities
        )

    def plugin_renderer(self) -> PluginRenderer | None:
        """The plugins of ``--plugins``, if given."""
        if self.plugins is None:
            return None
        try:
            return PluginRenderer(load_plugin_folder(self.plugins))
        except OSError as error:
            raise ManifestsError(
                f"failed to read {self.plugins}: {error.strerror or error}"
            ) from error


async def render_manifests(
    file: Path,
    local: Sequence[str],
    revision: str,
    kube_version: str,
    api_versions: Sequence[str],
    tooling: Tooling = Tooling(),
) -> str:
    """The YAML stream of the Application in ``file`` rendered from local folders."""
    application, sources = read_application(file)
    settings, plugins = tooling.settings(), tooling.plugin_renderer()
    folders = map_folders(sources, local)
    metadata = application.get("metadata") or {}
    destination = (application.get("spec") or {}).get("destination") or {}
    async with contextlib.AsyncExitStack() as stack:
        prepared = await stack.enter_async_context(checkouts(sources, folders, revision))
        charts = None
        if any(source.is_helm_repository for source in sources):
            # Imported here: the HTTP client is needed only for charts from repositories.
            from tether.render.chartrepo import ChartFetcher

            cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="tether-charts-"))
            charts = ChartFetcher(Path(cache))
            stack.push_async_callback(charts.aclose)
        request = RenderRequest(
            app_name=str(metadata.get("name") or ""),
            app_namespace=str(metadata.get("namespace") or "argocd"),
            sources=prepared,
            destination_namespace=str(destination.get("namespace") or ""),
            kube_version=kube_version,
            api_versions=tuple(api_versions),
        )
        renderer = Renderer(settings=settings, charts=charts, plugins=plugins)
        result = await renderer.render(request)
    if not result.objects:
        return ""
    return dump_documents(thaw(obj) for obj in result.objects)


@app.command("manifests")
def manifests_command(
    name: Annotated[str, typer.Argument(help="Ask the server for this app's objects.")] = "",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="The Application YAML file.")
    ] = None,
    local: Annotated[
        list[str] | None,
        typer.Option("--local", help="DIR, or URL=DIR per repository of a multi-source app."),
    ] = None,
    revision: Annotated[
        str, typer.Option("--revision", help="Render this commit of the local Git repository.")
    ] = "",
    kube_version: Annotated[
        str, typer.Option("--kube-version", help="Kubernetes version of the destination.")
    ] = "",
    api_versions: Annotated[
        list[str] | None,
        typer.Option("--api-versions", help="An API version the destination serves (repeat)."),
    ] = None,
    plugins: Annotated[
        Path | None,
        typer.Option("--plugins", help="A folder of ConfigManagementPlugin declarations."),
    ] = None,
    age_key: Annotated[
        Path | None, typer.Option("--age-key", help="An age key file for SOPS documents.")
    ] = None,
    kustomize_build_options: Annotated[
        str, typer.Option("--kustomize-build-options", help="kustomize.buildOptions.")
    ] = "",
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Print an Application's objects as YAML: NAME from the server, or -f offline."""
    if file is None:
        with reporting_errors():
            if not name:
                raise CommandError("failed to get manifests: give NAME, or -f FILE --local DIR")
            with open_client(server, auth_token) as client:
                typer.echo(server_manifests(client, name, revision), nl=False)
        return
    tooling = Tooling(plugins, age_key, kustomize_build_options)
    try:
        output = asyncio.run(
            render_manifests(file, local or [], revision, kube_version, api_versions or [], tooling)
        )
    except (ManifestsError, RenderError, SourceError) as error:
        message = " ".join(str(error).split())
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2) from error
    typer.echo(output, nl=False)
