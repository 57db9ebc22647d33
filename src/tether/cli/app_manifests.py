"""``tether app manifests NAME``: the desired objects of an application, rendered by the server.

The server renders with the controller's renderer and masks Secret values; the objects
print as the same ``---``-separated YAML stream as the offline ``--file``/``--local``
form. A server started without a renderer answers 501, which is reported as it says.
"""

from __future__ import annotations

import json

from tether.cli.client import ApiClient
from tether.render.yamlio import dump_documents


def server_manifests(client: ApiClient, name: str, revision: str = "") -> str:
    """The YAML stream of application ``name``'s desired objects (at ``revision``)."""
    answer = client.get(
        f"/api/v1/applications/{name}/manifests",
        f"get the manifests of application {name}",
        {"revision": revision} if revision else None,
    )
    documents = [json.loads(text) for text in answer.get("manifests") or []]
    return dump_documents(documents) if documents else ""
