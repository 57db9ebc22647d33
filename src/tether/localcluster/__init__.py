"""The local cluster: an embedded, Kubernetes-API-compatible server.

``tether local-cluster serve`` runs a single-node cluster that speaks the Kubernetes
REST API, persisted in SQLite, so that ``kubectl``, lightkube and tether itself work
against it unchanged. It simulates the workload controllers and the node, so
Deployments roll out, Pods become Ready and Jobs complete. It is a tool for trying
manifests and for tests, not a production cluster.

This package is a separate product inside the repository: it imports nothing of
tether but :mod:`tether.model`.
"""
