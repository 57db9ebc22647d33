"""The local cluster: an embedded, Kubernetes-API-compatible server.

``tether local-cluster serve`` runs a single-node cluster that speaks the Kubernetes
REST API, persisted in SQLite, so that ``kubectl``, lightkube and tether itself work
against it unchanged. It simulates the workload controllers and the node, so
Deployments roll out, Pods become Ready and Jobs complete. It is a tool for trying
manifests and for tests, not a production cluster.

This package is a separate product inside the repository: it imports nothing of
tether but :mod:`tether.model`.

How it is built
---------------

- :mod:`~tether.localcluster.store` is the heart: :class:`~tether.localcluster.store.Store`
  is the in-process API (``get``, ``list``, ``create``, ``update``, ``replace_with``,
  ``delete``, ``delete_collection``, ``watch``) with the semantics of the HTTP verbs.
  Every object lives in memory twice, decoded and as its JSON, so reads and lists never
  touch SQLite and a list is a concatenation of stored bytes. Writes update the cache
  at once, join a batch, and return when the batch's transaction is fsynced
  (:mod:`~tether.localcluster.storage`: WAL, ``synchronous=FULL``): group commit, so
  many concurrent writes cost one fsync and every acknowledged write survives
  ``kill -9``. Events are published after their batch commits, in resourceVersion
  order; the global resourceVersion and the recent event log are stored, so both
  survive restarts and watches resume from where they were.
- Admission (:mod:`~tether.localcluster.admission`, plus admitters registered on the
  store) runs in kube-apiserver's order: type and namespace checks, ``generateName``,
  kind-specific preparation (Secret ``stringData``, Namespace phase and finalizers,
  the built-in defaults of :mod:`~tether.localcluster.defaults`), the
  status-subresource rule, name and label rules (:mod:`~tether.localcluster.names`),
  the numeric bounds of built-in kinds (ports, replica counts:
  :mod:`~tether.localcluster.bounds`), schema validation, defaulting and pruning
  (:mod:`~tether.localcluster.validating` over the schema engineer's
  :mod:`~tether.localcluster.validation`), then managedFields
  (:mod:`~tether.localcluster.applying` over :mod:`~tether.localcluster.fieldmanager`).
  In-process controllers write through the same path as HTTP clients. A GitOps sync
  dry-runs every object and then applies the very same bytes, so the validation
  report and the applied field set of recent writes are remembered by content
  (digest) and reused; both are pure functions of what identifies them.
- Watches (:mod:`~tether.localcluster.watch`) share each event's JSON among all
  watchers; an in-process watch is a filter and a queue. Controllers use store
  listeners, which are cheaper still.
- Controllers (:mod:`~tether.localcluster.controllers`): CustomResourceDefinitions
  (:mod:`~tether.localcluster.crds`: serve kinds before the create returns, status
  conditions, cleanup on delete), garbage collection and namespace termination
  (:mod:`~tether.localcluster.collector`).
- HTTP (:mod:`~tether.localcluster.api`, :mod:`~tether.localcluster.handlers`,
  :mod:`~tether.localcluster.routes`): a lean ASGI app under uvicorn (uvloop,
  httptools), bearer-token authentication compared in constant time, ``Status``
  objects for every error (:mod:`~tether.localcluster.errors`), discovery in legacy
  and aggregated form (:mod:`~tether.localcluster.discovery`), OpenAPI from
  :mod:`~tether.localcluster.openapi`, Tables for ``kubectl get``
  (:mod:`~tether.localcluster.tables`), patches of all four types
  (:mod:`~tether.localcluster.patching`), request bodies decoded with size and depth
  limits (:mod:`~tether.localcluster.body`; the protobuf bodies of kubectl's typed
  ``create`` by :mod:`~tether.localcluster.protobuf`), and the access reviews of the
  single user (:mod:`~tether.localcluster.reviews`).
- :mod:`~tether.localcluster.server` wires it together: :class:`Cluster` for use in a
  process (with the workload simulation of :mod:`tether.localcluster.simulation` when
  asked for), :func:`serve` for the HTTPS server with the credentials of
  :mod:`~tether.localcluster.credentials` (CA, serving certificate, token, kubeconfig
  with context ``tether-local``).

Rules
-----

- Where this server and a real kube-apiserver differ, the real one is right; tests pin
  the real status codes, reasons and messages.
- Nothing is acknowledged before it is durable; a failed commit stops the process
  (the cache would be ahead of the disk) and a restart reloads exactly what was
  acknowledged.
- Objects in the store are never mutated: a write builds a new object.

See ``docs/local-cluster.md`` for what is supported and where it differs.
"""
