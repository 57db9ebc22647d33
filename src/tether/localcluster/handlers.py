"""The resource verbs over HTTP: a thin adapter from requests to the store.

Each handler decodes the request (query parameters, body, ``DeleteOptions``), calls the
:class:`~tether.localcluster.store.Store` verb and encodes its result the way
kube-apiserver does: lists are assembled from each object's stored JSON without
re-encoding, ``as=Table`` gets a ``meta.k8s.io/v1`` Table, ``/scale`` speaks
``autoscaling/v1`` ``Scale``, deletes answer with a success ``Status`` or the object
still held by finalizers, and watches stream one JSON event per line.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from tether.localcluster import reviews, tables
from tether.localcluster.body import decode_object
from tether.localcluster.errors import (
    APIError,
    bad_request,
    method_not_allowed,
    not_found,
    route_not_found,
)
from tether.localcluster.options import DeleteOptions, WriteOptions, Written
from tether.localcluster.patching import PatchType, apply_patch, patch_type
from tether.localcluster.registry import Registry
from tether.localcluster.resources import ResourceType
from tether.localcluster.routes import ResourcePath
from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.selectors import (
    FieldSelector,
    LabelSelector,
    format_match,
    parse_field_selector,
    parse_label_selector,
)
from tether.localcluster.store import Store, parse_rv
from tether.localcluster.watch import Entry, Event, WatchClosed

JSON_TYPE = "application/json"

#: How often an idle watch that asked for bookmarks gets one.
BOOKMARK_INTERVAL = 15.0
#: The longest a watch stays open without ``timeoutSeconds`` (kube-apiserver: 30-60 min).
MAX_WATCH_SECONDS = 1800.0


@dataclass(frozen=True)
class Request:
    """What a handler needs of an HTTP request."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def flag(self, name: str) -> bool:
        """A boolean query parameter (``1``/``true``)."""
        return self.query.get(name, "").lower() in ("1", "true")


@dataclass(frozen=True)
class Response:
    """A complete response."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Stream:
    """A streamed response: the chunks of a watch, and how to end it early."""

    chunks: AsyncIterator[bytes]
    #: Ends the stream (the client went away): the chunk iterator then finishes.
    stop: Callable[[], None] = field(default=lambda: None)
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = field(default=())


#: Server-side apply: (type, current object, namespace, name, body, options) -> result.
ApplyHandler = Callable[
    [ResourceType, Entry | None, str | None, str, bytes, WriteOptions], Awaitable[Written]
]


def json_response(status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """``obj`` as a JSON response."""
    return Response(status, orjson.dumps(obj), JSON_TYPE, headers)


def _warning_headers(warnings: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    # The form kube-apiserver uses: code 299, agent "-", quoted text.
    return tuple(("warning", '299 - "' + w.replace('"', '\\"') + '"') for w in warnings)


def _with_version(entry: Entry, rtype: ResourceType, version: str) -> bytes:
    """The object's JSON as served at ``version`` (only the apiVersion differs)."""
    if version == rtype.version:
        return entry.raw
    obj = dict(entry.obj)
    obj["apiVersion"] = rtype.api_version(version)
    return orjson.dumps(obj)


