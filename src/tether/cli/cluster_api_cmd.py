"""``tether cluster list`` and ``tether cluster rm``: destinations through the API server.

Registered on the ``cluster`` group of :mod:`tether.cli.cluster_cmd` (whose ``add``
writes the cluster Secret from a kubeconfig). The in-cluster destination is always
listed; credentials are write-only and never shown.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tether.cli.client import path_segment
from tether.cli.cluster_cmd import app
from tether.cli.output import (
    Output,
    OutputFormat,
    ServerFlag,
    TokenFlag,
    open_client,
    print_objects,
    reporting_errors,
)

API = "/api/v1/clusters"


def cluster_row(cluster: dict[str, Any], wide: bool) -> dict[str, str]:
    """One ``cluster list`` row."""
    row = {
        "server": str(cluster.get("server", "")),
        "name": str(cluster.get("name", "")),
        "namespaces": ",".join(cluster.get("namespaces") or []) or "<all>",
    }
    if wide:
        row["project"] = str(cluster.get("project", ""))
        row["cluster-resources"] = str(bool(cluster.get("clusterResources", False))).lower()
    return row


@app.command("list")
def list_command(
    output: Output = OutputFormat.TABLE, server: ServerFlag = "", auth_token: TokenFlag = ""
) -> None:
    """List destination clusters."""
    with reporting_errors(), open_client(server, auth_token) as client:
        answer = client.get(API, "list clusters")
    print_objects(answer.get("items") or [], output, cluster_row, lambda c: str(c["server"]))


@app.command("rm")
def remove_command(
    cluster: Annotated[str, typer.Argument(help="Server URL of the cluster.")],
    server: ServerFlag = "",
    auth_token: TokenFlag = "",
) -> None:
    """Remove a destination cluster and its credentials."""
    with reporting_errors(), open_client(server, auth_token) as client:
        client.delete(f"{API}/{path_segment(cluster)}", f"remove cluster {cluster}")
    typer.echo(f"cluster '{cluster}' removed")
