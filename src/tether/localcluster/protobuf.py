"""Decoding the Kubernetes protobuf encoding for the kinds kubectl sends that way.

kubectl's typed subcommands (``kubectl create namespace|configmap|secret|
serviceaccount|deployment|job|cronjob|service``, ``kubectl auth can-i|whoami``) send
``application/vnd.kubernetes.protobuf`` bodies: the magic ``k8s`` plus a zero byte,
then a ``runtime.Unknown`` envelope (type meta and the raw message). This module
decodes those messages into the JSON form the rest of the server works with, driven
by :data:`MESSAGES`, a table of the field numbers of ``k8s.io/api``'s
``generated.proto`` for the fields these commands can set.

The encoder writes every non-pointer field, zero values included, so zero scalars are
dropped (JSON's ``omitempty``) except for pointer fields (marked ``?``), where zero is
a value. A field this table does not know is tolerated only while it is empty; one
that carries data makes the whole request a ``415``, so nothing a client sent is
silently dropped.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from tether.localcluster.errors import bad_request, unsupported_media_type

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"

Field = tuple[int, int, Any]  # field number, wire type, value (int or bytes)

#: Field types: ``s`` string, ``i`` integer, ``b`` bool, ``B`` bytes (base64 in JSON),
#: ``q`` Quantity, ``ios`` IntOrString, ``-`` read and ignored (server-owned),
#: ``msg:<Name>`` a message, ``[<type>]`` repeated, ``{<type>}`` map from strings.
#: A ``?`` after the JSON name marks a pointer field, whose zero value is kept.
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "ObjectMeta": {
        1: ("name", "s"),
        2: ("generateName", "s"),
        3: ("namespace", "s"),
        4: ("", "-"),
        5: ("uid", "s"),
        6: ("resourceVersion", "s"),
        7: ("generation", "i"),
        8: ("", "-"),
        9: ("", "-"),
        10: ("", "-"),
        11: ("labels", "{s}"),
        12: ("annotations", "{s}"),
        13: ("ownerReferences", "[msg:OwnerReference]"),
        14: ("finalizers", "[s]"),
        17: ("", "-"),
    },
    "OwnerReference": {
        1: ("kind", "s"),
        3: ("name", "s"),
        4: ("uid", "s"),
        5: ("apiVersion", "s"),
        6: ("controller?", "b"),
        7: ("blockOwnerDeletion?", "b"),
    },
    "LabelSelector": {
        1: ("matchLabels", "{s}"),
        2: ("matchExpressions", "[msg:LabelSelectorRequirement]"),
    },
    "LabelSelectorRequirement": {1: ("key", "s"), 2: ("operator", "s"), 3: ("values", "[s]")},
    "ConfigMap": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("data", "{s}"),
        3: ("binaryData", "{B}"),
        4: ("immutable?", "b"),
    },
    "Secret": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("data", "{B}"),
        3: ("type", "s"),
        4: ("stringData", "{s}"),
        5: ("immutable?", "b"),
    },
    "Namespace": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("spec", "msg:NamespaceSpec"),
        3: ("", "-"),
    },
    "NamespaceSpec": {1: ("finalizers", "[s]")},
    "ServiceAccount": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("secrets", "[msg:ObjectReference]"),
        3: ("imagePullSecrets", "[msg:LocalObjectReference]"),
        4: ("automountServiceAccountToken?", "b"),
    },
    "ObjectReference": {
        1: ("kind", "s"),
        2: ("namespace", "s"),
        3: ("name", "s"),
        4: ("uid", "s"),
        5: ("apiVersion", "s"),
        6: ("resourceVersion", "s"),
        7: ("fieldPath", "s"),
    },
    "LocalObjectReference": {1: ("name", "s")},
    "Deployment": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("spec", "msg:DeploymentSpec"),
        3: ("", "-"),
    },
    "DeploymentSpec": {
        1: ("replicas?", "i"),
        2: ("selector", "msg:LabelSelector"),
        3: ("template", "msg:PodTemplateSpec"),
        4: ("strategy", "msg:DeploymentStrategy"),
        5: ("minReadySeconds", "i"),
        6: ("revisionHistoryLimit?", "i"),
        7: ("paused", "b"),
        9: ("progressDeadlineSeconds?", "i"),
    },
    "DeploymentStrategy": {1: ("type", "s"), 2: ("rollingUpdate", "msg:RollingUpdate")},
    "RollingUpdate": {1: ("maxUnavailable", "ios"), 2: ("maxSurge", "ios")},
    "PodTemplateSpec": {1: ("metadata", "msg:ObjectMeta"), 2: ("spec", "msg:PodSpec")},
    "PodSpec": {
        2: ("containers", "[msg:Container]"),
        3: ("restartPolicy", "s"),
        4: ("terminationGracePeriodSeconds?", "i"),
        5: ("activeDeadlineSeconds?", "i"),
        6: ("dnsPolicy", "s"),
        7: ("nodeSelector", "{s}"),
        8: ("serviceAccountName", "s"),
        9: ("serviceAccount", "s"),
        10: ("nodeName", "s"),
        11: ("hostNetwork", "b"),
        12: ("hostPID", "b"),
        13: ("hostIPC", "b"),
        16: ("hostname", "s"),
        17: ("subdomain", "s"),
        19: ("schedulerName", "s"),
        20: ("initContainers", "[msg:Container]"),
        21: ("automountServiceAccountToken?", "b"),
        24: ("priorityClassName", "s"),
    },
    "Container": {
        1: ("name", "s"),
        2: ("image", "s"),
        3: ("command", "[s]"),
        4: ("args", "[s]"),
        5: ("workingDir", "s"),
        6: ("ports", "[msg:ContainerPort]"),
        7: ("env", "[msg:EnvVar]"),
        8: ("resources", "msg:ResourceRequirements"),
        13: ("terminationMessagePath", "s"),
        14: ("imagePullPolicy", "s"),
        16: ("stdin", "b"),
        17: ("stdinOnce", "b"),
        18: ("tty", "b"),
        20: ("terminationMessagePolicy", "s"),
    },
    "ContainerPort": {
        1: ("name", "s"),
        2: ("hostPort", "i"),
        3: ("containerPort", "i"),
        4: ("protocol", "s"),
        5: ("hostIP", "s"),
    },
    "EnvVar": {1: ("name", "s"), 2: ("value", "s")},
    "ResourceRequirements": {1: ("limits", "{q}"), 2: ("requests", "{q}")},
    "Job": {1: ("metadata", "msg:ObjectMeta"), 2: ("spec", "msg:JobSpec"), 3: ("", "-")},
    "JobSpec": {
        1: ("parallelism?", "i"),
        2: ("completions?", "i"),
        3: ("activeDeadlineSeconds?", "i"),
        4: ("selector", "msg:LabelSelector"),
        5: ("manualSelector?", "b"),
        6: ("template", "msg:PodTemplateSpec"),
        7: ("backoffLimit?", "i"),
    },
    "CronJob": {1: ("metadata", "msg:ObjectMeta"), 2: ("spec", "msg:CronJobSpec"), 3: ("", "-")},
    "CronJobSpec": {
        1: ("schedule", "s"),
        2: ("startingDeadlineSeconds?", "i"),
        3: ("concurrencyPolicy", "s"),
        4: ("suspend?", "b"),
        5: ("jobTemplate", "msg:JobTemplateSpec"),
        6: ("successfulJobsHistoryLimit?", "i"),
        7: ("failedJobsHistoryLimit?", "i"),
    },
    "JobTemplateSpec": {1: ("metadata", "msg:ObjectMeta"), 2: ("spec", "msg:JobSpec")},
    "Service": {1: ("metadata", "msg:ObjectMeta"), 2: ("spec", "msg:ServiceSpec"), 3: ("", "-")},
    "ServiceSpec": {
        1: ("ports", "[msg:ServicePort]"),
        2: ("selector", "{s}"),
        3: ("clusterIP", "s"),
        4: ("type", "s"),
        5: ("externalIPs", "[s]"),
        7: ("sessionAffinity", "s"),
        10: ("externalName", "s"),
    },
    "ServicePort": {
        1: ("name", "s"),
        2: ("protocol", "s"),
        3: ("port", "i"),
        4: ("targetPort", "ios"),
        5: ("nodePort", "i"),
    },
    "SelfSubjectAccessReview": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("spec", "msg:AccessReviewSpec"),
        3: ("", "-"),
    },
    "AccessReviewSpec": {
        1: ("resourceAttributes", "msg:ResourceAttributes"),
        2: ("nonResourceAttributes", "msg:NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: ("namespace", "s"),
        2: ("verb", "s"),
        3: ("group", "s"),
        4: ("version", "s"),
        5: ("resource", "s"),
        6: ("subresource", "s"),
        7: ("name", "s"),
    },
    "NonResourceAttributes": {1: ("path", "s"), 2: ("verb", "s")},
    "SelfSubjectRulesReview": {
        1: ("metadata", "msg:ObjectMeta"),
        2: ("spec", "msg:RulesReviewSpec"),
        3: ("", "-"),
    },
    "RulesReviewSpec": {1: ("namespace", "s")},
    "SelfSubjectReview": {1: ("metadata", "msg:ObjectMeta"), 2: ("", "-")},
}

#: The top-level message of each ``(apiVersion, kind)`` decoded here.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Namespace"): "Namespace",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "Service"): "Service",
    ("apps/v1", "Deployment"): "Deployment",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
}


class _Unsupported(Exception):
    """A field this decoder does not know carries data."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise bad_request("protobuf: truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> Iterator[Field]:
    """The ``(number, wire type, value)`` fields of one message, in order."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise bad_request("protobuf: truncated field")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            yield number, wire, data[pos : pos + size]
            pos += size
        else:
            raise bad_request(f"protobuf: unsupported wire type {wire}")


def _signed(value: int) -> int:
    """Two's complement: negative int32/int64 values arrive as 64-bit varints."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, raw: Any) -> Any:
    if kind == "s":
        return bytes(raw).decode("utf-8")
    if kind == "i":
        return _signed(int(raw))
    if kind == "b":
        return bool(raw)
    if kind == "B":
        return base64.b64encode(bytes(raw)).decode()
    if kind == "q":  # Quantity { string string = 1 }
        return next((bytes(v).decode() for n, _, v in fields(raw) if n == 1), "")
    if kind == "ios":  # IntOrString { type = 1 (0 int, 1 string), intVal = 2, strVal = 3 }
        parts = {n: v for n, _, v in fields(raw)}
        if parts.get(1, 0) == 1:
            return bytes(parts.get(3, b"")).decode()
        return _signed(int(parts.get(2, 0)))
    return decode_message(kind.removeprefix("msg:"), bytes(raw))


