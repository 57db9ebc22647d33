"""``tether local-cluster``: run the embedded Kubernetes-API-compatible cluster."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvloop

from tether.localcluster.server import READY_LINE, ServeConfig, ServeError, serve
from tether.localcluster.simulation.settings import Settings

app = typer.Typer(
    name="local-cluster",
    help="Run tether's local, single-node Kubernetes-API-compatible cluster.",
    no_args_is_help=True,
)


@app.command("serve")
def serve_command(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the cluster keeps its state.")
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on (0: any free one).")
    ] = 6443,
    pod_ready_seconds: Annotated[
        float,
        typer.Option(
            "--pod-ready-seconds",
            help="How long a started container takes to become Ready (0 for tests).",
            min=0,
        ),
    ] = Settings.pod_ready_seconds,
    no_simulation: Annotated[
        bool,
        typer.Option("--no-simulation", help="Serve the API alone: no node, nothing runs."),
    ] = False,
    event_window: Annotated[
        int,
        typer.Option("--event-window", help="How many recent changes watches can resume from."),
    ] = 20_000,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Kubeconfig to write (default DATA_DIR/kubeconfig)."),
    ] = None,
) -> None:
    """Serve the Kubernetes API until interrupted (SIGINT or SIGTERM)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    simulation = None if no_simulation else Settings(pod_ready_seconds=pod_ready_seconds)
    config = ServeConfig(data_dir.resolve(), host, port, kubeconfig, event_window, simulation)

    def ready(url: str) -> None:
        print(f"{READY_LINE} {url} (kubeconfig {config.kubeconfig_path})", flush=True)

    try:
        uvloop.run(serve(config, ready))
    except ServeError as error:
        typer.echo(f"failed to serve local cluster {data_dir}: {error}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()


__all__ = ["app"]
