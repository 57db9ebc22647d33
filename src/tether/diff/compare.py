"""The comparison itself, of one object or of a whole application.

:meth:`Differ.compare` judges one object, :meth:`Differ.compare_app` pairs an
application's desired and live objects; both cache what they compute so that a refresh
where nothing changed is cheap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tether.diff.cache import LRUCache
from tether.diff.errors import ComparisonError, DiffError, InvalidObjectError
from tether.diff.fieldset import FieldTree, abandoned_paths, owned_paths, split_trees
from tether.diff.ignore import (
    DiffSettings,
    IgnoreRule,
    matching,
    remove_ignored,
    selected_paths,
)
from tether.diff.jq import JqRunner, shared_runner
from tether.diff.mask import mask_secrets
from tether.diff.merge import differences, merge
from tether.diff.mutation import INCLUDE_MUTATION_WEBHOOK, without_mutations
from tether.diff.normalize import (
    StatusComparison,
    copy_object,
    drop_server_assigned,
    is_secret,
    normalize,
)
from tether.diff.pointer import Path, format_pointer, remove_paths
from tether.diff.respect import respect_ignore_differences
from tether.diff.result import ChangeSet, ComparisonFailure, DiffState, ResourceDiff
from tether.diff.schema import BUILTIN_SCHEMA, SchemaLookup, root_of
from tether.diff.text import unified_yaml
from tether.model import ResourceKey, keys

#: Compare option that keeps an extraneous object from making the application OutOfSync.
IGNORE_EXTRANEOUS = "IgnoreExtraneous"
#: Compare option asking the caller for a server-side dry run to diff against.
SERVER_SIDE_DIFF = "ServerSideDiff=true"

Object = Mapping[str, Any]


def compare_options(obj: Object | None) -> frozenset[str]:
    """The entries of an object's ``argocd.argoproj.io/compare-options`` annotation."""
    metadata = (obj or {}).get("metadata") or {}
    value = (metadata.get("annotations") or {}).get(keys.COMPARE_OPTIONS) or ""
    return frozenset(part.strip() for part in str(value).split(",") if part.strip())


def object_key(obj: object) -> ResourceKey:
    """The key of a Kubernetes object; :class:`InvalidObjectError` if it is not one."""
    if not isinstance(obj, Mapping):
        raise InvalidObjectError(_UNKNOWN, f"expected a mapping, got {type(obj).__name__}")
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        partial = ResourceKey("", str(obj.get("kind") or "?"), "", "?")
        raise InvalidObjectError(partial, "metadata is missing or not a mapping")
    key = ResourceKey.of(obj)
    if not key.kind or not key.name or not isinstance(obj.get("apiVersion"), str):
        raise InvalidObjectError(key, "apiVersion, kind and metadata.name are required")
    return key


_UNKNOWN = ResourceKey("", "?", "", "?")


def digest(obj: Object) -> bytes:
    """A content hash of ``obj`` that ignores key order."""
    encoded = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(encoded, digest_size=16).digest()


def _live_ref(live: Object) -> tuple[str, str, str] | bytes:
    metadata = live.get("metadata") or {}
    uid, version = metadata.get("uid"), metadata.get("resourceVersion")
    if uid and version:
        return ("rv", str(uid), str(version))
    return digest(live)


@dataclass(frozen=True, slots=True)
class CacheStats:
    """How well the result cache serves repeated comparisons."""

    entries: int
    capacity: int
    hits: int
    misses: int


@dataclass(frozen=True, slots=True)
class _Live:
    """A live object reduced once per resourceVersion."""

    form: dict[str, Any]
    own: FieldTree
    others: FieldTree
    #: The object as given, for managedFields lookups; unchanging at one resourceVersion.
    raw: Object
    affects_sync: bool


