"""``/api/v1/applicationsets``: ApplicationSets, and previews of what they generate.

ApplicationSets are custom resources in the control namespace; their controller
(:mod:`tether.controller.appsets`) turns each into Applications. These routes read and
write the objects, and run the controller's own generators and templates inside the
server to show which Applications an ApplicationSet would produce, writing nothing.

Authorisation
    Argo CD's: resource ``applicationsets``, object ``<project>/<name>``, where the
    project is the template's ``spec.project`` (``default`` when empty). A list leaves
    out what the caller may not ``get``; an unknown name is a 404 only for callers who
    could ``get`` it in some project. A create needs ``create`` in every project its
    Applications can land in (the template's, and those a generator's ``template``
    override names, which Argo CD does not check); replacing a different existing one
    (``upsert``) needs ``update`` too, and moving it to another project ``update`` in
    the old one. ``generate`` and ``dryRun`` need ``create``: they run the generators
    on the caller's behalf. An ApplicationSet whose project is templated (``{{...}}``)
    or set by its ``templatePatch`` cannot be written through the API, as in Argo CD:
    which projects its Applications reach is only known once it runs.
Validation
    A body is refused (400, nothing written) unless it parses as an ApplicationSet,
    every generator (matrix and merge children included) is one tether runs, every
    generated Application gets a name from the template, with ``goTemplate`` every
    template string parses, and no ``tokenRef`` is templated or names the server's
    own credentials (the controller would send it to a URL the author chose).
Previews
    ``generate`` and ``dryRun`` run the generators in the server
    (:mod:`.appsetgeneration`: Git through the server's own cache and the stored
    repository credentials; tokens only from marked Secrets, never the server's keys).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Query, Request

from tether.controller.appsets import TemplateError
from tether.controller.appsets.conditions import resource_entry
from tether.controller.appsets.gotemplate import GoTemplate
from tether.controller.appsets.templating import override_template
from tether.kube import AlreadyExists, Conflict, KubeError, NotFound
from tether.model import API_VERSION, SpecError
from tether.model.applicationset import (
    APPLICATION_SET_KIND,
    GENERATOR_TYPES,
    ApplicationSet,
    ApplicationSetSpec,
    Generator,
)
from tether.server.audit import Reason, Subject
from tether.server.auth import Principal
from tether.server.context import Caller, Ctx, ServerContext
from tether.server.errors import (
    BadInput,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    from_kube_error,
)
from tether.server.rbac import Action, Resource
from tether.server.routes.appsetgeneration import generation_of, server_owned
from tether.server.selectors import SelectorError, parse_selector
from tether.server.views import check_name

router = APIRouter(prefix="/api/v1/applicationsets", tags=["applicationsets"])
KIND: Final = APPLICATION_SET_KIND
#: Generator types the controller runs (Argo CD's ``clusterDecisionResource`` is not one).
SUPPORTED_GENERATORS: Final = frozenset(GENERATOR_TYPES) - {"clusterDecisionResource"}
_ATTEMPTS: Final = 5
_METADATA_KEPT: Final = ("name", "labels", "annotations", "finalizers")
#: A ``project:`` key in a templatePatch (YAML block or flow style).
_PATCH_PROJECT: Final = re.compile(r"(?:^|[\s{,])project\s*:", re.MULTILINE)


# --- reading request bodies ----------------------------------------------------------


def _template_project(template: Any) -> str:
    """``spec.project`` of an Application template as written (``""`` when absent)."""
    spec = template.get("spec") if isinstance(template, Mapping) else None
    project = spec.get("project") if isinstance(spec, Mapping) else None
    return project if isinstance(project, str) else ""


def rbac_object(obj: Mapping[str, Any]) -> str:
    """The RBAC object of a stored ApplicationSet: ``<template project>/<name>``."""
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    name = str((obj.get("metadata") or {}).get("name", ""))
    return f"{_template_project(template) or 'default'}/{name}"


def _walk_generators(generators: Iterable[Generator]) -> Iterator[Generator]:
    for generator in generators:
        yield generator
        yield from _walk_generators(generator.children)


def target_projects(spec: ApplicationSetSpec) -> tuple[str, ...]:
    """Every project generated Applications can land in: the template's and the overrides'."""
    projects = {_template_project(spec.template) or "default"}
    for generator in _walk_generators(spec.generators):
        if generator.template and (override := _template_project(generator.template)):
            projects.add(override)
    return tuple(sorted(projects))


def _template_strings(data: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(path, text)`` of every string holding ``{{`` in ``data``, map keys included."""
    if isinstance(data, str):
        if "{{" in data:
            yield path, data
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from _template_strings(str(key), path)
            yield from _template_strings(value, f"{path}.{key}")
    elif isinstance(data, (list, tuple)):
        for index, value in enumerate(data):
            yield from _template_strings(value, f"{path}[{index}]")


