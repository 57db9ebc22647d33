"""Diffing: does what runs match what Git declares?

Objects are compared the way server-side apply sees them: every field the desired
manifest sets must match; fields tether applied before and no longer sets count as a
difference; fields the server fills in or defaults do not. ``ignoreDifferences`` (JSON
pointers, jq path expressions, managed-field managers) is honoured per application and
system-wide. Secret values are masked in every output: equal values stay visibly
equal, different ones visibly different, and the plaintext never appears.

Using it
--------
Build one :class:`Differ` per application and keep it across refreshes (it caches)::

    settings = DiffSettings.from_config_map(argocd_cm["data"])
    rules = parse_ignore_differences(app["spec"].get("ignoreDifferences"))
    differ = Differ.for_app(rules, settings)
    changes = differ.compare_app(desired_objects, live_objects_tracked_by_app)
    changes.sync_status            # SyncStatus.SYNCED / OUT_OF_SYNC / UNKNOWN
    for result in changes.results: # one ResourceDiff per ResourceKey
        result.state, result.paths, result.diff

The callers fetch live objects and run dry-runs; this package only compares values
(it imports nothing that reaches a cluster or a repository). Desired objects must
already carry their namespace (the application's destination namespace for
namespaced kinds that omit one), since pairing is by :class:`~tether.model.ResourceKey`.
Comparing is synchronous CPU work (microseconds per unchanged object, about 0.2 ms per
changed one); an asyncio caller comparing a large application cold can hand it to
``asyncio.to_thread``.

Results
-------
:class:`ResourceDiff` carries a :class:`DiffState`: ``Synced``, ``OutOfSync``,
``Missing`` (declared, not live: to create) or ``Extraneous`` (live, tracked, no
longer declared: a prune candidate), the normalised ``desired``, ``live`` and
``predicted`` forms (``predicted`` is the live object once the manifest is applied),
a unified YAML ``diff`` from live to predicted with sorted keys, and the JSON pointers
of the differing fields (ready to paste into ``jsonPointers``). :class:`ChangeSet`
holds all results of an application plus :class:`ComparisonFailure` values for
objects that could not be compared; any failure makes the application ``Unknown``.

The rules
---------
1. **Only what Git sets is compared.** The manifest is merged into the live object
   as server-side apply would (:mod:`tether.diff.merge`): fields the manifest leaves
   out keep their live values, so server-populated and defaulted fields never show.
2. **What tether owned and dropped is a difference.** Fields the live object's
   ``managedFields`` give to manager ``tether`` with operation ``Apply``, that the
   manifest no longer sets and that no other manager co-owns, are what the next
   apply removes; they are removed from the prediction
   (:mod:`tether.diff.fieldset`). Fields owned by other managers stay.
3. **Never compared:** ``metadata.uid``, ``resourceVersion``, ``generation``,
   ``creationTimestamp``, ``managedFields``, ``selfLink``, ``deletionTimestamp``,
   ``deletionGracePeriodSeconds``, the tracking-id and
   ``last-applied-configuration`` annotations, ``status`` (every kind by default,
   like Argo CD 3; ``resource.compareoptions`` ``ignoreResourceStatusField: crd|none``
   narrows it), and server-assigned fields the manifest leaves unset or empty (a
   Service's ``clusterIP``/``clusterIPs``/``ipFamilies``/``ipFamilyPolicy``/
   ``healthCheckNodePort``, a claim's ``volumeName``).
4. **Equivalent spellings are equal:** quantities (``1000m`` = ``1``, ``1Gi`` =
   ``1024Mi``), int-or-string numbers (``"8080"`` = ``8080``), ``1`` = ``1.0``,
   ``null`` = unset, an empty map or list = missing (except fields where emptiness
   means something, such as ``emptyDir: {}``), a Secret's ``stringData`` = its
   base64 ``data``. Map lists are matched by merge keys (containers and env by
   ``name``, container ports by ``containerPort`` + ``protocol`` with ``TCP``
   defaulted, ...), so reordering them is not a difference.
5. **Schema knowledge** comes from :data:`BUILTIN_SCHEMA` (common built-in kinds);
   inject another :class:`SchemaLookup`, such as :meth:`OpenAPISchema.bundled` (the
   Kubernetes OpenAPI definitions) or a :class:`ChainedSchema` with CRD schemas.
6. **ignoreDifferences** (:mod:`tether.diff.ignore`) follow Argo CD's "Diffing
   Customization": per-app ``spec.ignoreDifferences[]`` and the settings keys
   ``resource.customizations.ignoreDifferences.<group>_<kind>`` and ``...all``.
   A malformed pointer or jq expression raises :class:`IgnoreRuleError` naming it
   when the rules are parsed. jq runs in a killable worker with a 1 s budget per
   expression (:mod:`tether.diff.jq`); a runaway expression fails that object's
   comparison with :class:`JqTimeoutError` instead of hanging.
   :meth:`Differ.respect_ignore_differences` (:mod:`tether.diff.respect`) gives the
   sync engine the manifest to apply under ``RespectIgnoreDifferences=true``: ignored
   fields carry their live values (list items matched by merge key), so the apply
   neither resets nor claims them.
7. **Server-side diff** (``ServerSideDiff=true``): pass the result of a server-side
   dry-run apply as ``predicted`` and it is compared with live instead of the local
   prediction. As in Argo CD, what mutating webhooks changed during the dry run is
   left out (:mod:`tether.diff.mutation`): only fields the manifest declares, and
   fields tether stops declaring, may differ, unless ``IncludeMutationWebhook=true``
   (``Differ(include_mutation_webhook=True)`` or the object's compare options).
   **IgnoreExtraneous** in an object's ``argocd.argoproj.io/compare-options`` keeps
   it, when extraneous, from making the application OutOfSync
   (:func:`compare_options` reads the annotation).
8. **Secrets are masked** (:mod:`tether.diff.mask`) in the diff text, every returned
   form and the ``last-applied-configuration`` annotation: ``++++++++ <n>``, numbered
   per key in order of appearance. Error messages never carry field values (jq's
   value snippets are cut).
9. **Caching:** normalised live forms are keyed by ``uid`` + ``resourceVersion``,
   normalised desired forms and results by a content hash; all LRU-bounded.

Known limits: a local prediction cannot know defaults the server re-applies after a
field tether owned is removed (it reports the removal); server-side diff can.
"""

