"""Sync and compare options: ``syncPolicy.syncOptions`` and the per-object annotations.

Options are ``Key=Value`` strings. An Application lists them in
``spec.syncPolicy.syncOptions``; an object may carry some of them, comma-separated, in
``argocd.argoproj.io/sync-options``; compare options live in
``argocd.argoproj.io/compare-options`` (on an object, or on the Application for the whole
app). An option an object sets explicitly overrides the app's, as in Argo CD, and Helm's
``helm.sh/resource-policy: keep`` reads as ``Delete=false``.

Anything Argo CD would ignore (an unknown key, a value it does not recognise, an app-only
option on an object) is not an error: it is kept in :attr:`SyncOptions.unknown` so that
it can be reported.

tether applies server-side by default: ``ServerSideApply=false`` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from enum import Enum, StrEnum
from typing import Any, Final

from tether.model import keys


class PruneOption(StrEnum):
    """``Prune=...``: whether an object may be pruned, or only after a confirmation."""

    ENABLED = "true"
    DISABLED = "false"
    CONFIRM = "confirm"


class DeleteOption(StrEnum):
    """``Delete=...``: whether an object is deleted with its app, or only after a confirmation."""

    ENABLED = "true"
    DISABLED = "false"
    CONFIRM = "confirm"


class PropagationPolicy(StrEnum):
    """``PrunePropagationPolicy=...``: the deletion propagation used when pruning."""

    FOREGROUND = "foreground"
    BACKGROUND = "background"
    ORPHAN = "orphan"


class _Scope(Enum):
    APP = "app"  # only in spec.syncPolicy.syncOptions
    BOTH = "both"  # in the app's list and in an object's annotation
    COMPARE = "compare"  # in the compare-options annotation (object or Application)


@dataclass(frozen=True, slots=True)
class _Option:
    field: str
    scope: _Scope
    parse: Callable[[str | None], Any]


def _boolean(value: str | None) -> bool:
    if value not in ("true", "false"):
        raise ValueError(value)
    return value == "true"


def _one_of(kind: type[StrEnum]) -> Callable[[str | None], StrEnum]:
    def parse(value: str | None) -> StrEnum:
        return kind(value or "")  # ValueError for a missing or unknown value

    return parse


def _present(value: str | None) -> bool:
    if value is not None and value != "true":
        raise ValueError(value)
    return True


_OPTIONS: Final[Mapping[str, _Option]] = {
    "CreateNamespace": _Option("create_namespace", _Scope.APP, _boolean),
    "PruneLast": _Option("prune_last", _Scope.BOTH, _boolean),
    "Prune": _Option("prune", _Scope.BOTH, _one_of(PruneOption)),
    "Delete": _Option("delete", _Scope.BOTH, _one_of(DeleteOption)),
    "PrunePropagationPolicy": _Option(
        "prune_propagation_policy", _Scope.APP, _one_of(PropagationPolicy)
    ),
    "ApplyOutOfSyncOnly": _Option("apply_out_of_sync_only", _Scope.APP, _boolean),
    "SkipDryRunOnMissingResource": _Option(
        "skip_dry_run_on_missing_resource", _Scope.BOTH, _boolean
    ),
    "Validate": _Option("validate", _Scope.BOTH, _boolean),
    "FailOnSharedResource": _Option("fail_on_shared_resource", _Scope.APP, _boolean),
    "RespectIgnoreDifferences": _Option("respect_ignore_differences", _Scope.APP, _boolean),
    "Replace": _Option("replace", _Scope.BOTH, _boolean),
    "Force": _Option("force", _Scope.BOTH, _boolean),
    "ServerSideApply": _Option("server_side_apply", _Scope.BOTH, _boolean),
    "ClientSideApplyMigration": _Option("client_side_apply_migration", _Scope.BOTH, _boolean),
    "ServerSideDiff": _Option("server_side_diff", _Scope.COMPARE, _boolean),
    "IncludeMutationWebhook": _Option("include_mutation_webhook", _Scope.COMPARE, _boolean),
    "IgnoreExtraneous": _Option("ignore_extraneous", _Scope.COMPARE, _present),
}
_KEY_OF_FIELD: Final = {option.field: key for key, option in _OPTIONS.items()}


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """The options in force for an app or an object, each with its effective value.

    ``explicit`` names the fields that were written rather than defaulted; only those
    override another set of options in :meth:`overridden_by`.
    """

    create_namespace: bool = False
    prune_last: bool = False
    prune: PruneOption = PruneOption.ENABLED
    delete: DeleteOption = DeleteOption.ENABLED
    prune_propagation_policy: PropagationPolicy = PropagationPolicy.FOREGROUND
    apply_out_of_sync_only: bool = False
    skip_dry_run_on_missing_resource: bool = False
    validate: bool = True
    fail_on_shared_resource: bool = False
    respect_ignore_differences: bool = False
    replace: bool = False
    force: bool = False
    server_side_apply: bool = True
    client_side_apply_migration: bool = True
    server_side_diff: bool = False
    include_mutation_webhook: bool = False
    ignore_extraneous: bool = False
    explicit: frozenset[str] = frozenset()
    unknown: tuple[str, ...] = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> SyncOptions:
        """Parse ``spec.syncPolicy.syncOptions``."""
        return _parse(items, lambda scope: scope in (_Scope.APP, _Scope.BOTH))

    @classmethod
    def parse_compare_options(cls, value: str) -> SyncOptions:
        """Parse a ``compare-options`` annotation value (comma-separated)."""
        return _parse(split_annotation(value), lambda scope: scope is _Scope.COMPARE)

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str]) -> SyncOptions:
        """The options one object sets through its annotations.

        Reads ``sync-options`` (object-level options only), ``compare-options``, and
        Helm's ``helm.sh/resource-policy: keep``, which Argo CD treats as ``Delete=false``.
        """
        sync = _parse(
            split_annotation(annotations.get(keys.SYNC_OPTIONS, "")),
            lambda scope: scope is _Scope.BOTH,
        )
        compare = cls.parse_compare_options(annotations.get(keys.COMPARE_OPTIONS, ""))
        options = sync.overridden_by(compare)
        if (
            annotations.get(keys.HELM_RESOURCE_POLICY) == "keep"
            and "delete" not in options.explicit
        ):
            options = replace(
                options, delete=DeleteOption.DISABLED, explicit=options.explicit | {"delete"}
            )
        return options

    @classmethod
    def of_object(cls, obj: Mapping[str, Any]) -> SyncOptions:
        """The options an object (a mapping with ``metadata.annotations``) sets."""
        metadata = obj.get("metadata") or {}
        return cls.from_annotations(metadata.get("annotations") or {})

    def overridden_by(self, other: SyncOptions) -> SyncOptions:
        """These options with every option ``other`` sets explicitly taking precedence."""
        changes = {name: getattr(other, name) for name in other.explicit}
        return replace(
            self,
            **changes,
            explicit=self.explicit | other.explicit,
            unknown=self.unknown + other.unknown,
        )

    def for_object(self, obj: Mapping[str, Any]) -> SyncOptions:
        """The options in force for one object of an app with these options."""
        return self.overridden_by(SyncOptions.of_object(obj))

    def to_list(self) -> list[str]:
        """The explicitly set options as ``Key=Value`` strings, in a stable order."""
        out = []
        for f in fields(self):
            if f.name not in self.explicit:
                continue
            key, value = _KEY_OF_FIELD[f.name], getattr(self, f.name)
            if key == "IgnoreExtraneous":
                out.append(key)
            else:
                out.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
        return out


def split_annotation(value: str) -> list[str]:
    """Split a comma-separated options annotation, trimming blanks as Argo CD does."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _parse(items: Iterable[str], accepts: Callable[[_Scope], bool]) -> SyncOptions:
    values: dict[str, Any] = {}
    unknown: list[str] = []
    for raw in items:
        text = raw.strip()
        key, sep, value = text.partition("=")
        option = _OPTIONS.get(key.strip())
        if option is None or not accepts(option.scope):
            unknown.append(text)
            continue
        try:
            values[option.field] = option.parse(value.strip() if sep else None)
        except ValueError:
            unknown.append(text)
    return SyncOptions(**values, explicit=frozenset(values), unknown=tuple(unknown))
