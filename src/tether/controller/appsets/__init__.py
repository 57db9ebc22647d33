"""ApplicationSets: generators turn directories, files, clusters and more into Applications.

"Onboarding a client is copy a directory and commit." An ApplicationSet names
generators; each produces parameter sets; each set renders the ``template`` into one
Application; tether creates, updates and deletes the generated Applications to match.
The formats and parameters are Argo CD's, unchanged.

Generators (one module each)
----------------------------
``list`` (:mod:`.list`)
    ``elements`` (strings only with fasttemplate; ``values`` become ``values.<k>``) and
    ``elementsYaml``.
``clusters`` (:mod:`.clusters`)
    Cluster Secrets (``argocd.argoproj.io/secret-type: cluster``) plus the local
    ``in-cluster`` (``https://kubernetes.default.svc``) when no Secret describes it and
    no ``selector`` is given. Parameters: ``name``, ``nameNormalized``, ``server``,
    ``project``, ``metadata.labels.<k>``, ``metadata.annotations.<k>``.
``git`` directories (:mod:`.gitdirs`) and files (:mod:`.gitfiles`)
    Globs where ``*`` stays in one segment and ``**`` crosses segments; ``exclude:
    true`` entries always win; hidden folders are never generated. Directory
    parameters: ``path``, ``path.basename``, ``path.basenameNormalized``, ``path[n]``
    (``path.segments`` with goTemplate); ``pathParamPrefix`` prefixes them. Files (JSON
    or YAML) are flattened with dots for fasttemplate and kept nested for goTemplate;
    a list of objects gives one set per object; numbers are Go ``float64``, written as
    Go writes them.
``matrix`` (:mod:`.matrix`) and ``merge`` (:mod:`.merge`)
    A matrix combines two children; the second child is rendered with each of the
    first's parameter sets. A merge overrides the first child's sets with later ones
    that agree on ``mergeKeys``.
``pullRequest`` (:mod:`.pullrequest`), ``scmProvider`` (:mod:`.scm`)
    GitHub, GitLab and Gitea REST APIs (``api`` base URL, ``tokenRef`` Secret,
    ``filters``), bounded pagination, tokens never in messages.
``plugin`` (:mod:`.plugin`)
    POST ``<baseUrl>/api/v1/getparams.execute`` per Argo CD's plugin protocol.

Every generator accepts ``values`` (rendered with its parameters), a ``selector``
post-filter (label-selector syntax over the flattened parameter names), a ``template``
override and ``requeueAfterSeconds`` (defaults: git 180 s; pullRequest, scmProvider,
plugin 30 min; list never; clusters never, since cluster Secrets are watched).

Templates (:mod:`.templating`, :mod:`.gotemplate`)
-----------------------------------------------------
fasttemplate ``{{name}}`` by default (unknown names stay as written), or Go
``text/template`` with ``goTemplate: true``, Sprig and Argo CD's extra functions and
``goTemplateOptions: ["missingkey=error"]``; ``templatePatch`` is merged over the
rendered Application. The engine is tether's own and matches Go byte for byte on the
golden cases in ``testdata/appsets/gotemplate/``.

Lifecycle (:mod:`.lifecycle`, :mod:`.rollingsync`, :mod:`.reconciler`)
----------------------------------------------------------------------
- ``syncPolicy.applicationsSync``: ``sync`` (default), ``create-only``,
  ``create-update``, ``create-delete``; ``preserveResourcesOnDeletion`` removes the
  resources finalizer before an Application is deleted, so its resources stay.
- Generated Applications carry an ownerReference to the ApplicationSet
  (``controller: true``, ``blockOwnerDeletion: true``) and the label
  ``tether.dev/applicationset: <name>``. An existing Application the ApplicationSet
  does not control is reported, never taken over.
- ``preservedFields`` and ``ignoreApplicationDifferences`` (``jsonPointers``,
  ``jqPathExpressions``) keep live values.
- ``strategy: RollingSync``: steps select Applications by label; a step starts once
  every Application of earlier steps is Healthy; ``maxUpdate`` bounds how many sync at
  once; automated sync is removed from generated Applications and syncs are triggered
  by writing ``operation``.

Safety
------
If any generator fails (unreachable repository, API error, unparsable file), nothing
is created, changed or deleted for that ApplicationSet in that pass and the
``ErrorOccurred`` condition says why. An Application that fails to render gets
reported and skipped, never deleted; the others proceed. Duplicate names within one
ApplicationSet stop the pass.

Status
------
``conditions`` (``ErrorOccurred``, ``ParametersGenerated``, ``ResourcesUpToDate``,
``RollingSync``), ``resources``/``resourcesCount`` and, with RollingSync,
``applicationStatus``, written to the status subresource.

Using it
--------
::

    reconciler = ApplicationSetReconciler(client, "argocd", git_cache, clock)
    await reconciler.start()            # list + watch, reconcile (4 at once), requeue
    outcome = await reconciler.reconcile_once("guestbook")   # one pass, for tests
    await reconciler.close()

Offline: ``tether appset generate appset.yaml --local ./repo --clusters clusters.yaml``.
"""

from tether.controller.appsets.errors import (
    AppSetError,
    GeneratorError,
    RenderError,
    TemplateError,
    TemplateExecError,
    TemplateSyntaxError,
)
from tether.controller.appsets.reconciler import FIELD_MANAGER, ApplicationSetReconciler, Outcome

__all__ = [
    "FIELD_MANAGER",
    "AppSetError",
    "ApplicationSetReconciler",
    "GeneratorError",
    "Outcome",
    "RenderError",
    "TemplateError",
    "TemplateExecError",
    "TemplateSyntaxError",
]
