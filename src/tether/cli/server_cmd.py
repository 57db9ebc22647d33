"""``tether server``: serve the REST API, webhooks, metrics and event stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
import uvloop

from tether.controller import install
from tether.controller.metrics import without_created_series
from tether.kube import ConfigError, KubeClient, KubeError, load_kubeconfig
from tether.server.app import create_app

READY_LINE = "tether server ready at"


class _Server(uvicorn.Server):
    """uvicorn's server with tether's signal handling: SIGINT/SIGTERM end it cleanly (exit 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Stop gracefully on SIGINT/SIGTERM, without re-raising the signal afterwards."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._stop)
        try:
            yield
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    def _stop(self) -> None:
        self.should_exit = True


async def _serve(
    kubeconfig: Path | None, namespace: str, host: str, port: int, setup: bool
) -> None:
    config = load_kubeconfig(kubeconfig)
    async with KubeClient(config) as client:
        if setup:
            async with asyncio.timeout(60):
                await install(client, namespace)
        app = create_app(client, namespace)
        server = _Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                loop="none",
                http="httptools",
                lifespan="on",
                log_level="warning",
                access_log=False,
            )
        )

        async def announce() -> None:
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
                await asyncio.sleep(0.05)
            bound = server.servers[0].sockets[0].getsockname()
            print(f"{READY_LINE} http://{bound[0]}:{bound[1]}", flush=True)

        announcer = asyncio.create_task(announce())
        try:
            await server.serve()
        finally:
            announcer.cancel()


def server_command(
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Kubeconfig of the management cluster."),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on (0: any free one).")
    ] = 8080,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="The control namespace.")
    ] = "argocd",
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    setup: Annotated[
        bool,
        typer.Option(
            "--install/--no-install",
            help="Install the CRDs, namespace and default project first (idempotent).",
        ),
    ] = True,
) -> None:
    """Serve the API (/api/v1), webhooks (/api/webhook), /metrics and the event stream."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    without_created_series()
    try:
        uvloop.run(_serve(kubeconfig, namespace, host, port, setup))
    except (ConfigError, KubeError, OSError, TimeoutError) as error:
        typer.echo(f"failed to serve tether on {host}:{port}: {error}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
