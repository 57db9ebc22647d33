"""The ``pullRequest`` generator: one parameter set per open pull (merge) request.

Providers: ``github`` (``owner``, ``repo``, ``labels``), ``gitlab`` (``project``,
``labels``, ``pullRequestState``) and ``gitea`` (``owner``, ``repo``, ``labels``), each
with ``api`` (base URL), ``tokenRef`` and ``insecure``. ``filters`` keep requests
whose branch matches ``branchMatch`` and whose target matches ``targetBranchMatch``
(a request passes when any filter passes). Parameters are Argo CD's: ``number``,
``title``, ``branch``, ``branch_slug``, ``target_branch``, ``target_branch_slug``,
``head_sha``, ``head_short_sha``, ``head_short_sha_7``, ``author`` and, with goTemplate,
``labels``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import (
    DEFAULT_API_REQUEUE_SECONDS,
    Generated,
    GenerationContext,
    requeue_of,
)
from tether.controller.appsets.gotemplate import slugify
from tether.controller.appsets.hosted import (
    Provider,
    client_for,
    get_pages,
    provider_of,
)
from tether.controller.appsets.params import ParamSet
from tether.model.applicationset import Generator

KIND = "pullRequest"


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request as every provider describes it."""

    number: int
    title: str
    branch: str
    target_branch: str
    head_sha: str
    labels: tuple[str, ...]
    author: str


async def generate_pull_requests(generator: Generator, ctx: GenerationContext) -> Generated:
    """Parameters for every open pull request that passes the filters."""
    provider = await provider_of(KIND, generator.body, ctx)
    pulls = await list_pull_requests(provider, ctx)
    filters = generator.body.get("filters") or []
    out: list[ParamSet] = []
    for pull in sorted(pulls, key=lambda p: p.number):
        if filters and not any(_passes(pull, f) for f in filters):
            continue
        out.append(_params(pull, go_template=ctx.go_template))
    return Generated(tuple(out), requeue_of(generator, DEFAULT_API_REQUEUE_SECONDS))


def _passes(pull: PullRequest, rule: Any) -> bool:
    if not isinstance(rule, Mapping):
        raise GeneratorError(KIND, "each filter must be an object")
    for key, value in (("branchMatch", pull.branch), ("targetBranchMatch", pull.target_branch)):
        pattern = rule.get(key)
        if pattern is not None:
            try:
                if re.search(str(pattern), value) is None:
                    return False
            except re.error as error:
                raise GeneratorError(KIND, f"invalid {key} {pattern!r}: {error}") from error
    return True


def _params(pull: PullRequest, *, go_template: bool) -> ParamSet:
    params: ParamSet = {
        "number": str(pull.number),
        "title": pull.title,
        "branch": pull.branch,
        "branch_slug": slugify(pull.branch),
        "target_branch": pull.target_branch,
        "target_branch_slug": slugify(pull.target_branch),
        "head_sha": pull.head_sha,
        "head_short_sha": pull.head_sha[:8],
        "head_short_sha_7": pull.head_sha[:7],
        "author": pull.author,
    }
    if go_template:
        params["labels"] = list(pull.labels)
    return params


async def list_pull_requests(provider: Provider, ctx: GenerationContext) -> list[PullRequest]:
    """The open pull requests of the configured repository, labels filtered."""
    settings = provider.settings
    wanted = {str(label) for label in settings.get("labels") or []}
    async with client_for(settings, ctx) as client:
        if provider.name == "github":
            owner, repo = _required(settings, "owner"), _required(settings, "repo")
            raw = await get_pages(
                client,
                KIND,
                f"{provider.api}/repos/{owner}/{repo}/pulls",
                headers=provider.headers(),
                params={"state": "open"},
            )
            pulls = [_from_github_like(item) for item in raw]
        elif provider.name == "gitea":
            owner, repo = _required(settings, "owner"), _required(settings, "repo")
            raw = await get_pages(
                client,
                KIND,
                f"{provider.api}/api/v1/repos/{owner}/{repo}/pulls",
                headers=provider.headers(),
                params={"state": "open"},
                size_param="limit",
            )
            pulls = [_from_github_like(item) for item in raw]
        else:
            project = urllib.parse.quote(_required(settings, "project"), safe="")
            query: dict[str, Any] = {}
            if settings.get("pullRequestState"):
                query["state"] = str(settings["pullRequestState"])
            if wanted:
                query["labels"] = ",".join(sorted(wanted))
            raw = await get_pages(
                client,
                KIND,
                f"{provider.api}/api/v4/projects/{project}/merge_requests",
                headers=provider.headers(),
                params=query,
            )
            pulls = [_from_gitlab(item) for item in raw]
    return [p for p in pulls if wanted <= set(p.labels)]


def _required(settings: Mapping[str, Any], key: str) -> str:
    value = settings.get(key)
    if not isinstance(value, str) or not value:
        raise GeneratorError(KIND, f"{key} is required")
    return value


def _from_github_like(item: Mapping[str, Any]) -> PullRequest:
    try:
        return PullRequest(
            number=int(item["number"]),
            title=str(item.get("title", "")),
            branch=str(item["head"]["ref"]),
            target_branch=str(item["base"]["ref"]),
            head_sha=str(item["head"]["sha"]),
            labels=tuple(str(label["name"]) for label in item.get("labels") or []),
            author=str((item.get("user") or {}).get("login", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise GeneratorError(KIND, f"unexpected pull request in the response: {error}") from error


def _from_gitlab(item: Mapping[str, Any]) -> PullRequest:
    try:
        labels = item.get("labels") or []
        return PullRequest(
            number=int(item["iid"]),
            title=str(item.get("title", "")),
            branch=str(item["source_branch"]),
            target_branch=str(item["target_branch"]),
            head_sha=str(item["sha"]),
            labels=tuple(str(x["name"]) if isinstance(x, Mapping) else str(x) for x in labels),
            author=str((item.get("author") or {}).get("username", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise GeneratorError(KIND, f"unexpected merge request in the response: {error}") from error
