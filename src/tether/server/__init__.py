"""The server: how people and other systems reach tether.

A REST API under ``/api/v1`` shaped like Argo CD's (what the UI and CLI use), Git
webhooks at ``/api/webhook``, Prometheus metrics at ``/metrics`` with Argo CD's metric
names, a Server-Sent Events stream of application changes, and the OpenAPI document at
``/api/openapi.json`` (no docs pages: they would load assets from CDNs).

State lives in the management cluster, as in Argo CD: Applications, AppProjects and
ApplicationSets in the control namespace; repository and cluster credentials in
Secrets labelled ``argocd.argoproj.io/secret-type``; settings in ``argocd-cm``,
``argocd-rbac-cm`` and ``argocd-secret``. The server reads and writes them through
:class:`tether.kube.KubeClient` and needs no controller in its process: a sync is
requested by writing the Application's ``operation`` (as ``argocd app sync`` does), a
refresh by the ``argocd.argoproj.io/refresh`` annotation, a termination by
``status.operationState.phase: Terminating``.

Using it
--------
::

    app = create_app(client, "argocd", clock,
                     manifests=renderer,        # ManifestSource (the controller's)
                     destinations=clients_for,  # app -> KubeClient of its cluster
                     on_push=controller.push,   # (repo_url, revision, changed_paths)
                     registry=registry)         # prometheus_client registry to share
    uvicorn.run(app)                            # or: tether server --kubeconfig ...

Rules
-----
Authentication
    Tokens are HS256 JWTs signed with ``argocd-secret``'s ``tether-server-key``
    (created on first start, with the admin password, which is written in clear only
    to ``argocd-initial-admin-secret``). Sent as ``Authorization: Bearer`` or as the
    ``argocd.token`` cookie (``HttpOnly``, ``SameSite=Strict``). A cookie-authenticated
    mutating request must carry ``X-Requested-With: XMLHttpRequest`` (CSRF). Session
    tokens are revoked by logout and by a password change; API and project tokens by
    deleting their records. Failed logins are throttled per (username, client).
Authorisation
    Argo CD's RBAC (:mod:`.rbac`): every endpoint checks ``resource, action, object``
    (applications as ``<project>/<name>``); lists leave out what may not be read; an
    unknown application is a 403 for callers who could not see it anyway.
Audit
    Every authorised mutation is an Event in the control namespace and a log line on
    ``tether.audit`` (who, what, when; never a body).
Secrets
    Never in a response: repository passwords, keys and cluster credentials are
    write-only; Secret data in live objects, manifests and diffs is masked
    (:func:`tether.diff.mask.mask_secret`).
Errors
    ``{"error", "message", "code"}`` bodies (Argo CD's gateway shape): 400 bad input,
    401 no valid token, 403 not allowed, 404, 409, 412 wrong state, 413 body too
    large (API 4 MiB, webhooks 50 MB), 429 throttled, 501 a component not wired in.

Modules
-------
:mod:`.app` (factory, body limit, error handlers), :mod:`.context` (what handlers
share, ``enforce``), :mod:`.store` (cached settings, ``argocd-secret`` writes),
:mod:`.accounts`, :mod:`.tokens`, :mod:`.auth`, :mod:`.ratelimit`, :mod:`.rbac`,
:mod:`.audit`, :mod:`.appcache` (watch-backed Applications), :mod:`.pagecache`,
:mod:`.selectors`, :mod:`.views`, :mod:`.credentials`, :mod:`.interfaces` and
:mod:`.tree` (resource trees, managed resources), :mod:`.metrics`, :mod:`.events`
(SSE), :mod:`.routes` (one module per resource) and :mod:`.webhooks` (one module per
provider, :mod:`.webhooks.dispatch`).
"""
