"""The cluster client: tether's only door to a Kubernetes API server.

Every other package reaches a cluster through this one, and this is the only package
that imports the Kubernetes client library (lightkube). It provides kubeconfig loading
(contexts, client certificates, bearer tokens; exec credential plugins only when
allowed), discovery of every kind the server serves (CRDs that appear later included),
generic get/list/watch/apply/delete for any kind, server-side dry-run, and client-side
rate and concurrency limits. A request the server answers with 429, or with a 5xx, and a
``Retry-After`` header is sent again after that wait (at most ten times), as client-go
does: the server said it did not act on it.

Requests go over aiohttp (:mod:`tether.kube.transport`): lightkube parses the kubeconfig
and builds the TLS context, but its httpx stack cost four times the client CPU per
request, and a sync of thousands of objects is bound by exactly that.

Errors from the API server are translated into a small tree rooted at one base class
(not found, conflict, invalid, forbidden, unavailable, ...), each carrying the object
it concerns, with messages shaped ``failed to <verb> <kind/namespace/name>: <cause>``.
"""

from tether.kube.client import KubeClient, ObjectList, WatchEvent, describe, describe_object
from tether.kube.config import ClusterConfig, ConfigError, kubeconfig_from_dict, load_kubeconfig
from tether.kube.discovery import ApiResource, Discovery
from tether.kube.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    MethodNotAllowed,
    NotFound,
    RequestTooLarge,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    UnknownKind,
    UnsupportedMediaType,
)
from tether.kube.throttle import Throttle

__all__ = [
    "AlreadyExists",
    "ApiResource",
    "BadRequest",
    "ClusterConfig",
    "ConfigError",
    "Conflict",
    "Discovery",
    "Forbidden",
    "Gone",
    "Invalid",
    "KubeClient",
    "KubeError",
    "MethodNotAllowed",
    "NotFound",
    "ObjectList",
    "RequestTooLarge",
    "Throttle",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "UnknownKind",
    "UnsupportedMediaType",
    "WatchEvent",
    "describe",
    "describe_object",
    "kubeconfig_from_dict",
    "load_kubeconfig",
]
