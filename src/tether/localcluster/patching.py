"""The four patch types of the Kubernetes API and what each produces.

``application/json-patch+json`` (RFC 6902, via ``jsonpatch``),
``application/merge-patch+json`` (RFC 7386) and
``application/strategic-merge-patch+json`` (built-in kinds only; custom resources get
``415`` as from a real server) turn the stored object into a new one that then goes
through the ordinary update path. ``application/apply-patch+yaml`` (server-side apply)
is handled by :mod:`tether.localcluster.apply`, which needs the field managers.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

import jsonpatch

from tether.localcluster.body import decode
from tether.localcluster.errors import APIError, bad_request, unsupported_media_type
from tether.localcluster.resources import ResourceType
from tether.localcluster.schema import Schema
from tether.localcluster.strategic import PatchError, json_merge_patch, strategic_merge_patch


class PatchType(StrEnum):
    """The patch content types, as sent in ``Content-Type``."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"
    APPLY_CBOR = "application/apply-patch+cbor"


_BY_MEDIA: dict[str, PatchType] = {t.value: t for t in PatchType}
ACCEPTED = ", ".join(t.value for t in PatchType if t is not PatchType.APPLY_CBOR)


def patch_type(content_type: str, rtype: ResourceType) -> PatchType:
    """The patch type a request's ``Content-Type`` names; 415 if unsupported."""
    media = content_type.split(";", 1)[0].strip().lower()
    kind = _BY_MEDIA.get(media)  # a dictionary lookup: the enum's own lookup is slow
    if kind is None or kind is PatchType.APPLY_CBOR:
        raise unsupported_media_type(ACCEPTED)
    if kind is PatchType.STRATEGIC and rtype.custom:
        # Custom resources have no patch strategies: kube-apiserver refuses SMP.
        raise unsupported_media_type(
            ", ".join(t.value for t in (PatchType.JSON, PatchType.MERGE, PatchType.APPLY))
        )
    return kind


def apply_patch(
    kind: PatchType, current: dict[str, Any], body: bytes, schema: Schema | None
) -> dict[str, Any]:
    """The object ``current`` becomes under a JSON, merge or strategic patch in ``body``."""
    document = decode(body, "application/json")
    try:
        if kind is PatchType.JSON:
            if not isinstance(document, list):
                raise bad_request(
                    "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                )
            result = jsonpatch.JsonPatch(document).apply(copy.deepcopy(current))
        elif kind is PatchType.MERGE:
            _require_object(document)
            result = json_merge_patch(current, document)
        else:
            _require_object(document)
            result = strategic_merge_patch(current, document, schema)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
        raise APIError(
            422,
            "Invalid",
            f"the server rejected our request due to an error in our request: {error}",
        ) from None
    except PatchError as error:
        raise bad_request(str(error)) from None
    if not isinstance(result, dict):
        raise bad_request("the patch does not produce an object")
    return result


def _require_object(document: Any) -> None:
    if not isinstance(document, dict):
        raise bad_request(
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        )
