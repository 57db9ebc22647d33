"""The ApplicationSet custom resource: generators, an Application template, rollout strategy.

Generators are kept as data (each type's fields belong to its generator in
``tether.controller``), but the parts every generator shares are parsed: the
generator-level ``selector``, the per-generator ``template`` override and ``values``, and
the children of ``matrix`` and ``merge``. The template holds ``{{...}}`` placeholders, so
it stays raw data until rendered; :func:`application_from_template` turns a rendered
template into a typed :class:`Application`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from tether.model.application import (
    API_VERSION,
    APPLICATION_KIND,
    Application,
    check_type_meta,
)
from tether.model.appsetstatus import ApplicationSetStatus
from tether.model.meta import ObjectMeta
from tether.model.specerror import SpecError
from tether.model.wire import Fields, WireObject, enum_value, json_type, prune

APPLICATION_SET_KIND: Final = "ApplicationSet"
GENERATOR_TYPES: Final = (
    "list",
    "clusters",
    "git",
    "scmProvider",
    "clusterDecisionResource",
    "pullRequest",
    "matrix",
    "merge",
    "plugin",
)


_SPEC_FIELDS: Final = frozenset(
    {
        "generators",
        "template",
        "goTemplate",
        "goTemplateOptions",
        "templatePatch",
        "syncPolicy",
        "strategy",
        "preservedFields",
        "ignoreApplicationDifferences",
    }
)


@dataclass(frozen=True, slots=True)
class Generator(WireObject):
    """One generator: its type, its body as written, and the parts all types share."""

    type: str
    body: Mapping[str, Any]
    selector: Mapping[str, Any] | None = None
    template: Mapping[str, Any] | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    children: tuple[Generator, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> Generator:
        """Parse one ``generators`` entry: exactly one generator type, and ``selector``."""
        types = [k for k in f.data if k != "selector"]
        if len(types) != 1 or types[0] not in GENERATOR_TYPES:
            found = ", ".join(types) or "none"
            raise SpecError(
                f.path, f"expected exactly one of {', '.join(GENERATOR_TYPES)}; found {found}"
            )
        kind = types[0]
        body = Fields(f.data[kind], f.at(kind))
        children = tuple(Generator.read(g) for g in body.children("generators"))
        if kind == "matrix" and len(children) != 2:
            raise SpecError(body.at("generators"), "a matrix combines exactly two generators")
        if kind == "merge" and not body.texts("mergeKeys"):
            raise SpecError(body.at("mergeKeys"), "is required")
        return cls(
            type=kind,
            body=body.data,
            selector=f.mapping("selector"),
            template=body.mapping("template"),
            values=body.text_map("values"),
            children=children,
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form, exactly as written."""
        out: dict[str, Any] = {self.type: dict(self.body)}
        if self.selector is not None:
            out["selector"] = dict(self.selector)
        return out


class ApplicationsSync(StrEnum):
    """``syncPolicy.applicationsSync``: which changes the ApplicationSet may make to its apps."""

    CREATE_ONLY = "create-only"
    CREATE_UPDATE = "create-update"
    CREATE_DELETE = "create-delete"
    SYNC = "sync"

    @property
    def may_update(self) -> bool:
        """Whether existing Applications are updated."""
        return self in (ApplicationsSync.CREATE_UPDATE, ApplicationsSync.SYNC)

    @property
    def may_delete(self) -> bool:
        """Whether Applications no longer generated are deleted."""
        return self in (ApplicationsSync.CREATE_DELETE, ApplicationsSync.SYNC)


@dataclass(frozen=True, slots=True)
class AppSetSyncPolicy(WireObject):
    """``spec.syncPolicy`` of an ApplicationSet (all changes allowed when unset)."""

    applications_sync: ApplicationsSync | None = None
    preserve_resources_on_deletion: bool = False

    @classmethod
    def read(cls, f: Fields) -> AppSetSyncPolicy:
        """Parse ``spec.syncPolicy``."""
        return cls(
            applications_sync=f.choice("applicationsSync", ApplicationsSync),
            preserve_resources_on_deletion=f.flag("preserveResourcesOnDeletion"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "applicationsSync": enum_value(self.applications_sync),
                "preserveResourcesOnDeletion": self.preserve_resources_on_deletion,
            }
        )

    @property
    def effective_applications_sync(self) -> ApplicationsSync:
        """The policy in force: ``sync`` (create, update and delete) unless restricted."""
        return self.applications_sync or ApplicationsSync.SYNC