def _check_go_templates(spec: ApplicationSetSpec, name: str) -> None:
    """Parse every Go template of ``spec`` (parsing runs nothing)."""
    sources: list[tuple[Any, str]] = [(spec.template, "spec.template")]
    for index, generator in enumerate(_walk_generators(spec.generators)):
        if generator.template:
            sources.append((generator.template, f"generator {index} ({generator.type}).template"))
        if generator.values:
            sources.append((generator.values, f"generator {index} ({generator.type}).values"))
    strings = [item for data, path in sources for item in _template_strings(data, path)]
    if spec.template_patch:
        strings.append(("spec.templatePatch", spec.template_patch))
    try:
        for path, text in strings:
            GoTemplate(text, name=path, options=spec.go_template_options)
    except TemplateError as error:
        raise BadInput(f"invalid applicationset {name}: {error}") from error


def _names_every_application(spec: ApplicationSetSpec) -> bool:
    """Whether each generator's template (with its override) gives ``metadata.name``."""
    if spec.template_patch:
        return True  # the patch may set the name; a render will tell
    for generator in spec.generators:
        template = spec.template
        if generator.template:
            template = override_template(template, generator.template)
        if not (template.get("metadata") or {}).get("name"):
            return False
    return True


def _token_refs(data: Any) -> Iterator[Mapping[str, Any]]:
    """Every ``tokenRef`` mapping in a generator body, however deep."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key == "tokenRef" and isinstance(value, Mapping):
                yield value
            else:
                yield from _token_refs(value)
    elif isinstance(data, list):
        for value in data:
            yield from _token_refs(value)


def _check_token_refs(generator: Generator, name: str) -> None:
    """Refuse token references the controller would resolve to the server's credentials.

    The controller sends a ``tokenRef``'s value to the generator's ``api`` URL, which
    the author chooses; a reference written through the API must therefore be literal
    (a templated one could become anything) and must not name the server's own keys.
    """
    for ref in _token_refs(generator.body):
        secret, key = str(ref.get("secretName", "")), str(ref.get("key", ""))
        if "{{" in secret or "{{" in key:
            raise BadInput(
                f"invalid applicationset {name}: a tokenRef written through the API "
                "must name its Secret and key without templates"
            )
        if server_owned(secret, key):
            raise BadInput(
                f"invalid applicationset {name}: tokenRef {secret}/{key} holds the "
                "server's credentials"
            )


def check_applicationset(appset: ApplicationSet) -> None:
    """Refuse what the controller could never turn into Applications (:class:`BadInput`)."""
    name = appset.metadata.name
    for generator in _walk_generators(appset.spec.generators):
        if generator.type not in SUPPORTED_GENERATORS:
            raise BadInput(
                f"invalid applicationset {name}: the {generator.type} generator is not "
                f"supported (supported: {', '.join(sorted(SUPPORTED_GENERATORS))})"
            )
        _check_token_refs(generator, name)
    if not _names_every_application(appset.spec):
        raise BadInput(f"invalid applicationset {name}: spec.template.metadata.name is required")
    if any("{{" in project for project in target_projects(appset.spec)):
        raise BadInput(
            f"invalid applicationset {name}: ApplicationSets with a templated project "
            "cannot be written through the API; set spec.template.spec.project to a project"
        )
    if _PATCH_PROJECT.search(appset.spec.template_patch):
        raise BadInput(
            f"invalid applicationset {name}: a templatePatch written through the API "
            "may not set the project"
        )
    if appset.spec.go_template:
        _check_go_templates(appset.spec, name)


def parse_applicationset(data: Any, namespace: str) -> tuple[ApplicationSet, dict[str, Any]]:
    """The checked ApplicationSet of a request body, and the object to store for it.

    The stored object keeps the spec and the user's metadata (name, labels,
    annotations, finalizers), in the control ``namespace``; never a status.
    """
    if not isinstance(data, Mapping):
        raise BadInput("the body must be a JSON object")
    try:
        requested = ApplicationSet.from_dict(data)
    except SpecError as error:
        raise BadInput(f"invalid applicationset: {error}") from error
    check_name(requested.metadata.name, "applicationset name")
    if requested.metadata.namespace not in ("", namespace):
        raise BadInput(
            f"invalid applicationset {requested.metadata.name}: ApplicationSets live in the "
            f"control namespace {namespace}, not {requested.metadata.namespace}"
        )
    check_applicationset(requested)
    obj = requested.to_dict()
    obj.pop("status", None)
    obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k in _METADATA_KEPT and v} | {
        "namespace": namespace
    }
    # Parsed again from what is stored, so that rendering sees the stored namespace.
    return ApplicationSet.from_dict(obj), obj


def _normalised_spec(obj: Mapping[str, Any]) -> Any:
    """A stored object's spec as tether writes it (so cosmetic differences compare equal)."""
    try:
        return ApplicationSetSpec.from_dict(obj.get("spec")).to_dict()
    except SpecError:
        return obj.get("spec")


