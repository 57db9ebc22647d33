"""Everything a request handler needs, built once by the app factory.

Handlers reach it through the FastAPI dependencies :func:`context` and
:func:`principal`; they authorise with :meth:`ServerContext.enforce` before doing
anything, and record mutations with :attr:`ServerContext.auditor`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from tether.kube import KubeClient, KubeError
from tether.model import API_VERSION, AppProject, SpecError
from tether.server.appcache import ApplicationCache
from tether.server.audit import Auditor
from tether.server.auth import Authenticator, Principal, bearer_token, check_csrf
from tether.server.clock import Clock
from tether.server.errors import PermissionDenied
from tether.server.interfaces import ManagedResources, ManifestSource, PushHook, ResourceTree
from tether.server.pagecache import PageCache
from tether.server.rbac import Policy, project_rules
from tether.server.store import SettingsStore, Snapshot
from tether.server.tokens import TokenKind
from tether.server.tree import ClusterInspector

#: Largest JSON body the API accepts (webhooks have their own limit).
MAX_BODY = 4 * 1024 * 1024


@dataclass
class ServerContext:
    """The server's collaborators and the policy compiled from the current settings."""

    client: KubeClient
    namespace: str
    clock: Clock
    store: SettingsStore
    authenticator: Authenticator
    auditor: Auditor
    apps: ApplicationCache
    inspector: ClusterInspector
    tree: ResourceTree
    managed: ManagedResources
    manifests: ManifestSource | None = None
    on_push: PushHook | None = None
    monotonic: Callable[[], float] = time.monotonic
    #: Seconds between keep-alive comments on idle event streams.
    sse_heartbeat: float = 15.0
    #: How long ``GET .../{name}?refresh=`` waits for the controller to refresh.
    refresh_timeout: float = 10.0
    pages: PageCache = field(default_factory=PageCache)
    #: Incremented whenever the policy is compiled anew (keys cached pages).
    policy_generation: int = 0
    _policy: tuple[Snapshot, Policy] | None = field(default=None, repr=False)

    async def policy(self, principal: Principal | None = None) -> Policy:
        """The RBAC policy; for a project token, with its project's role policies."""
        snapshot = await self.store.snapshot()
        if self._policy is None or self._policy[0] is not snapshot:
            self._policy = (snapshot, Policy.from_config(snapshot.rbac))
            self.policy_generation += 1
        policy = self._policy[1]
        if principal is None or principal.kind is not TokenKind.PROJECT:
            return policy
        project_name, _ = principal.claims.project_role
        try:
            obj = await self.client.get(API_VERSION, "AppProject", project_name, self.namespace)
            project = AppProject.from_dict(obj)
        except (KubeError, SpecError):
            return policy
        extra = project_rules(project_name, ((r.name, r.policies) for r in project.spec.roles))
        return Policy(
            rules=policy.rules + tuple(extra),
            groupings=policy.groupings,
            default_role=policy.default_role,
            regex=policy.regex,
        )

    async def allows(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        """Whether ``principal`` may do ``action`` on ``resource`` ``obj``."""
        policy = await self.policy(principal)
        return policy.allows([principal.subject], resource, action, obj)

    async def enforce(self, principal: Principal, resource: str, action: str, obj: str) -> None:
        """Raise :class:`PermissionDenied` unless ``principal`` may do this."""
        if not await self.allows(principal, resource, action, obj):
            raise PermissionDenied(
                f"permission denied: {resource}, {action}, {obj}, sub: {principal.subject}"
            )


async def context(request: Request) -> ServerContext:
    """The server context of the app handling ``request``.

    ``async`` on purpose: FastAPI runs plain functions in a thread pool, a thread hop
    per request for a dictionary lookup.
    """
    ctx: ServerContext = request.app.state.context
    return ctx


async def principal(request: Request) -> Principal:
    """Authenticate ``request`` (bearer token or cookie, with the cookie's CSRF check)."""
    token, from_cookie = bearer_token(request.headers, request.cookies)
    check_csrf(request.method, request.headers, from_cookie)
    ctx: ServerContext = request.app.state.context
    return await ctx.authenticator.authenticate(token)


Ctx = Annotated[ServerContext, Depends(context)]
Caller = Annotated[Principal, Depends(principal)]