from tether.diff.compare import (
    IGNORE_EXTRANEOUS,
    SERVER_SIDE_DIFF,
    CacheStats,
    Differ,
    compare_options,
)
from tether.diff.errors import (
    ComparisonError,
    DiffError,
    IgnoreRuleError,
    InvalidObjectError,
    JqError,
    JqTimeoutError,
)
from tether.diff.ignore import DiffSettings, IgnoreRule, parse_ignore_differences
from tether.diff.jq import JqRunner
from tether.diff.mask import mask_secret, mask_secrets
from tether.diff.mutation import INCLUDE_MUTATION_WEBHOOK
from tether.diff.normalize import StatusComparison
from tether.diff.respect import respect_ignore_differences
from tether.diff.result import ChangeSet, ComparisonFailure, DiffState, ResourceDiff
from tether.diff.schema import (
    BUILTIN_SCHEMA,
    ChainedSchema,
    ListKind,
    OpenAPISchema,
    ScalarKind,
    SchemaLookup,
    SchemaNode,
)

__all__ = [
    "BUILTIN_SCHEMA",
    "IGNORE_EXTRANEOUS",
    "INCLUDE_MUTATION_WEBHOOK",
    "SERVER_SIDE_DIFF",
    "CacheStats",
    "ChainedSchema",
    "ChangeSet",
    "ComparisonError",
    "ComparisonFailure",
    "DiffError",
    "DiffSettings",
    "DiffState",
    "Differ",
    "IgnoreRule",
    "IgnoreRuleError",
    "InvalidObjectError",
    "JqError",
    "JqRunner",
    "JqTimeoutError",
    "ListKind",
    "OpenAPISchema",
    "ResourceDiff",
    "ScalarKind",
    "SchemaLookup",
    "SchemaNode",
    "StatusComparison",
    "compare_options",
    "mask_secret",
    "mask_secrets",
    "parse_ignore_differences",
    "respect_ignore_differences",
]