def _subject(obj: Mapping[str, Any]) -> Subject:
    metadata = obj.get("metadata") or {}
    return Subject(
        API_VERSION,
        KIND,
        str(metadata.get("name", "")),
        str(metadata.get("namespace", "")),
        str(metadata.get("uid", "")),
    )


# --- reading the cluster ---------------------------------------------------------------


async def load_applicationset(
    ctx: ServerContext, caller: Principal, name: str, action: str
) -> dict[str, Any]:
    """Read an ApplicationSet and authorise ``action`` on it (404 only for who could see it)."""
    check_name(name, "applicationset name")
    try:
        obj = await ctx.client.get(API_VERSION, KIND, name, ctx.namespace)
    except NotFound as error:
        if await ctx.allows(caller, Resource.APPLICATIONSETS, action, f"*/{name}"):
            raise NotFoundError(f"applicationset {name} not found") from error
        raise PermissionDenied("permission denied") from error
    except KubeError as error:
        raise from_kube_error(error) from error
    await ctx.enforce(caller, Resource.APPLICATIONSETS, action, rbac_object(obj))
    return obj


async def _authorise_create(ctx: ServerContext, caller: Principal, appset: ApplicationSet) -> None:
    """``create`` in every project the ApplicationSet targets, each of which must exist.

    Argo CD checks only the template's project; a generator's ``template`` override
    can name another, so each is checked: none of them may be a way around RBAC.
    """
    name = appset.metadata.name
    for project in target_projects(appset.spec):
        await ctx.enforce(caller, Resource.APPLICATIONSETS, Action.CREATE, f"{project}/{name}")
        try:
            await ctx.client.get(API_VERSION, "AppProject", project, ctx.namespace)
        except NotFound as error:
            raise BadInput(
                f"applicationset {name} references project {project} which does not exist"
            ) from error
        except KubeError as error:
            raise from_kube_error(error) from error


def _generate_body(body: Any) -> Any:
    if not isinstance(body, Mapping) or not isinstance(body.get("applicationSet"), Mapping):
        raise BadInput('the body must be {"applicationSet": {...}}')
    return body["applicationSet"]


# --- routes ------------------------------------------------------------------------------


@router.get("")
async def list_applicationsets(
    caller: Caller,
    ctx: Ctx,
    projects: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 - FastAPI reads it
    selector: Annotated[str, Query(max_length=4096)] = "",
) -> dict[str, Any]:
    """The ApplicationSets the caller may see, by name, filtered by project and labels."""
    try:
        labels_match = parse_selector(selector)
    except SelectorError as error:
        raise BadInput(str(error)) from error
    wanted = {p for item in projects for p in item.split(",") if p}
    policy = await ctx.policy(caller)
    may_get = policy.checker([caller.subject], Resource.APPLICATIONSETS, Action.GET)
    try:
        listed = await ctx.client.list(API_VERSION, KIND, ctx.namespace)
    except KubeError as error:
        raise from_kube_error(error) from error
    items = []
    for obj in sorted(listed.items, key=lambda o: str(o["metadata"]["name"])):
        target = rbac_object(obj)
        if not may_get(target):
            continue
        if wanted and target.partition("/")[0] not in wanted:
            continue
        if not labels_match((obj.get("metadata") or {}).get("labels") or {}):
            continue
        items.append(obj)
    return {"items": items, "metadata": {"resourceVersion": listed.resource_version}}


