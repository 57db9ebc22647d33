"""The fault plan of :class:`~faultproxy.FaultProxy`: which requests fail, and how.

A :class:`FaultPlan` is a tuple of :class:`Rule` s. A rule pairs a :class:`Match`
(methods, the Kubernetes verb as the API server names it, a path pattern, query
parameters such as ``dryRun``) with a fault:

- :class:`Respond`: an error answer with a proper ``Status`` body (500, 429 with
  ``Retry-After``, 409, 503, ...), before the request reaches the server or, with
  ``forward_first``, after the server has carried it out (the write happened; its answer
  is lost);
- :class:`Drop`: the connection closes without an answer (again before or after);
- :class:`Delay`: a slow server, a fixed latency or one drawn from a range;
- :class:`CutWatch`: a watch stream that ends (cleanly, or by a dropped connection)
  after a number of events or seconds;
- :class:`ExpireWatch`: a watch that resumes from a resourceVersion is told ``410
  Gone`` (an ``ERROR`` event, as kube-apiserver sends it).

:meth:`FaultPlan.decide` applies the rules to one request (:func:`classify` names it):
every matching :class:`Delay` and :class:`CutWatch` applies, and the first matching
answer (:class:`Respond`, :class:`Drop`, :class:`ExpireWatch`) ends the request.
``probability`` draws from the caller's seeded ``random.Random``; ``limit`` caps how
often a rule fires while its plan is in force.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_WRITE_VERBS = frozenset({"create", "update", "patch", "apply", "delete", "deletecollection"})

# --- what a request is ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A request as the API server classifies it (its ``RequestInfo``)."""

    method: str
    path: str
    query: Mapping[str, str]
    #: ``get``, ``list``, ``watch``, ``create``, ``update``, ``patch``, ``apply``,
    #: ``delete``, ``deletecollection``; ``get`` for non-resource paths (``/version``).
    verb: str
    resource: str = ""
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def is_write(self) -> bool:
        """Whether the request changes (or dry-runs a change of) an object."""
        return self.verb in _WRITE_VERBS

    @property
    def resumes_watch(self) -> bool:
        """A watch from a given resourceVersion (``""`` and ``"0"`` mean "from any")."""
        return self.verb == "watch" and self.query.get("resourceVersion", "") not in ("", "0")


def classify(
    method: str, path: str, query: Mapping[str, str], content_type: str = ""
) -> RequestInfo:
    """Name the verb, resource, namespace, name and subresource of one request."""
    method = method.upper()
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        rest = parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        rest = parts[3:]
    else:
        return RequestInfo(method, path, query, "get")
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    if method == "GET":
        watching = query.get("watch") in ("true", "1")
        verb = "watch" if watching else "get" if name else "list"
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "apply" if content_type.startswith("application/apply-patch") else "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    return RequestInfo(method, path, query, verb, resource, namespace, name, subresource)


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a rule concerns; an empty field matches everything.

    ``query`` maps a parameter to a regular expression its value must match in full,
    or to ``None`` for "absent": ``{"dryRun": None}`` leaves dry runs alone.
    ``writes`` matches every write verb (create, update, patch, apply, delete).
    """

    methods: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()
    path: str = ""
    query: tuple[tuple[str, str | None], ...] = ()
    writes: bool = False

    @classmethod
    def of(
        cls,
        *,
        methods: tuple[str, ...] = (),
        verbs: tuple[str, ...] = (),
        path: str = "",
        query: Mapping[str, str | None] | None = None,
        writes: bool = False,
    ) -> Match:
        """A match from plain arguments (tuples and a mapping)."""
        return cls(
            frozenset(m.upper() for m in methods),
            frozenset(verbs),
            path,
            tuple(sorted((query or {}).items())),
            writes,
        )

    def __call__(self, info: RequestInfo) -> bool:
        """Whether ``info`` is one of the requests this match selects."""
        if self.methods and info.method not in self.methods:
            return False
        if self.verbs and info.verb not in self.verbs:
            return False
        if self.writes and not info.is_write:
            return False
        if self.path and re.search(self.path, info.path) is None:
            return False
        for name, pattern in self.query:
            value = info.query.get(name)
            if pattern is None:
                if value is not None:
                    return False
            elif value is None or re.fullmatch(pattern, value) is None:
                return False
        return True


# --- faults ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Respond:
    """Answer ``code`` with a ``Status`` body instead of the server's answer."""

    code: int
    reason: str
    message: str
    #: Seconds for ``Retry-After`` (and ``details.retryAfterSeconds``), if any.
    retry_after: int | None = None
    #: Forward the request first and replace the server's answer: the change is made.
    forward_first: bool = False

    def status(self, info: RequestInfo) -> dict[str, Any]:
        """The ``Status`` object kube-apiserver would send."""
        details: dict[str, Any] = {}
        if info.name:
            details["name"] = info.name
        if info.resource:
            details["kind"] = info.resource
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        message = self.message.format(resource=info.resource or "objects", name=info.name)
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def internal_error(*, forward_first: bool = False) -> Respond:
    """500 InternalError, as a failing storage layer answers."""
    return Respond(
        500,
        "InternalError",
        "Internal error occurred: injected fault: etcdserver: request timed out",
        forward_first=forward_first,
    )


