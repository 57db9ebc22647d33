"""``tether controller``: the application controller alone, against a kubeconfig.

Its metrics are served at ``http://<metrics-address>:<metrics-port>/metrics`` (port 8082
as Argo CD's application controller; 0 turns the endpoint off), from the event loop that
owns the state they read. A port already taken (another replica on the same host) is
reported and the controller runs on without the endpoint: metrics never stop a sync.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
)

from tether.cli import wiring
from tether.cli.runtime import configure_logging, run_until_signalled
from tether.controller import ApplicationController, install
from tether.controller.appsets.reconciler import ApplicationSetReconciler
from tether.controller.clusters import IN_CLUSTER_SERVER
from tether.controller.leases import ShardingConfig
from tether.controller.metrics import ControllerMetrics, without_created_series
from tether.kube import ConfigError, KubeClient, KubeError, load_kubeconfig
from tether.notifications import NotificationController

log = logging.getLogger(__name__)

#: Argo CD's application controller serves its metrics on this port.
DEFAULT_METRICS_PORT = 8082


async def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> web.AppRunner:
    """Serve ``registry`` at ``/metrics`` on ``host:port``; clean up the returned runner."""

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner


def controller_command(
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="Kubeconfig of the management cluster.")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Control namespace (Applications live here).")
    ] = "argocd",
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where Git mirrors and caches are kept.")
    ] = Path(".tether-controller"),
    status_workers: Annotated[int, typer.Option(help="Concurrent refreshes.")] = 20,
    operation_workers: Annotated[int, typer.Option(help="Concurrent sync operations.")] = 10,
    skip_install: Annotated[
        bool, typer.Option("--skip-install", help="Do not install the CRDs and default project.")
    ] = False,
    shards: Annotated[
        int, typer.Option("--shards", help="Split apps into this many shards (one per replica).")
    ] = 1,
    shard: Annotated[
        list[int] | None,
        typer.Option("--shard", help="Shard(s) this replica prefers (default: all); repeatable."),
    ] = None,
    lease_seconds: Annotated[
        float, typer.Option("--lease-seconds", help="How long a dead replica keeps its shards.")
    ] = 15.0,
    application_namespaces: Annotated[
        list[str] | None,
        typer.Option(
            "--application-namespaces",
            help="Other namespaces (globs) whose Applications to reconcile; repeatable.",
        ),
    ] = None,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="Port of /metrics (0: do not serve it).")
    ] = DEFAULT_METRICS_PORT,
    metrics_address: Annotated[
        str, typer.Option("--metrics-address", help="Address /metrics listens on.")
    ] = "127.0.0.1",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    """Run the application controller until interrupted (SIGINT or SIGTERM)."""
    configure_logging(verbose)
    without_created_series()
    try:
        config = load_kubeconfig(kubeconfig, context)
        sharding = ShardingConfig(
            shards=shards,
            preferred=frozenset(shard) if shard else None,
            lease_seconds=lease_seconds,
            renew_seconds=lease_seconds / 3,
        )
    except (ConfigError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None

    async def main(stop: asyncio.Event) -> None:
        metrics = ControllerMetrics(CollectorRegistry())
        observer = metrics.request_observer(IN_CLUSTER_SERVER)
        async with KubeClient(config, observer=observer) as client:
            if not skip_install:
                async with asyncio.timeout(60):
                    await install(client, namespace)
            render_settings = await wiring.sops_settings(client, namespace)
            git, repository_secrets = await wiring.git_cache(
                client, namespace, data_dir.resolve() / "git"
            )
            controller = ApplicationController(
                client,
                git,
                namespace=namespace,
                renderer=wiring.renderer_for(render_settings),
                status_workers=status_workers,
                operation_workers=operation_workers,
                sharding=sharding if shards > 1 else None,
                application_namespaces=tuple(application_namespaces or ()),
                metrics=metrics,
            )
            appsets = ApplicationSetReconciler(client, namespace, git, metrics=metrics)
            notifications = NotificationController(client, namespace)
            endpoint = None
            if metrics_port:
                try:
                    endpoint = await serve_metrics(metrics.registry, metrics_address, metrics_port)
                except OSError as error:
                    log.warning(
                        "failed to serve metrics on %s:%d: %s; running without them",
                        metrics_address,
                        metrics_port,
                        error.strerror or error,
                    )
            async with asyncio.timeout(60):
                await controller.start()
                await appsets.start()
                await notifications.start()
            typer.echo(f"tether controller running against {config.server} (namespace {namespace})")
            if endpoint is not None:
                typer.echo(f"metrics at http://{metrics_address}:{metrics_port}/metrics")
            try:
                await stop.wait()
            finally:
                if endpoint is not None:
                    await endpoint.cleanup()
                await notifications.close()
                await appsets.close()
                await controller.close()
                await repository_secrets.close()

    try:
        run_until_signalled(main)
    except (KubeError, TimeoutError) as error:
        typer.echo(f"failed to run the controller: {error or 'timed out'}", err=True)
        raise typer.Exit(2) from None