@router.post("/generate")
async def generate_applications(
    request: Request, caller: Caller, ctx: Ctx, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """The Applications an ApplicationSet would generate now; nothing is written."""
    appset, _ = parse_applicationset(_generate_body(body), ctx.namespace)
    await _authorise_create(ctx, caller, appset)
    return {"applications": await generation_of(request.app, ctx).generate(appset)}


@router.post("")
async def create_applicationset(
    request: Request,
    caller: Caller,
    ctx: Ctx,
    body: Annotated[dict[str, Any], Body()],
    upsert: bool = False,
    dryRun: bool = False,  # noqa: N803 - Argo CD's parameter name
) -> dict[str, Any]:
    """Create an ApplicationSet; a different existing one needs ``upsert``.

    ``dryRun`` writes nothing and answers the object with the Applications it would
    generate in ``status.resources``.
    """
    appset, wanted = parse_applicationset(body, ctx.namespace)
    await _authorise_create(ctx, caller, appset)
    if dryRun:
        apps = await generation_of(request.app, ctx).generate(appset)
        resources = [resource_entry(a) for a in apps]
        return wanted | {"status": {"resources": resources, "resourcesCount": len(resources)}}
    try:
        result = await ctx.client.create(wanted)
    except AlreadyExists:
        return await _replace_existing(ctx, caller, wanted, upsert=upsert)
    except KubeError as error:
        raise from_kube_error(error) from error
    await ctx.auditor.record(caller.username, Reason.CREATED, _subject(result), "created")
    return result


async def _replace_existing(
    ctx: ServerContext, caller: Principal, wanted: dict[str, Any], *, upsert: bool
) -> dict[str, Any]:
    """The create of an existing ApplicationSet: a no-op, a refusal or (upsert) an update.

    Labels and annotations are merged over the existing ones, as Argo CD does.
    """
    metadata = wanted["metadata"]
    name = metadata["name"]
    target = rbac_object(wanted)
    for _ in range(_ATTEMPTS):
        try:
            existing = await ctx.client.get(API_VERSION, KIND, name, ctx.namespace)
        except KubeError as error:  # deleted meanwhile included: the caller may retry
            raise from_kube_error(error) from error
        current = existing.get("metadata") or {}
        merged = {
            key: {**(current.get(key) or {}), **(metadata.get(key) or {})}
            for key in ("labels", "annotations")
        }
        if _normalised_spec(existing) == wanted["spec"] and all(
            (current.get(key) or {}) == merged[key] for key in merged
        ):
            return existing
        if not upsert:
            raise ConflictError(
                "existing ApplicationSet spec is different, use upsert flag to force update"
            )
        await ctx.enforce(caller, Resource.APPLICATIONSETS, Action.UPDATE, target)
        previous = rbac_object(existing)
        if previous != target:
            await ctx.enforce(caller, Resource.APPLICATIONSETS, Action.UPDATE, previous)
        existing["spec"] = wanted["spec"]
        for key, value in merged.items():
            existing["metadata"][key] = value
        try:
            result = await ctx.client.replace(existing)
        except Conflict:
            continue  # changed since read (the controller writes status): read again
        except KubeError as error:
            raise from_kube_error(error) from error
        await ctx.auditor.record(caller.username, Reason.UPDATED, _subject(result), "updated")
        return result
    raise ConflictError(f"failed to update applicationset {name}: too many concurrent writers")


@router.get("/{name}")
async def get_applicationset(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """One ApplicationSet, with its status (conditions, resources, rollout)."""
    return await load_applicationset(ctx, caller, name, Action.GET)


@router.delete("/{name}")
async def delete_applicationset(name: str, caller: Caller, ctx: Ctx) -> dict[str, Any]:
    """Delete an ApplicationSet; its controller then deletes or keeps its Applications.

    Generated Applications are owned by the ApplicationSet: they go with it unless its
    ``syncPolicy`` preserves them (the controller's finalizer sees to that).
    """
    obj = await load_applicationset(ctx, caller, name, Action.DELETE)
    try:
        await ctx.client.delete(API_VERSION, KIND, name, ctx.namespace)
    except NotFound:
        pass  # gone meanwhile: what was asked is done
    except KubeError as error:
        raise from_kube_error(error) from error
    await ctx.auditor.record(caller.username, Reason.DELETED, _subject(obj), "deleted")
    return {}
