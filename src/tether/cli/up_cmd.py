"""``tether up``: a local cluster, the controller (and the server) in one process tree."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from prometheus_client import CollectorRegistry
from rich.console import Console
from rich.table import Table

from tether.cli import demo as demo_setup
from tether.cli import wiring
from tether.cli.client import ApiError
from tether.cli.contexts import ConfigFileError
from tether.cli.login_cmd import configure_local_context
from tether.cli.runtime import configure_logging, run_until_signalled
from tether.controller import ApplicationController, install
from tether.controller.appsets.reconciler import ApplicationSetReconciler
from tether.controller.clusters import IN_CLUSTER_SERVER
from tether.controller.metrics import ControllerMetrics, without_created_series
from tether.kube import ConfigError, KubeClient, KubeError, NotFound, load_kubeconfig
from tether.localcluster.launcher import LaunchError, LocalClusterProcess
from tether.notifications import NotificationController
from tether.server.app import create_app

NAMESPACE = "argocd"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside ``tether up``: the command, not uvicorn, owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signal handling to :func:`run_until_signalled`."""
        yield


async def _configure_cli(port: int, password: str) -> str:
    """Log the CLI in to the server just started; a line for the summary either way."""
    try:
        # The login is a blocking HTTP call to a server on this very event loop.
        context = await asyncio.to_thread(
            configure_local_context, f"http://127.0.0.1:{port}", "admin", password
        )
    except (ApiError, ConfigFileError, OSError) as error:
        return f"not configured: {error}"
    return f"{context.name} (tether app list works now)"


async def _admin_password(client: KubeClient) -> str:
    """The generated initial admin password (as Argo CD keeps it), or a hint."""
    try:
        secret = await client.get("v1", "Secret", "argocd-initial-admin-secret", NAMESPACE)
    except NotFound:
        return "(changed: the initial password Secret was removed)"
    encoded = (secret.get("data") or {}).get("password", "")
    return base64.b64decode(encoded).decode() if encoded else "?"


def up_command(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where tether keeps everything it runs.")
    ] = Path(".tether"),
    port: Annotated[int, typer.Option("--port", help="Port of the API and UI.")] = 8080,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Use this cluster instead of starting a local one."),
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Create the demo repository and its applications.")
    ] = False,
    cli_context: Annotated[
        bool,
        typer.Option(
            "--cli-context/--no-cli-context",
            help="Log the tether CLI in to this server (context 'local' in its config file).",
        ),
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    """Start everything and keep it running until interrupted (Ctrl-C stops it all)."""
    configure_logging(verbose)
    console = Console()
    without_created_series()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    cluster: LocalClusterProcess | None = None
    try:
        if kubeconfig is None:
            cluster = LocalClusterProcess(
                data_dir / "cluster",
                extra_args=("--kubeconfig", str(data_dir / "kubeconfig")),
            )
            console.print(f"starting the local cluster in {cluster.data_dir} ...")
            cluster.start()
            kubeconfig = data_dir / "kubeconfig"
        config = load_kubeconfig(kubeconfig, context)
    except (LaunchError, ConfigError) as error:
        if cluster is not None:
            cluster.stop()
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None

    async def main(stop: asyncio.Event) -> None:
        # One registry: the server's /metrics shows the controller's metrics too.
        registry = CollectorRegistry()
        metrics = ControllerMetrics(registry)
        observer = metrics.request_observer(IN_CLUSTER_SERVER)
        async with KubeClient(config, observer=observer) as client:
            async with asyncio.timeout(60):
                await install(client, NAMESPACE)
            # The demo's age key must be in place before the renderer reads the keys.
            prepared = demo_setup.prepare_repository(data_dir) if demo else None
            if prepared is not None:
                await demo_setup.provision_sops_key(client, prepared, NAMESPACE)
            render_settings = await wiring.sops_settings(client, NAMESPACE)
            git, repository_secrets = await wiring.git_cache(client, NAMESPACE, data_dir / "git")
            controller = ApplicationController(
                client,
                git,
                namespace=NAMESPACE,
                renderer=wiring.renderer_for(render_settings),
                metrics=metrics,
            )
            appsets = ApplicationSetReconciler(client, NAMESPACE, git, metrics=metrics)
            notifications = NotificationController(client, NAMESPACE)
            async with asyncio.timeout(60):
                await controller.start()
                await appsets.start()
                await notifications.start()

            async def on_push(repo_url: str, revision: str, paths: Sequence[str]) -> None:
                controller.note_push(repo_url)

            server = _EmbeddedServer(
                uvicorn.Config(
                    create_app(
                        client,
                        NAMESPACE,
                        on_push=on_push,
                        manifests=wiring.ControllerManifests(controller),
                        registry=registry,
                    ),
                    host="127.0.0.1",
                    port=port,
                    loop="none",
                    http="httptools",
                    lifespan="on",
                    log_level="warning",
                    access_log=False,
                )
            )
            serving = asyncio.create_task(server.serve(), name="api server")
            try:
                async with asyncio.timeout(30):
                    while not server.started:
                        if serving.done():
                            serving.result()  # raises why it could not start
                            raise OSError(f"the API server on port {port} stopped at once")
                        await asyncio.sleep(0.05)
                summary = Table(box=None, show_header=False)
                summary.add_row("UI", f"http://127.0.0.1:{port}/")
                summary.add_row("API", f"http://127.0.0.1:{port}/api/v1")
                password = await _admin_password(client)
                summary.add_row("admin password", password)
                if cli_context:
                    summary.add_row("CLI context", await _configure_cli(port, password))
                summary.add_row("cluster", config.server)
                summary.add_row("kubeconfig", str(kubeconfig))
                summary.add_row("namespace", NAMESPACE)
                if prepared is not None:
                    await demo_setup.install_demo(client, prepared, NAMESPACE)
                    console.print("demo installed; waiting for the applications to settle ...")
                    settle = asyncio.ensure_future(demo_setup.wait_settled(client, NAMESPACE, 60))
                    stopped = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({settle, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if stop.is_set():
                        settle.cancel()
                        return
                    stopped.cancel()
                    apps = settle.result()
                    summary.add_row("demo repository", str(prepared.work_tree))
                    summary.add_row("clone URL", prepared.repo_url)
                    for app in apps:
                        status = app.get("status") or {}
                        summary.add_row(
                            f"app {app['metadata']['name']}",
                            f"{(status.get('sync') or {}).get('status', '?')} / "
                            f"{(status.get('health') or {}).get('status', '?')}",
                        )
                console.print(summary)
                if demo:
                    console.print(
                        "try: commit a change under platform/ in the demo repository and push; "
                        f"kubectl --kubeconfig {kubeconfig} -n settings edit configmap "
                        "feature-flags and watch self-heal revert it"
                    )
                console.print("tether is running; press Ctrl-C to stop")
                await stop.wait()
            finally:
                server.should_exit = True
                with contextlib.suppress(Exception):
                    await serving
                await notifications.close()
                await appsets.close()
                await controller.close()
                await repository_secrets.close()

    try:
        run_until_signalled(main)
    except (KubeError, TimeoutError, OSError, demo_setup.DemoError) as error:
        typer.echo(f"failed to run tether up: {error or 'timed out'}", err=True)
        raise typer.Exit(2) from None
    finally:
        if cluster is not None:
            cluster.stop()