class Handlers:
    """The resource endpoints of one server."""

    def __init__(
        self, store: Store, registry: Registry, schemas: SchemaRegistry, apply: ApplyHandler
    ) -> None:
        """Serve ``store``'s objects; ``apply`` performs server-side apply."""
        self.store = store
        self.registry = registry
        self.schemas = schemas
        self._apply = apply

    async def handle(self, req: Request, path: ResourcePath) -> Response | Stream:
        """Dispatch a resource request."""
        rtype = self.registry.lookup(path.group, path.version, path.plural)
        if rtype is None:
            raise route_not_found()
        if path.namespace is not None and not rtype.namespaced:
            raise route_not_found()
        if path.subresource and path.subresource not in self._subresources(rtype):
            raise route_not_found()
        verb = self._verb(req, path)
        if verb not in rtype.verbs and not path.subresource:
            raise method_not_allowed(verb, rtype.ref)
        if path.subresource == "scale":
            return await self._scale(req, rtype, path, verb)
        if verb in ("list", "watch"):
            return await self._list(req, rtype, path, verb == "watch")
        if verb == "deletecollection":
            return await self._delete_collection(req, rtype, path)
        if verb == "create":
            return await self._create(req, rtype, path)
        assert path.name is not None
        if verb == "get":
            entry = await self.store.get(rtype, path.namespace, path.name)
            if path.subresource == "log":
                return pod_log(entry.obj, req.query.get("container"))
            return self._object(req, rtype, path.version, entry)
        if verb == "update":
            return await self._update(req, rtype, path)
        if verb == "patch":
            return await self._patch(req, rtype, path)
        return await self._delete(req, rtype, path)

    @staticmethod
    def _subresources(rtype: ResourceType) -> set[str]:
        subs = set(rtype.extra_subresources)
        if rtype.status:
            subs.add("status")
        if rtype.scale is not None:
            subs.add("scale")
        return subs

    @staticmethod
    def _verb(req: Request, path: ResourcePath) -> str:
        method = req.method
        if path.name is None:
            if method == "GET":
                return "watch" if path.watch or req.flag("watch") else "list"
            if method == "POST":
                return "create"
            if method == "DELETE":
                return "deletecollection"
            raise method_not_allowed(method.lower())
        only = {"log": "GET", "finalize": "PUT"}.get(path.subresource)
        if only is not None and method != only:
            raise method_not_allowed(method.lower())
        if method == "GET":
            return "watch" if path.watch else "get"
        verb = {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
        if verb is None or (path.subresource and verb == "delete"):
            raise method_not_allowed(method.lower())
        return verb

    # -- reads ---------------------------------------------------------------------

    def _object(
        self,
        req: Request,
        rtype: ResourceType,
        version: str,
        entry: Entry,
        status: int = 200,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Response:
        if tables.wants_table(req.headers.get("accept", "")):
            table = tables.table(
                rtype, [entry], entry.rv, req.query.get("includeObject"), self.store.clock()
            )
            return json_response(status, table, headers)
        return Response(status, _with_version(entry, rtype, version), JSON_TYPE, headers)

    async def _list(
        self, req: Request, rtype: ResourceType, path: ResourcePath, watch: bool
    ) -> Response | Stream:
        labels = parse_label_selector(req.query.get("labelSelector"))
        fields = parse_field_selector(req.query.get("fieldSelector"), rtype.key)
        if path.name is not None:
            fields = parse_field_selector(
                ",".join(
                    filter(None, [req.query.get("fieldSelector"), f"metadata.name={path.name}"])
                ),
                rtype.key,
            )
        if watch:
            return self._watch(req, rtype, path, labels, fields)
        try:
            limit = int(req.query.get("limit") or 0)
        except ValueError:
            raise bad_request("limit must be an integer") from None
        listed = self.store.list(
            rtype,
            path.namespace,
            labels,
            fields,
            limit=limit,
            continue_token=req.query.get("continue", ""),
        )
        if tables.wants_table(req.headers.get("accept", "")):
            table = tables.table(
                rtype,
                listed.entries,
                listed.resource_version,
                req.query.get("includeObject"),
                self.store.clock(),
            )
            if listed.continue_token:
                table["metadata"]["continue"] = listed.continue_token
            return json_response(200, table)
        meta: dict[str, Any] = {"resourceVersion": str(listed.resource_version)}
        if listed.continue_token:
            meta["continue"] = listed.continue_token
            meta["remainingItemCount"] = listed.remaining
        head = orjson.dumps(
            {
                "kind": rtype.list_kind,
                "apiVersion": rtype.api_version(path.version),
                "metadata": meta,
            }
        )
        items = b",".join(_with_version(e, rtype, path.version) for e in listed.entries)
        return Response(200, head[:-1] + b',"items":[' + items + b"]}")

    def _watch(
        self,
        req: Request,
        rtype: ResourceType,
        path: ResourcePath,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> Stream:
        initial = req.flag("sendInitialEvents")
        try:
            first, watch = self.store.watch(
                rtype,
                path.namespace,
                labels,
                fields,
                resource_version=req.query.get("resourceVersion"),
                initial_events=initial or None,
            )
        except APIError as error:
            if error.code != 410:
                raise
            # kube-apiserver answers a watch from a compacted resourceVersion with 200
            # and a single ERROR event carrying the 410 Status; clients then relist.
            return Stream(
                _single(orjson.dumps({"type": "ERROR", "object": error.status()}) + b"\n")
            )
        bookmarks = req.flag("allowWatchBookmarks")
        as_table = tables.wants_table(req.headers.get("accept", ""))
        include = req.query.get("includeObject")
        try:
            timeout = float(req.query.get("timeoutSeconds") or MAX_WATCH_SECONDS)
        except ValueError:
            raise bad_request("timeoutSeconds must be a number") from None

        def encode(event: Event) -> bytes:
            if as_table:
                body = orjson.dumps(
                    tables.table(rtype, [event.entry], event.rv, include, self.store.clock())
                )
            else:
                body = _with_version(event.entry, rtype, path.version)
            return b'{"type":"' + event.type.encode() + b'","object":' + body + b"}\n"

        def bookmark(rv: int, end_of_initial: bool = False) -> bytes:
            meta: dict[str, Any] = {"resourceVersion": str(rv)}
            if end_of_initial:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            return (
                orjson.dumps(
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": rtype.kind,
                            "apiVersion": rtype.api_version(path.version),
                            "metadata": meta,
                        },
                    }
                )
                + b"\n"
            )

        async def chunks() -> AsyncIterator[bytes]:
            loop_time = asyncio.get_running_loop().time
            deadline = loop_time() + timeout
            try:
                if first:
                    yield b"".join(encode(e) for e in first)
                if initial and bookmarks:
                    yield bookmark(watch.since, end_of_initial=True)
                while True:
                    remaining = deadline - loop_time()
                    if remaining <= 0:
                        return
                    wait = min(remaining, BOOKMARK_INTERVAL) if bookmarks else remaining
                    try:
                        event = await watch.next(wait)
                    except WatchClosed:
                        return
                    if event is None:
                        if bookmarks and deadline - loop_time() > 0:
                            yield bookmark(self.store.committed_rv)
                        continue
                    batch = [encode(event)]
                    while watch.pending():
                        nxt = await watch.next(0)
                        if nxt is None:
                            break
                        batch.append(encode(nxt))
                    yield b"".join(batch)
            finally:
                watch.close()

        return Stream(chunks(), stop=watch.close)

    # -- writes --------------------------------------------------------------------

    def _write_options(
        self, req: Request, subresource: str = "", *, apply: bool = False
    ) -> WriteOptions:
        dry_run = req.query.get("dryRun", "")
        if dry_run and dry_run != "All":
            raise bad_request(f'Invalid value: "{dry_run}": supported values: "All"')
        validation = req.query.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise bad_request(
                f"fieldValidation parameter unsupported: {validation}. Supported values are "
                "Ignore, Warn, Strict"
            )
        return WriteOptions(
            dry_run=bool(dry_run),
            field_manager=req.query.get("fieldManager")
            or (None if apply else _manager_from_agent(req.headers.get("user-agent", ""))),
            field_validation=validation,
            force=req.flag("force"),
            subresource=subresource,
        )

    def _written(
        self, req: Request, rtype: ResourceType, version: str, written: Written, status: int
    ) -> Response:
        return self._object(
            req, rtype, version, written.entry, status, _warning_headers(written.warnings)
        )

    async def _create(self, req: Request, rtype: ResourceType, path: ResourcePath) -> Response:
        if rtype.namespaced and path.namespace is None:
            raise method_not_allowed("create", rtype.ref)
        obj = decode_object(req.body, req.headers.get("content-type", JSON_TYPE))
        if rtype.review:
            return json_response(201, reviews.review(rtype, obj))
        written = await self.store.create(
            rtype, path.namespace, obj, self._write_options(req), version=path.version
        )
        return self._written(req, rtype, path.version, written, 201)

    async def _update(self, req: Request, rtype: ResourceType, path: ResourcePath) -> Response:
        assert path.name is not None
        obj = decode_object(req.body, req.headers.get("content-type", JSON_TYPE))
        if path.subresource == "finalize":
            return await self._finalize(req, rtype, path, obj)
        written = await self.store.update(
            rtype,
            path.namespace,
            path.name,
            obj,
            self._write_options(req, path.subresource),
            version=path.version,
        )
        return self._written(req, rtype, path.version, written, 200)

    async def _finalize(
        self, req: Request, rtype: ResourceType, path: ResourcePath, obj: dict[str, Any]
    ) -> Response:
        """``namespaces/<name>/finalize``: only ``spec.finalizers`` changes."""
        assert path.name is not None
        current = await self.store.get(rtype, None, path.name)
        new = copy.deepcopy(current.obj)
        new.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get("finalizers") or []
        written = await self.store.replace_with(rtype, current, new, self._write_options(req))
        return self._written(req, rtype, path.version, written, 200)

    async def _patch(self, req: Request, rtype: ResourceType, path: ResourcePath) -> Response:
        assert path.name is not None
        kind = patch_type(req.headers.get("content-type", ""), rtype)
        options = self._write_options(req, path.subresource, apply=kind is PatchType.APPLY)
        current = self.store.lookup(rtype, path.namespace, path.name)
        if kind is PatchType.APPLY:
            written = await self._apply(
                rtype, current, path.namespace, path.name, req.body, options
            )
            return self._written(req, rtype, path.version, written, 201 if written.created else 200)
        if req.flag("force"):
            raise bad_request("force=true is only supported for server-side apply")
        if current is None:
            raise not_found(rtype.ref, path.name)
        schema = None if rtype.custom else self.schemas.lookup(rtype.api_version(), rtype.kind)
        new = apply_patch(kind, current.obj, req.body, schema)
        written = await self.store.replace_with(rtype, current, new, options)
        return self._written(req, rtype, path.version, written, 200)

    async def _delete(self, req: Request, rtype: ResourceType, path: ResourcePath) -> Response:
        assert path.name is not None
        options = self._delete_options(req)
        deleted = await self.store.delete(rtype, path.namespace, path.name, options)
        if deleted.gone:
            return json_response(
                200,
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        "name": path.name,
                        "group": rtype.group,
                        "kind": rtype.plural,
                        "uid": deleted.entry.metadata.get("uid", ""),
                    },
                },
            )
        return self._object(req, rtype, path.version, deleted.entry, 200)

    def _delete_options(self, req: Request) -> DeleteOptions:
        body: dict[str, Any] = {}
        if req.body.strip():
            body = decode_object(req.body, req.headers.get("content-type", JSON_TYPE))
        pre = body.get("preconditions") or {}
        grace = req.query.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
        dry_run = req.query.get("dryRun") or (body.get("dryRun") or [None])[0]
        orphan = body.get("orphanDependents", req.query.get("orphanDependents"))
        propagation = req.query.get("propagationPolicy") or body.get("propagationPolicy")
        if propagation is None and orphan in (True, "true"):
            propagation = "Orphan"
        try:
            grace_seconds = int(grace) if grace is not None else None
        except ValueError:
            raise bad_request("gracePeriodSeconds must be an integer") from None
        return DeleteOptions(
            propagation=propagation,
            uid=pre.get("uid"),
            resource_version=pre.get("resourceVersion"),
            grace_period_seconds=grace_seconds,
            dry_run=bool(dry_run),
        )

    async def _delete_collection(
        self, req: Request, rtype: ResourceType, path: ResourcePath
    ) -> Response:
        labels = parse_label_selector(req.query.get("labelSelector"))
        fields = parse_field_selector(req.query.get("fieldSelector"), rtype.key)
        deleted = await self.store.delete_collection(
            rtype, path.namespace, labels, fields, self._delete_options(req)
        )
        head = orjson.dumps(
            {
                "kind": rtype.list_kind,
                "apiVersion": rtype.api_version(path.version),
                "metadata": {"resourceVersion": str(self.store.resource_version())},
            }
        )
        return Response(200, head[:-1] + b',"items":[' + b",".join(e.raw for e in deleted) + b"]}")

    # -- scale ---------------------------------------------------------------------

    async def _scale(
        self, req: Request, rtype: ResourceType, path: ResourcePath, verb: str
    ) -> Response:
        assert path.name is not None
        assert rtype.scale is not None
        current = await self.store.get(rtype, path.namespace, path.name)
        if verb == "get":
            return json_response(200, scale_of(rtype, current.obj))
        if verb == "update":
            scale = decode_object(req.body, req.headers.get("content-type", JSON_TYPE))
        elif verb == "patch":
            kind = patch_type(req.headers.get("content-type", ""), rtype)
            if kind is PatchType.APPLY:
                raise method_not_allowed("apply", rtype.ref)
            scale = apply_patch(kind, scale_of(rtype, current.obj), req.body, None)
        else:
            raise method_not_allowed(verb, rtype.ref)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise APIError(
                422,
                "Invalid",
                f'Scale.autoscaling "{path.name}" is invalid: '
                "spec.replicas: Invalid value: must be greater than or equal to 0",
            )
        new = copy.deepcopy(current.obj)
        new.setdefault("spec", {})["replicas"] = replicas
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv:
            parse_rv(rv)
            new["metadata"]["resourceVersion"] = rv
        else:
            new["metadata"].pop("resourceVersion", None)
        written = await self.store.replace_with(rtype, current, new, self._write_options(req))
        return json_response(
            200, scale_of(rtype, written.entry.obj), _warning_headers(written.warnings)
        )


