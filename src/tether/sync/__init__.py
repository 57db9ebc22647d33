"""Syncing: changing the cluster to match Git, in order, safely and resumably.

A sync operation runs in phases (PreSync, Sync, PostSync; SyncFail when it fails),
each split into waves (``argocd.argoproj.io/sync-wave``), each wave ordered by kind
(Namespaces and CRDs first) and name. A wave starts only when the previous one is
healthy. Hooks run and are awaited. Objects are applied with server-side apply under
the field manager ``tether``.

Before the first write, every object is checked against its AppProject and
dry-run on the server, so an invalid object fails the sync without changing anything.
Only objects that carry the application's tracking id and are no longer desired are
pruned, and never after a failed or empty render. The operation's state is written
after every step so that a restarted controller resumes where it stopped.
"""
