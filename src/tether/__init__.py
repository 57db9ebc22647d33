"""tether: a GitOps continuous-delivery engine.

tether keeps Kubernetes clusters in the state a Git repository declares. It renders
what the repository holds (plain YAML, Kustomize, Helm, Jsonnet), compares it with
what the cluster runs, applies the difference, prunes what left Git, reverts drift
and reports sync and health status. It reads Argo CD's resource formats unchanged
(``argoproj.io/v1alpha1`` Application, ApplicationSet and AppProject, and the
``argocd.argoproj.io/*`` annotations), so an existing Argo CD repository works as is.

The packages below this one are layered; each package's docstring is its manual:

- :mod:`tether.model`: specs, status types, enums and every annotation key.
- :mod:`tether.kube`: the only code that talks to a Kubernetes API server.
- :mod:`tether.source`: Git repositories, revisions and checkouts.
- :mod:`tether.render`: turning a checkout into desired objects.
- :mod:`tether.live`: the watch-backed cache of live objects.
- :mod:`tether.diff`: comparing desired and live objects.
- :mod:`tether.health`: judging whether live objects are healthy.
- :mod:`tether.sync`: planning and running sync operations.
- :mod:`tether.controller`: the reconcilers for Applications and ApplicationSets.
- :mod:`tether.localcluster`: the embedded Kubernetes-API-compatible cluster.
- :mod:`tether.server`: the REST API, webhooks, metrics and the web UI.
- :mod:`tether.cli`: the ``tether`` command.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("tether")
except _metadata.PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