def too_many_requests(retry_after: int | None = 1) -> Respond:
    """429 TooManyRequests with ``Retry-After``, as API priority and fairness answers."""
    return Respond(
        429,
        "TooManyRequests",
        "the server has received too many requests and has asked us to try again later",
        retry_after=retry_after,
    )


def conflict() -> Respond:
    """409 Conflict: the object was modified meanwhile (optimistic concurrency)."""
    return Respond(
        409,
        "Conflict",
        'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
    )


def service_unavailable(retry_after: int | None = None) -> Respond:
    """503 ServiceUnavailable: the API server cannot serve the request now."""
    return Respond(
        503,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
        retry_after=retry_after,
    )


@dataclass(frozen=True, slots=True)
class Drop:
    """Close the connection without an answer."""

    forward_first: bool = False


@dataclass(frozen=True, slots=True)
class Delay:
    """Wait ``low`` seconds (or a uniform draw in ``[low, high]``) before forwarding."""

    low: float
    high: float | None = None

    def draw(self, rng: random.Random) -> float:
        """The latency of one request."""
        return self.low if self.high is None else rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class CutWatch:
    """End a watch stream after ``events`` events or ``seconds`` seconds.

    ``abort`` drops the connection (a broken network, a restarted server) instead of
    ending the response cleanly (the server's own watch timeout).
    """

    events: int | None = None
    seconds: float | None = None
    abort: bool = False


@dataclass(frozen=True, slots=True)
class ExpireWatch:
    """Answer a watch resumed from a resourceVersion with ``410 Gone`` (an ERROR event)."""


Fault = Respond | Drop | Delay | CutWatch | ExpireWatch


@dataclass(frozen=True, slots=True)
class Rule:
    """Apply ``fault`` to requests ``match`` selects, with ``probability``, ``limit`` times."""

    name: str
    fault: Fault
    match: Match = field(default_factory=Match)
    probability: float = 1.0
    limit: int | None = None


@dataclass(slots=True)
class Decision:
    """What a plan made of one request: a latency, an answer, a limit on a watch."""

    delay: float = 0.0
    answer: Respond | Drop | ExpireWatch | None = None
    cut: CutWatch | None = None
    #: The names of the rules that fired, in order.
    fired: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The rules in force; the empty plan forwards everything untouched."""

    rules: tuple[Rule, ...] = ()

    def decide(self, info: RequestInfo, rng: random.Random, fired: Mapping[str, int]) -> Decision:
        """Apply the rules to one request; ``fired`` says how often each rule fired so far."""
        decision = Decision()
        for rule in self.rules:
            if rule.limit is not None and fired.get(rule.name, 0) >= rule.limit:
                continue
            fault = rule.fault
            if isinstance(fault, CutWatch | ExpireWatch) and info.verb != "watch":
                continue
            if isinstance(fault, ExpireWatch) and not info.resumes_watch:
                continue
            if not rule.match(info):
                continue
            if rule.probability < 1.0 and rng.random() >= rule.probability:
                continue
            decision.fired.append(rule.name)
            if isinstance(fault, Delay):
                decision.delay += fault.draw(rng)
            elif isinstance(fault, CutWatch):
                decision.cut = decision.cut or fault
            else:
                decision.answer = fault
                return decision
        return decision