@dataclass(frozen=True, slots=True)
class MatchExpression(WireObject):
    """A label requirement of a RollingSync step (``In`` or ``NotIn`` a set of values)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    @classmethod
    def read(cls, f: Fields) -> MatchExpression:
        """Parse one requirement."""
        operator = f.text("operator")
        if operator not in ("In", "NotIn"):
            raise SpecError(f.at("operator"), f"expected In or NotIn, got {operator!r}")
        if not f.text("key"):
            raise SpecError(f.at("key"), "is required")
        return cls(key=f.text("key"), operator=operator, values=f.texts("values"))

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune({"key": self.key, "operator": self.operator, "values": list(self.values)})

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an Application's labels satisfy the requirement."""
        inside = self.key in labels and labels[self.key] in self.values
        return inside if self.operator == "In" else not inside


@dataclass(frozen=True, slots=True)
class RollingSyncStep(WireObject):
    """A RollingSync step: the apps it selects and how many may update at once."""

    match_expressions: tuple[MatchExpression, ...] = ()
    max_update: int | str | None = None

    @classmethod
    def read(cls, f: Fields) -> RollingSyncStep:
        """Parse one step; ``maxUpdate`` is an integer or a percentage (``"25%"``)."""
        raw = f.data.get("maxUpdate")
        if raw is not None:
            text = str(raw)
            is_percent = isinstance(raw, str) and text.endswith("%") and text[:-1].isdigit()
            is_count = isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0
            if not (is_percent or is_count):
                raise SpecError(
                    f.at("maxUpdate"),
                    f"expected a count or a percentage, got {json_type(raw)} {raw!r}",
                )
        return cls(
            match_expressions=tuple(
                MatchExpression.read(e) for e in f.children("matchExpressions")
            ),
            max_update=raw,
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return prune(
            {
                "matchExpressions": [e.to_dict() for e in self.match_expressions],
                "maxUpdate": self.max_update,
            }
        )

    def selects(self, labels: Mapping[str, str]) -> bool:
        """Whether the step covers an Application with these labels."""
        return all(e.matches(labels) for e in self.match_expressions)

    def max_updates(self, total: int) -> int:
        """How many of ``total`` apps may update at once: all when unset.

        A percentage is rounded down but never below one app, as in Argo CD.
        """
        if self.max_update is None:
            return total
        if isinstance(self.max_update, int):
            return self.max_update
        percent = int(self.max_update[:-1])
        return max(1, math.floor(total * percent / 100)) if percent else 0


@dataclass(frozen=True, slots=True)
class AppSetStrategy(WireObject):
    """``spec.strategy``: ``AllAtOnce`` (the default) or ``RollingSync`` with its steps."""

    type: str = "AllAtOnce"
    steps: tuple[RollingSyncStep, ...] = ()
    deletion_order: str = ""

    @classmethod
    def read(cls, f: Fields) -> AppSetStrategy:
        """Parse ``spec.strategy``."""
        kind = f.text("type") or "AllAtOnce"
        if kind not in ("AllAtOnce", "RollingSync"):
            raise SpecError(f.at("type"), f"expected AllAtOnce or RollingSync, got {kind!r}")
        rolling = f.child("rollingSync")
        steps = () if rolling is None else rolling.children("steps")
        if kind == "RollingSync" and not steps:
            raise SpecError(f.at("rollingSync.steps"), "is required for a RollingSync")
        return cls(
            type=kind,
            steps=tuple(RollingSyncStep.read(s) for s in steps),
            deletion_order=f.text("deletionOrder"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = {"type": self.type}
        if self.steps:
            out["rollingSync"] = {"steps": [s.to_dict() for s in self.steps]}
        return out | prune({"deletionOrder": self.deletion_order})


@dataclass(frozen=True, slots=True)
class ApplicationSetSpec:
    """``spec`` of an ApplicationSet. ``template`` is raw data with placeholders.

    Fields tether does not type (``applyNestedSelectors``, ...) are kept in ``extra``.
    """

    generators: tuple[Generator, ...]
    template: Mapping[str, Any]
    go_template: bool = False
    go_template_options: tuple[str, ...] = ()
    template_patch: str = ""
    sync_policy: AppSetSyncPolicy | None = None
    strategy: AppSetStrategy | None = None
    preserved_fields: Mapping[str, tuple[str, ...]] | None = None
    ignore_application_differences: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, path: str = "spec") -> ApplicationSetSpec:
        """Parse ``spec``, raising :class:`SpecError` on the first bad field."""
        f = Fields(data, path)
        generators = tuple(Generator.read(g) for g in f.children("generators"))
        if not generators:
            raise SpecError(f.at("generators"), "at least one generator is required")
        template = f.mapping("template")
        if template is None:
            raise SpecError(f.at("template"), "is required")
        sync_policy, strategy, preserved = (
            f.child(k) for k in ("syncPolicy", "strategy", "preservedFields")
        )
        return cls(
            generators=generators,
            template=template,
            go_template=f.flag("goTemplate"),
            go_template_options=f.texts("goTemplateOptions"),
            template_patch=f.text("templatePatch"),
            sync_policy=None if sync_policy is None else AppSetSyncPolicy.read(sync_policy),
            strategy=None if strategy is None else AppSetStrategy.read(strategy),
            preserved_fields=None
            if preserved is None
            else {k: preserved.texts(k) for k in ("annotations", "labels") if k in preserved.data},
            ignore_application_differences=tuple(
                d.data for d in f.children("ignoreApplicationDifferences")
            ),
            extra=f.rest(_SPEC_FIELDS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        out: dict[str, Any] = prune(
            {
                "goTemplate": self.go_template,
                "goTemplateOptions": list(self.go_template_options),
                "generators": [g.to_dict() for g in self.generators],
                "template": dict(self.template),
                "templatePatch": self.template_patch,
                "syncPolicy": None if self.sync_policy is None else self.sync_policy.to_dict(),
                "ignoreApplicationDifferences": [
                    dict(d) for d in self.ignore_application_differences
                ],
            }
        )
        if self.strategy is not None:
            out["strategy"] = self.strategy.to_dict()
        if self.preserved_fields is not None:
            out["preservedFields"] = {k: list(v) for k, v in self.preserved_fields.items()}
        return out | dict(self.extra)

    @property
    def is_progressive(self) -> bool:
        """Whether Applications are rolled out step by step (RollingSync)."""
        return self.strategy is not None and self.strategy.type == "RollingSync"


@dataclass(frozen=True, slots=True)
class ApplicationSet:
    """An ApplicationSet."""

    metadata: ObjectMeta
    spec: ApplicationSetSpec
    status: ApplicationSetStatus = field(default_factory=ApplicationSetStatus)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> ApplicationSet:
        """Parse an ApplicationSet manifest."""
        f = Fields(data, path)
        check_type_meta(f, APPLICATION_SET_KIND)
        metadata = ObjectMeta.from_dict(f.data.get("metadata"), f.at("metadata"))
        if not metadata.name:
            raise SpecError(f.at("metadata.name"), "is required")
        return cls(
            metadata=metadata,
            spec=ApplicationSetSpec.from_dict(f.data.get("spec"), f.at("spec")),
            status=ApplicationSetStatus.from_dict(f.data.get("status"), f.at("status")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The wire form; an empty status is left out."""
        out: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": APPLICATION_SET_KIND,
            "metadata": self.metadata.to_dict(),
            "spec": self.spec.to_dict(),
        }
        status = self.status.to_dict()
        if status:
            out["status"] = status
        return out


def application_from_template(
    rendered: Mapping[str, Any], namespace: str, path: str = "template"
) -> Application:
    """The Application a rendered template (``metadata`` and ``spec``) describes.

    ``namespace`` (the ApplicationSet's) is used when the template does not set one.
    Errors name the template's field (``template.spec.destination``), since that is
    where the user must fix them.
    """
    f = Fields(rendered, path)
    metadata = dict(f.mapping("metadata") or {})
    metadata.setdefault("namespace", namespace)
    manifest = {
        "apiVersion": API_VERSION,
        "kind": APPLICATION_KIND,
        "metadata": metadata,
        "spec": f.data.get("spec"),
    }
    return Application.from_dict(manifest, path)
