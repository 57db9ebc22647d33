"""``tether cluster``: register destination clusters (Argo CD cluster Secrets)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
import yaml

from tether.controller.clustersecret import ClusterSecretError, cluster_secret
from tether.kube import ConfigError, KubeClient, KubeError, load_kubeconfig
from tether.kube.config import default_kubeconfig_path

app = typer.Typer(name="cluster", help="Manage destination clusters.", no_args_is_help=True)


@app.command("add")
def add_command(
    context: Annotated[str, typer.Argument(help="Kubeconfig context of the cluster to add.")],
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="Kubeconfig holding both contexts.")
    ] = None,
    management_context: Annotated[
        str | None,
        typer.Option(
            "--management-context", help="Context of the cluster tether runs in (default: current)."
        ),
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="tether's control namespace.")
    ] = "argocd",
    name: Annotated[
        str, typer.Option("--name", help="Name of the cluster in tether (default: the context).")
    ] = "",
) -> None:
    """Register CONTEXT's cluster as a destination by writing its cluster Secret.

    Exit codes: 0 registered, 2 the kubeconfig or a cluster could not be used.
    """
    path = kubeconfig or default_kubeconfig_path()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        secret = cluster_secret(data, context, namespace, name=name, base_dir=path.parent)
        management = load_kubeconfig(path, management_context)
    except (OSError, yaml.YAMLError, ClusterSecretError, ConfigError) as error:
        typer.echo(f"failed to add cluster {context}: {error}", err=True)
        raise typer.Exit(2) from None

    async def write() -> None:
        async with KubeClient(management) as client:
            await client.apply(secret)

    try:
        asyncio.run(write())
    except KubeError as error:
        typer.echo(f"failed to add cluster {context}: {error}", err=True)
        raise typer.Exit(2) from None
    written = secret["stringData"]
    typer.echo(
        f"Cluster '{written['server']}' added as '{written['name']}' "
        f"(Secret {namespace}/{secret['metadata']['name']})"
    )
