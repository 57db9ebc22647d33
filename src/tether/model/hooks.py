"""Hooks and waves: when in a sync an object is applied, read from its annotations.

These functions take any Kubernetes object as a mapping and follow Argo CD exactly:

- the wave is ``argocd.argoproj.io/sync-wave``, else ``helm.sh/hook-weight``, else 0;
- the hook types are those of ``argocd.argoproj.io/hook``; only when that annotation
  names none are Helm's ``helm.sh/hook`` values mapped (``pre-install``/``pre-upgrade``
  to PreSync, ``post-install``/``post-upgrade`` to PostSync, ``pre-delete`` to PreDelete,
  ``post-delete`` to PostDelete). ``crd-install`` is not a hook: the object is applied
  like any other. A Helm hook Argo CD does not support (``test``, ``test-success``,
  ``pre-rollback``, ...) and nothing else is skipped: never applied;
- the delete policies are those of ``argocd.argoproj.io/hook-delete-policy`` plus the
  mapped ``helm.sh/hook-delete-policy`` ones, ``BeforeHookCreation`` when none is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from tether.model import keys
from tether.model.enums import HookDeletePolicy, HookType
from tether.model.specerror import SpecError

_HELM_HOOK_TYPES: Final[Mapping[str, HookType]] = {
    "pre-install": HookType.PRE_SYNC,
    "pre-upgrade": HookType.PRE_SYNC,
    "post-install": HookType.POST_SYNC,
    "post-upgrade": HookType.POST_SYNC,
    "pre-delete": HookType.PRE_DELETE,
    "post-delete": HookType.POST_DELETE,
}
#: Helm uses its hook annotation to mark CRDs; such objects are ordinary resources.
_HELM_CRD_INSTALL: Final = "crd-install"

_HELM_DELETE_POLICIES: Final[Mapping[str, HookDeletePolicy]] = {
    "before-hook-creation": HookDeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": HookDeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": HookDeletePolicy.HOOK_FAILED,
}

# Go's strconv.Atoi: an optional sign and decimal digits, nothing else.
_INTEGER = re.compile(r"[+-]?\d+")


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, str]:
    metadata = obj.get("metadata") or {}
    return metadata.get("annotations") or {}


def _csv(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def wave_of(obj: Mapping[str, Any]) -> int:
    """The sync wave of an object: lower waves are applied first.

    Raises :class:`SpecError` when the annotation is not an integer; Argo CD would
    silently use wave 0 and apply the object out of the intended order.
    """
    annotations = _annotations(obj)
    for key in (keys.SYNC_WAVE, keys.HELM_HOOK_WEIGHT):
        text = annotations.get(key)
        if text is None:
            continue
        text = str(text).strip()
        if not _INTEGER.fullmatch(text):
            raise SpecError(f"metadata.annotations[{key}]", f"expected an integer, got {text!r}")
        return int(text)
    return 0


def hook_types_of(obj: Mapping[str, Any]) -> tuple[HookType, ...]:
    """The hook types of an object, in annotation order, without repeats.

    Empty for an ordinary resource; ``(HookType.SKIP,)`` for an object that is never
    applied (Argo CD's ``Skip``, or a Helm hook Argo CD does not support).
    """
    annotations = _annotations(obj)
    found: list[HookType] = []
    for text in _csv(annotations.get(keys.HOOK)):
        try:
            hook = HookType(text)
        except ValueError:
            continue  # Argo CD ignores unknown hook types
        if hook not in found:
            found.append(hook)
    if found or keys.HOOK in annotations:
        return tuple(found)
    helm = _csv(annotations.get(keys.HELM_HOOK))
    if not helm or helm == [_HELM_CRD_INSTALL]:
        return ()
    for text in helm:
        mapped = _HELM_HOOK_TYPES.get(text)
        if mapped is not None and mapped not in found:
            found.append(mapped)
    return tuple(found) or (HookType.SKIP,)


def is_hook(obj: Mapping[str, Any]) -> bool:
    """Whether an object is a hook: run in its phases, not part of the app's resources.

    As in Argo CD, an object with the hook annotation is a hook even if the annotation
    names no known type (it then never runs), and ``Skip`` alone is not a hook.
    """
    annotations = _annotations(obj)
    if keys.HOOK in annotations:
        return hook_types_of(obj) != (HookType.SKIP,)
    helm = _csv(annotations.get(keys.HELM_HOOK))
    return bool(helm) and helm != [_HELM_CRD_INSTALL] and hook_types_of(obj) != (HookType.SKIP,)


def is_skipped(obj: Mapping[str, Any]) -> bool:
    """Whether a sync leaves this object out entirely (``Skip``, or an unsupported Helm hook)."""
    return hook_types_of(obj) == (HookType.SKIP,)


def hook_delete_policies_of(obj: Mapping[str, Any]) -> tuple[HookDeletePolicy, ...]:
    """When a hook is deleted: Argo CD's policies, then Helm's; BeforeHookCreation by default."""
    annotations = _annotations(obj)
    found: list[HookDeletePolicy] = []
    for text in _csv(annotations.get(keys.HOOK_DELETE_POLICY)):
        try:
            policy = HookDeletePolicy(text)
        except ValueError:
            continue  # Argo CD ignores unknown policies
        if policy not in found:
            found.append(policy)
    for text in _csv(annotations.get(keys.HELM_HOOK_DELETE_POLICY)):
        mapped = _HELM_DELETE_POLICIES.get(text)
        if mapped is not None and mapped not in found:
            found.append(mapped)
    return tuple(found) or (HookDeletePolicy.BEFORE_HOOK_CREATION,)
