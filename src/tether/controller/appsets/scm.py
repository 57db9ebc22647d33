"""The ``scmProvider`` generator: one parameter set per repository (and branch) of an owner.

Providers: ``github`` (``organization``), ``gitlab`` (``group``, ``includeSubgroups``)
and ``gitea`` (``owner``), each with ``api``, ``tokenRef``, ``insecure`` and
``allBranches`` (default: the default branch only). ``cloneProtocol`` chooses the
``url`` parameter (``ssh``, the default, or ``https``). ``filters``: a repository
passes when any filter passes, and a filter passes when all its conditions hold
(``repositoryMatch``, ``labelMatch``, ``branchMatch``, ``pathsExist``,
``pathsDoNotExist``). Parameters are Argo CD's: ``organization``, ``repository``,
``url``, ``branch``, ``branchNormalized``, ``sha``, ``short_sha``, ``short_sha_7``,
``labels`` (comma-separated topics).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tether.controller.appsets.errors import GeneratorError
from tether.controller.appsets.generator import (
    DEFAULT_API_REQUEUE_SECONDS,
    Generated,
    GenerationContext,
    requeue_of,
)
from tether.controller.appsets.gotemplate import normalize
from tether.controller.appsets.hosted import (
    Provider,
    client_for,
    get_json,
    get_pages,
    provider_of,
)
from tether.controller.appsets.params import ParamSet
from tether.model.applicationset import Generator

KIND = "scmProvider"


@dataclass(frozen=True, slots=True)
class Repository:
    """One repository on one branch."""

    organization: str
    repository: str
    url: str
    branch: str
    sha: str
    labels: tuple[str, ...]
    ref: str  # how the provider's API addresses the repository


async def generate_scm_provider(generator: Generator, ctx: GenerationContext) -> Generated:
    """Parameters for every repository branch that passes the filters."""
    provider = await provider_of(KIND, generator.body, ctx)
    protocol = str(generator.body.get("cloneProtocol") or "ssh")
    if protocol not in ("ssh", "https"):
        raise GeneratorError(KIND, f"cloneProtocol must be ssh or https, got {protocol!r}")
    filters = generator.body.get("filters") or []
    out: list[ParamSet] = []
    async with client_for(provider.settings, ctx) as client:
        api = _Api(provider, client)
        for repo in await api.repositories(protocol):
            if filters and not [f for f in filters if await _passes(api, repo, f)]:
                continue
            out.append(_params(repo))
    return Generated(tuple(out), requeue_of(generator, DEFAULT_API_REQUEUE_SECONDS))


def _params(repo: Repository) -> ParamSet:
    return {
        "organization": repo.organization,
        "repository": repo.repository,
        "url": repo.url,
        "branch": repo.branch,
        "branchNormalized": normalize(repo.branch),
        "sha": repo.sha,
        "short_sha": repo.sha[:8],
        "short_sha_7": repo.sha[:7],
        "labels": ",".join(repo.labels),
    }


def _matches(pattern: Any, value: str, key: str) -> bool:
    try:
        return re.search(str(pattern), value) is not None
    except re.error as error:
        raise GeneratorError(KIND, f"invalid {key} {pattern!r}: {error}") from error


async def _passes(api: _Api, repo: Repository, rule: Any) -> bool:
    if not isinstance(rule, Mapping):
        raise GeneratorError(KIND, "each filter must be an object")
    if "repositoryMatch" in rule and not _matches(
        rule["repositoryMatch"], repo.repository, "repositoryMatch"
    ):
        return False
    if "branchMatch" in rule and not _matches(rule["branchMatch"], repo.branch, "branchMatch"):
        return False
    if "labelMatch" in rule and not any(
        _matches(rule["labelMatch"], label, "labelMatch") for label in repo.labels
    ):
        return False
    for path in rule.get("pathsExist") or []:
        if not await api.path_exists(repo, str(path)):
            return False
    for path in rule.get("pathsDoNotExist") or []:
        if await api.path_exists(repo, str(path)):
            return False
    return True


class _Api:
    """The few calls the generator makes, per provider."""

    def __init__(self, provider: Provider, client: httpx.AsyncClient) -> None:
        self.provider = provider
        self.client = client
        self.headers = provider.headers()
        self.all_branches = bool(provider.settings.get("allBranches", False))

    def _owner(self, key: str) -> str:
        value = self.provider.settings.get(key)
        if not isinstance(value, str) or not value:
            raise GeneratorError(KIND, f"{self.provider.name}.{key} is required")
        return value

    async def _get(self, url: str, **params: Any) -> Any:
        return await get_json(self.client, KIND, url, headers=self.headers, params=params)

    async def _pages(self, url: str, **params: Any) -> list[Any]:
        size = "limit" if self.provider.name == "gitea" else "per_page"
        return await get_pages(
            self.client, KIND, url, headers=self.headers, params=params, size_param=size
        )

    async def repositories(self, protocol: str) -> list[Repository]:
        """Every repository branch of the owner."""
        api, name = self.provider.api, self.provider.name
        out: list[Repository] = []
        if name == "github":
            org = self._owner("organization")
            for item in await self._pages(f"{api}/orgs/{org}/repos"):
                ref = f"{api}/repos/{org}/{item['name']}"
                url = item["ssh_url"] if protocol == "ssh" else item["clone_url"]
                labels = tuple(item.get("topics") or ())
                for branch, sha in await self._branches(ref, item["default_branch"], "sha"):
                    out.append(Repository(org, item["name"], url, branch, sha, labels, ref))
        elif name == "gitea":
            owner = self._owner("owner")
            for item in await self._pages(f"{api}/api/v1/orgs/{owner}/repos"):
                ref = f"{api}/api/v1/repos/{owner}/{item['name']}"
                url = item["ssh_url"] if protocol == "ssh" else item["clone_url"]
                topics = await self._get(f"{ref}/topics")
                labels = tuple((topics or {}).get("topics") or ())
                for branch, sha in await self._branches(ref, item["default_branch"], "id"):
                    out.append(Repository(owner, item["name"], url, branch, sha, labels, ref))
        else:
            group = urllib.parse.quote(self._owner("group"), safe="")
            subgroups = "true" if self.provider.settings.get("includeSubgroups") else "false"
            projects = await self._pages(
                f"{api}/api/v4/groups/{group}/projects", include_subgroups=subgroups
            )
            for item in projects:
                ref = f"{api}/api/v4/projects/{item['id']}"
                url = item["ssh_url_to_repo"] if protocol == "ssh" else item["http_url_to_repo"]
                labels = tuple(item.get("topics") or item.get("tag_list") or ())
                org = str((item.get("namespace") or {}).get("full_path", ""))
                branches = await self._branches(f"{ref}/repository", item["default_branch"], "id")
                for branch, sha in branches:
                    out.append(Repository(org, item["path"], url, branch, sha, labels, ref))
        return out

    async def _branches(self, ref: str, default: str, sha_key: str) -> list[tuple[str, str]]:
        if self.all_branches:
            items = await self._pages(f"{ref}/branches")
        else:
            quoted = urllib.parse.quote(default, safe="")
            items = [await self._get(f"{ref}/branches/{quoted}")]
        return [(str(b["name"]), str(b["commit"][sha_key])) for b in items]

    async def path_exists(self, repo: Repository, path: str) -> bool:
        """Whether ``path`` exists on the repository's branch."""
        clean = path.strip("/")
        if self.provider.name == "gitlab":
            url = f"{repo.ref}/repository/tree"
            params: dict[str, Any] = {"path": clean, "ref": repo.branch}
            listing = await get_json(
                self.client, KIND, url, headers=self.headers, params=params, allow_missing=True
            )
            if listing:
                return True
            parent, _, leaf = clean.rpartition("/")
            params = {"path": parent, "ref": repo.branch}
            siblings = await get_json(
                self.client, KIND, url, headers=self.headers, params=params, allow_missing=True
            )
            return any(entry.get("name") == leaf for entry in siblings or [])
        url = f"{repo.ref}/contents/{urllib.parse.quote(clean)}"
        found = await get_json(
            self.client,
            KIND,
            url,
            headers=self.headers,
            params={"ref": repo.branch},
            allow_missing=True,
        )
        return found is not None