class Differ:
    """Compares desired objects with live ones for one application.

    ``ignore`` holds the application's rules followed by the system-wide ones (see
    :func:`tether.diff.ignore.parse_ignore_differences` and :class:`DiffSettings`).
    ``schema`` answers list types and scalar kinds (default: the built-in table).
    ``manager`` is tether's field manager, whose previously applied fields count when
    the manifest drops them. ``include_mutation_webhook`` keeps webhook mutations in
    server-side diffs (the application-wide ``IncludeMutationWebhook=true``; an
    object's own compare-options annotation can also ask for it). Normalised forms and
    results are cached (LRU, ``cache_size`` entries each) by live ``uid`` +
    ``resourceVersion`` and by a hash of the desired object, so a refresh where nothing
    changed costs a hash per object.
    """

    def __init__(
        self,
        *,
        ignore: Sequence[IgnoreRule] = (),
        status: StatusComparison = StatusComparison.IGNORE_ALL,
        schema: SchemaLookup = BUILTIN_SCHEMA,
        jq: JqRunner | None = None,
        manager: str = keys.FIELD_MANAGER,
        include_mutation_webhook: bool = False,
        cache_size: int = 20_000,
    ) -> None:
        self.rules = tuple(ignore)
        self.include_mutation_webhook = include_mutation_webhook
        self.status = status
        self.schema = schema
        self.manager = manager
        self._jq = jq
        self._desired: LRUCache[bytes, dict[str, Any]] = LRUCache(cache_size)
        self._live: LRUCache[Any, _Live] = LRUCache(cache_size)
        self._results: LRUCache[Any, ResourceDiff] = LRUCache(cache_size)

    @classmethod
    def for_app(
        cls,
        app_rules: Sequence[IgnoreRule],
        settings: DiffSettings,
        *,
        schema: SchemaLookup = BUILTIN_SCHEMA,
        jq: JqRunner | None = None,
        include_mutation_webhook: bool = False,
        cache_size: int = 20_000,
    ) -> Differ:
        """A differ for an application's rules plus the system-wide settings."""
        return cls(
            ignore=(*app_rules, *settings.ignore),
            status=settings.status,
            schema=schema,
            jq=jq,
            include_mutation_webhook=include_mutation_webhook,
            cache_size=cache_size,
        )

    @property
    def jq(self) -> JqRunner:
        """The jq runner (the process-wide one unless one was injected)."""
        if self._jq is None:
            self._jq = shared_runner()
        return self._jq

    def cache_stats(self) -> CacheStats:
        """Size and hit counts of the result cache."""
        cache = self._results
        return CacheStats(len(cache), cache.maxsize, cache.hits, cache.misses)

    # -- one object ---------------------------------------------------------------

    def compare(
        self, desired: Object | None, live: Object | None, *, predicted: Object | None = None
    ) -> ResourceDiff:
        """Compare one object.

        ``predicted`` is the result of a server-side dry-run apply of ``desired``
        (``ServerSideDiff=true``); without it the apply is predicted locally.

        Raises :class:`ComparisonError` (naming the object) when an ignore rule fails.
        """
        subject = desired if desired is not None else live
        if subject is None:
            raise ValueError("compare needs a desired or a live object")
        key = object_key(subject)
        try:
            cache_key = (
                digest(desired) if desired is not None else None,
                _live_ref(live) if live is not None else None,
                digest(predicted) if predicted is not None else None,
            )
        except orjson.JSONEncodeError as error:
            # YAML can carry values JSON cannot (binary, sets); the API would refuse them too.
            raise InvalidObjectError(key, str(error)) from error
        cached = self._results.get(cache_key)
        if cached is not None:
            return cached
        try:
            result = self._compare(key, desired, live, predicted, cache_key)
        except DiffError as error:
            raise ComparisonError(key, str(error)) from error
        self._results.put(cache_key, result)
        return result

    def _compare(
        self,
        key: ResourceKey,
        desired: Object | None,
        live: Object | None,
        predicted: Object | None,
        cache_key: tuple[Any, ...],
    ) -> ResourceDiff:
        rules = matching(self.rules, key)
        live_state = self._live_form(live, cache_key[1], rules) if live is not None else None
        if desired is None:
            assert live_state is not None
            (masked_live,) = mask_secrets(live_state.form)
            return ResourceDiff(
                key=key,
                state=DiffState.EXTRANEOUS,
                live=masked_live,
                diff=unified_yaml(masked_live, None),
                paths=("",),
                affects_sync=live_state.affects_sync,
            )
        desired_form = self._desired_form(desired, cache_key[0], rules)
        if live_state is None:
            (masked,) = mask_secrets(desired_form)
            return ResourceDiff(
                key=key,
                state=DiffState.MISSING,
                desired=masked,
                predicted=masked,
                diff=unified_yaml(None, masked),
                paths=("",),
            )
        target = copy_object(desired_form)
        current = copy_object(live_state.form)
        manager_rules = [r for r in rules if r.managed_fields_managers]
        if manager_rules:
            remove_ignored(
                target, selected_paths(manager_rules, target, live=live_state.raw, jq=self.jq)
            )
        drop_server_assigned(key.group, key.kind, target, current)
        node = root_of(self.schema, desired)
        if predicted is not None:
            outcome = normalize(predicted, self.status)
            remove_ignored(outcome, selected_paths(rules, outcome, live=live_state.raw, jq=self.jq))
            drop_server_assigned(key.group, key.kind, target, outcome)
            if not self.include_mutation_webhook and (
                INCLUDE_MUTATION_WEBHOOK not in compare_options(desired)
            ):
                owned = owned_paths(current, live_state.own)
                outcome = without_mutations(current, outcome, target, owned, node)
        else:
            outcome = copy_object(merge(current, target, node))
            abandoned = abandoned_paths(outcome, target, live_state.own, live_state.others)
            remove_paths(outcome, abandoned)
        changed = differences(current, outcome, node)
        return self._result(key, target, current, outcome, changed)

    def _result(
        self,
        key: ResourceKey,
        target: dict[str, Any],
        current: dict[str, Any],
        outcome: dict[str, Any],
        changed: list[Path],
    ) -> ResourceDiff:
        if not changed:
            outcome = current  # equal in content; sharing halves what the cache holds
        shown_desired, shown_live, shown_predicted = (
            mask_secrets(target, current, outcome)
            if is_secret(current) or is_secret(target)
            else (target, current, outcome)
        )
        return ResourceDiff(
            key=key,
            state=DiffState.OUT_OF_SYNC if changed else DiffState.SYNCED,
            desired=shown_desired,
            live=shown_live,
            predicted=shown_predicted,
            diff=unified_yaml(shown_live, shown_predicted) if changed else "",
            paths=tuple(format_pointer(p) for p in changed),
        )

    def _desired_form(
        self, desired: Object, ref: bytes, rules: tuple[IgnoreRule, ...]
    ) -> dict[str, Any]:
        cached = self._desired.get(ref)
        if cached is None:
            cached = normalize(desired, self.status)
            remove_ignored(cached, selected_paths(rules, cached, live=None, jq=self.jq))
            self._desired.put(ref, cached)
        return cached

    def _live_form(self, live: Object, ref: Any, rules: tuple[IgnoreRule, ...]) -> _Live:
        cached = self._live.get(ref)
        if cached is None:
            form = normalize(live, self.status)
            remove_ignored(form, selected_paths(rules, form, live=live, jq=self.jq))
            own, others = split_trees(live, self.manager)
            affects = IGNORE_EXTRANEOUS not in compare_options(live)
            cached = _Live(form=form, own=own, others=others, raw=live, affects_sync=affects)
            self._live.put(ref, cached)
        return cached

    # -- a whole application ------------------------------------------------------

    def compare_app(
        self,
        desired: Iterable[Object],
        live: Iterable[Object],
        *,
        predicted: Mapping[ResourceKey, Object] | None = None,
    ) -> ChangeSet:
        """Pair desired and live objects by :class:`ResourceKey` and compare every pair.

        ``live`` must hold only objects tracked by the application: a live object with
        no desired counterpart is reported :attr:`DiffState.EXTRANEOUS`. An object that
        cannot be compared (or a key declared twice) becomes a failure; the others are
        still compared.
        """
        failures: list[ComparisonFailure] = []
        wanted = self._index(desired, failures, "declared")
        running = self._index(live, failures, "live")
        dry_runs = predicted or {}
        results: list[ResourceDiff] = []
        for key in sorted(wanted.keys() | running.keys()):
            try:
                results.append(
                    self.compare(wanted.get(key), running.get(key), predicted=dry_runs.get(key))
                )
            except (ComparisonError, InvalidObjectError) as error:
                failures.append(ComparisonFailure(key, str(error)))
        return ChangeSet(results=tuple(results), failures=tuple(failures))

    @staticmethod
    def _index(
        objects: Iterable[Object], failures: list[ComparisonFailure], role: str
    ) -> dict[ResourceKey, Object]:
        indexed: dict[ResourceKey, Object] = {}
        for obj in objects:
            try:
                key = object_key(obj)
            except InvalidObjectError as error:
                failures.append(ComparisonFailure(error.key, str(error)))
                continue
            if key in indexed:
                message = f"failed to compare {key}: {role} more than once"
                failures.append(ComparisonFailure(key, message))
            indexed[key] = obj
        return indexed

    def respect_ignore_differences(self, desired: Object, live: Object | None) -> dict[str, Any]:
        """``desired`` with ignored fields set to their live values, ready to apply."""
        try:
            return respect_ignore_differences(
                desired, live, self.rules, jq=self.jq, schema=self.schema
            )
        except DiffError as error:
            raise ComparisonError(ResourceKey.of(desired), str(error)) from error
