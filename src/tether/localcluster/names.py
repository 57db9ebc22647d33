"""Object-name and label rules, with kube-apiserver's messages.

Names follow the rule of their kind: most are RFC 1123 subdomains (253 characters),
namespaces are RFC 1123 labels (63), services RFC 1035 labels, RBAC objects only need
to be valid path segments. Label keys and values follow the label syntax. Each check
returns :class:`~tether.localcluster.errors.Cause` values so one ``422 Invalid`` can
list every problem with its field path.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from tether.localcluster.errors import Cause

_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL_1123 = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"

_SUBDOMAIN_RE = re.compile(_SUBDOMAIN)
_LABEL_1123_RE = re.compile(_LABEL_1123)
_LABEL_1035_RE = re.compile(_LABEL_1035)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE)

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN}')"
)
_LABEL_1123_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL_1123}')"
)
_LABEL_1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_LABEL_1035}')"
)
_QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    f"used for validation is '{_QUALIFIED_NAME}')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)

#: Kinds whose names are RFC 1123 labels / RFC 1035 labels / path segments.
_LABEL_KINDS = frozenset({("", "Namespace")})
_DNS1035_KINDS = frozenset({("", "Service")})
_PATH_SEGMENT_GROUPS = frozenset({"rbac.authorization.k8s.io"})

#: The alphabet kube-apiserver draws ``generateName`` suffixes from (no vowels).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generate_name(prefix: str) -> str:
    """``prefix`` plus five random characters, as ``metadata.generateName`` asks."""
    prefix = prefix[: 63 - 5]
    return prefix + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))


def _invalid(field: str, value: str, message: str) -> Cause:
    return Cause(field, f'Invalid value: "{value}": {message}')


def check_name(group: str, kind: str, name: str) -> list[Cause]:
    """Problems with ``metadata.name`` for an object of ``kind`` in ``group``."""
    field = "metadata.name"
    if (group, kind) in _LABEL_KINDS:
        return _check_pattern(field, name, 63, _LABEL_1123_RE, _LABEL_1123_MSG)
    if (group, kind) in _DNS1035_KINDS:
        return _check_pattern(field, name, 63, _LABEL_1035_RE, _LABEL_1035_MSG)
    if group in _PATH_SEGMENT_GROUPS:
        return check_path_segment(field, name)
    return _check_pattern(field, name, 253, _SUBDOMAIN_RE, _SUBDOMAIN_MSG)


def check_path_segment(field: str, name: str) -> list[Cause]:
    """Names that only need to be usable in a URL path."""
    if name in (".", ".."):
        return [_invalid(field, name, f"may not be '{name}'")]
    for bad in ("/", "%"):
        if bad in name:
            return [_invalid(field, name, f"may not contain '{bad}'")]
    return []


def check_namespace_name(namespace: str) -> list[Cause]:
    """Problems with ``metadata.namespace``."""
    return _check_pattern("metadata.namespace", namespace, 63, _LABEL_1123_RE, _LABEL_1123_MSG)


def _check_pattern(
    field: str, value: str, limit: int, pattern: re.Pattern[str], message: str
) -> list[Cause]:
    causes = []
    if len(value) > limit:
        causes.append(_invalid(field, value, f"must be no more than {limit} characters"))
    if not pattern.fullmatch(value):
        causes.append(_invalid(field, value, message))
    return causes


def check_labels(labels: Mapping[str, Any], field: str = "metadata.labels") -> list[Cause]:
    """Problems with label keys and values."""
    causes: list[Cause] = []
    for key, value in labels.items():
        causes.extend(check_qualified_name(field, key))
        if not isinstance(value, str):
            causes.append(Cause(field, f"Invalid value: {value!r}: must be a string"))
            continue
        if len(value) > 63:
            causes.append(_invalid(field, value, "must be no more than 63 characters"))
        if not _LABEL_VALUE_RE.fullmatch(value):
            causes.append(_invalid(field, value, _LABEL_VALUE_MSG))
    return causes


def check_qualified_name(field: str, key: str) -> list[Cause]:
    """Problems with an annotation or label key (``prefix/name``)."""
    prefix, slash, name = key.rpartition("/")
    causes: list[Cause] = []
    if slash and (not prefix or not _SUBDOMAIN_RE.fullmatch(prefix) or len(prefix) > 253):
        causes.append(_invalid(field, key, "prefix part " + _SUBDOMAIN_MSG))
    if not name:
        causes.append(_invalid(field, key, "name part must be non-empty"))
    elif len(name) > 63:
        causes.append(_invalid(field, key, "name part must be no more than 63 characters"))
    elif not _QUALIFIED_NAME_RE.fullmatch(name):
        causes.append(_invalid(field, key, _QUALIFIED_NAME_MSG))
    return causes


#: kube-apiserver's limit on the total size of an object's annotations.
MAX_ANNOTATIONS_BYTES = 256 * 1024


def check_annotations(annotations: Mapping[str, Any]) -> list[Cause]:
    """Problems with annotation keys, value types and the total size."""
    field = "metadata.annotations"
    causes: list[Cause] = []
    total = 0
    for key, value in annotations.items():
        causes.extend(check_qualified_name(field, key))
        if not isinstance(value, str):
            causes.append(Cause(field, f"Invalid value: {value!r}: must be a string"))
            continue
        total += len(key) + len(value.encode())
    if total > MAX_ANNOTATIONS_BYTES:
        causes.append(
            Cause(
                field,
                f"Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes",
                "FieldValueTooLong",
            )
        )
    return causes


def check_owner_references(refs: Any) -> list[Cause]:
    """Problems with ``metadata.ownerReferences``: every reference complete, one controller."""
    field = "metadata.ownerReferences"
    if refs is None:
        return []
    if not isinstance(refs, list) or not all(isinstance(r, Mapping) for r in refs):
        return [Cause(field, "Invalid value: must be a list of objects")]
    causes: list[Cause] = []
    for ref in refs:
        for key, what in (
            ("apiVersion", "version"),
            ("kind", "kind"),
            ("name", "name"),
            ("uid", "uid"),
        ):
            if not ref.get(key):
                causes.append(
                    Cause(f"{field}.{key}", f'Invalid value: "": {what} must not be empty')
                )
    controllers = [r for r in refs if r.get("controller") is True]
    if len(controllers) > 1:
        owners = ", ".join(f"{r.get('kind')}/{r.get('name')}" for r in controllers)
        causes.append(
            Cause(
                field,
                f"Invalid value: only one reference can have Controller set "
                f'to true. Found "true" in references for {owners}',
            )
        )
    return causes


def check_finalizers(finalizers: Any) -> list[Cause]:
    """Problems with ``metadata.finalizers``: qualified names."""
    if finalizers is None:
        return []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        return [Cause("metadata.finalizers", "Invalid value: must be a list of strings")]
    causes: list[Cause] = []
    for index, finalizer in enumerate(finalizers):
        causes.extend(check_qualified_name(f"metadata.finalizers[{index}]", finalizer))
    return causes
