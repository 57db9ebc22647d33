"""Git webhooks at ``/api/webhook``: a push refreshes the applications it concerns.

One module per provider reads its headers and payload into a :class:`~.push.Push`
(repository URLs, the pushed ref, changed files when the payload lists them):
:mod:`.github`, :mod:`.gitlab`, :mod:`.gitea` (Gitea and Gogs), :mod:`.bitbucket`
(Cloud), :mod:`.bitbucketserver` and :mod:`.azuredevops`. :mod:`.dispatch` picks the
provider from the headers, checks the request against the secret configured in
``argocd-secret`` (Argo CD's keys: ``webhook.github.secret``, ``webhook.gitlab.secret``,
``webhook.gogs.secret``, ``webhook.bitbucket.uuid``, ``webhook.bitbucketserver.secret``,
``webhook.azuredevops.username``/``.password``) in constant time, and refreshes every
matching application. A provider with no secret configured accepts unsigned payloads,
as Argo CD does; a configured secret that does not match is a 401 and nothing happens.
"""