def _empty(wire: int, raw: Any) -> bool:
    return raw == 0 if wire == 0 else not raw


def decode_message(name: str, data: bytes) -> dict[str, Any]:
    """Decode message ``name`` of :data:`MESSAGES` into its JSON form."""
    table = MESSAGES[name]
    result: dict[str, Any] = {}
    for number, wire, raw in fields(data):
        spec = table.get(number)
        if spec is None:
            if not _empty(wire, raw):
                raise _Unsupported(f"{name} field {number}")
            continue
        json_name, kind = spec
        if kind == "-":
            continue
        pointer = json_name.endswith("?")
        json_name = json_name.rstrip("?")
        if kind.startswith("["):
            result.setdefault(json_name, []).append(_scalar(kind[1:-1], raw))
        elif kind.startswith("{"):
            entry = {n: v for n, _, v in fields(raw)}
            value_kind = kind[1:-1]
            value = _scalar(value_kind, entry.get(2, b"" if value_kind != "i" else 0))
            result.setdefault(json_name, {})[_scalar("s", entry.get(1, b""))] = value
        else:
            value = _scalar(kind, raw)
            if pointer or value not in (0, "", False) or isinstance(value, dict):
                result[json_name] = value
    return result


def decode(body: bytes) -> dict[str, Any]:
    """The object in a protobuf-encoded request body; 415 for what is not decoded here."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf: the body does not start with the Kubernetes magic number")
    api_version = kind = ""
    raw = b""
    for number, _, value in fields(body[len(MAGIC) :]):
        if number == 1:
            for sub, _, text in fields(value):
                if sub == 1:
                    api_version = bytes(text).decode()
                elif sub == 2:
                    kind = bytes(text).decode()
        elif number == 2:
            raw = bytes(value)
    message = KINDS.get((api_version, kind))
    if message is None:
        raise unsupported_media_type("application/json, application/yaml")
    try:
        obj = decode_message(message, raw)
    except _Unsupported:
        raise unsupported_media_type("application/json, application/yaml") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise bad_request(f"protobuf: malformed {kind}: {error}") from None
    return {"apiVersion": api_version, "kind": kind, **obj}