def pod_log(pod: Mapping[str, Any], container: str | None) -> Response:
    """``pods/<name>/log``: empty for a started container, kube-apiserver's 400 otherwise.

    No process writes output in the local cluster, so a running or finished container
    has an empty log.
    """
    name = pod["metadata"]["name"]
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if container is None:
        if len(containers) != 1:
            raise bad_request(
                f"a container name must be specified for pod {name}, choose one of: "
                f"[{' '.join(str(c) for c in containers)}]"
            )
        container = str(containers[0])
    elif container not in containers:
        raise bad_request(f"container {container} is not valid for pod {name}")
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    state = next((s.get("state") or {} for s in statuses if s.get("name") == container), {})
    if "running" in state or "terminated" in state:
        return Response(200, b"", "text/plain")
    reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')


async def _single(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk


def _manager_from_agent(agent: str) -> str | None:
    """Upstream's default field manager: the User-Agent's program name."""
    name = agent.split("/", 1)[0].strip()
    return name[:128] or None


def _path_value(obj: Mapping[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.strip(".").split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def scale_of(rtype: ResourceType, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ``autoscaling/v1`` ``Scale`` view of an object."""
    assert rtype.scale is not None
    meta = obj["metadata"]
    status: dict[str, Any] = {"replicas": _path_value(obj, rtype.scale.status_replicas) or 0}
    selector = None
    if rtype.scale.label_selector:
        selector = _path_value(obj, rtype.scale.label_selector)
    if selector is None:
        spec_selector = (obj.get("spec") or {}).get("selector")
        if isinstance(spec_selector, Mapping):
            selector = (
                format_match(spec_selector)
                if ("matchLabels" in spec_selector or "matchExpressions" in spec_selector)
                else ",".join(f"{k}={v}" for k, v in sorted(spec_selector.items()))
            )
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": _path_value(obj, rtype.scale.spec_replicas) or 0},
        "status": status,
    }
