"""The verdict on one object: which check applies, in Argo CD's order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tether.health.builtin import APPLICATION_CHECK, APPLICATION_GROUP_KIND, BUILTIN_CHECKS
from tether.health.conditions import KUBERNETES_GROUPS, check_conditions
from tether.health.customizations import HealthOverrides
from tether.health.errors import FieldTypeError
from tether.health.namespace import PENDING_DELETION
from tether.health.policy import DEFAULT_POLICY, HealthPolicy
from tether.model import Health, HealthStatus, keys

#: Argo CD holds hook objects with this finalizer until their result is recorded; such
#: an object is still judged while it is being deleted.
HOOK_FINALIZER = keys.HOOK_FINALIZER


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` → ``("apps", "v1")``; ``v1`` → ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


def _pending_deletion(obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping) or not metadata.get("deletionTimestamp"):
        return False
    finalizers = metadata.get("finalizers")
    return not (isinstance(finalizers, list) and HOOK_FINALIZER in finalizers)


def assess_health(
    obj: Mapping[str, Any],
    *,
    overrides: HealthOverrides | None = None,
    policy: HealthPolicy = DEFAULT_POLICY,
) -> Health | None:
    """Judge one live object; ``None`` when no check applies (a ConfigMap, a Secret).

    In order: an object being deleted is Progressing, "Pending deletion"; a custom Lua
    check for its group and kind wins over everything else; then the built-in check of
    its kind; then, for custom resources only, the generic ``Ready``/``Available``
    check. Never raises on a malformed object: a check that cannot read it gives
    ``Unknown`` with the reason.
    """
    if _pending_deletion(obj):
        return PENDING_DELETION
    group, version = split_api_version(str(obj.get("apiVersion") or ""))
    kind = str(obj.get("kind") or "")
    if overrides is not None:
        custom = overrides.assess(obj, group, kind)
        if custom is not None:
            return custom
    builtin = BUILTIN_CHECKS.get((group, kind))
    if builtin is None and policy.application_health and (group, kind) == APPLICATION_GROUP_KIND:
        builtin = APPLICATION_CHECK
    if builtin is not None:
        return builtin.assess(group, version, obj)
    if policy.generic_conditions and group not in KUBERNETES_GROUPS:
        try:
            return check_conditions(obj)
        except FieldTypeError as error:
            return Health(HealthStatus.UNKNOWN, f"failed to read the conditions of {kind}: {error}")
    return None
