"""``tether image set`` and ``tether promote``: change image tags in Git, not in the cluster.

Both edit a local working copy of the repository an Application renders (``--repo``,
by default the current folder), then optionally commit and push, so that the change
reaches the cluster the GitOps way:

- ``tether image set APP IMAGE=TAG`` sets the tag of ``IMAGE`` in the ``images:`` list
  of the Kustomize overlay the Application renders (adding an entry when there is
  none), or, with ``--helm-key image.tag``, that key of the chart's first value file;
- ``tether promote APP --from dev --to staging`` copies every ``images:`` entry of the
  ``dev`` overlay into the sibling ``staging`` overlay (the Application edited is
  ``APP-staging``, or ``APP`` when that does not exist).

Files are edited with ``ruamel.yaml`` round-tripping, so comments, key order and
quoting survive. The Application manifest is read from the cluster with
``--kubeconfig``, otherwise from the YAML files of the working copy.

Edits are refused (exit code 2, nothing written) when the working copy has uncommitted
changes to tracked files, when the Application's source is not this working copy (its
``repoURL`` is none of the remotes, it is a Helm repository chart, its path is missing)
or when its ``targetRevision`` is not the branch checked out. ``--push`` implies
``--commit``; the commit message is conventional:
``chore(<app>): set <image> to <tag>``.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from tether.kube import ConfigError, KubeClient, KubeError, NotFound, load_kubeconfig
from tether.model.patterns import normalize_git_url

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PromotionError(Exception):
    """An edit that was refused or failed; nothing was committed."""


@dataclass(frozen=True, slots=True)
class Change:
    """One value changed in one file of the working copy."""

    file: Path
    field: str
    old: str | None
    new: str

    def describe(self, root: Path) -> str:
        """``path: field old -> new``, relative to the working copy."""
        return f"{self.file.relative_to(root)}: {self.field} {self.old or '(unset)'} -> {self.new}"


@dataclass(frozen=True, slots=True)
class Target:
    """The part of a working copy an Application renders."""

    app: str
    folder: Path
    remote: str
    source: Mapping[str, Any]


class WorkingCopy:
    """A Git working copy, driven through the ``git`` command (the user's own config)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def git(self, *args: str) -> str:
        """Run ``git`` in the working copy and return its output."""
        result = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise PromotionError(f"failed to run git {args[0]} in {self.root}: {result.stderr}")
        return result.stdout.strip()

    def check_clean(self) -> None:
        """Refuse a working copy with uncommitted changes to tracked files."""
        dirty = self.git("status", "--porcelain", "--untracked-files=no")
        if dirty:
            files = ", ".join(line[3:] for line in dirty.splitlines()[:5])
            raise PromotionError(
                f"failed to edit {self.root}: the working copy has uncommitted changes "
                f"({files}); commit or discard them first"
            )

    def remotes(self) -> dict[str, str]:
        """Remote name to normalised URL (``file://`` and plain paths compare equal)."""
        found: dict[str, str] = {}
        for line in self.git("remote", "-v").splitlines():
            name, url, *_ = line.split()
            found[name] = _normalise_url(url)
        return found

    def branch(self) -> str:
        """The branch checked out (empty when HEAD is detached)."""
        return self.git("branch", "--show-current")

    def commit(self, changes: list[Change], message: str) -> str:
        """Commit exactly the changed files; return the new commit's SHA."""
        paths = sorted({str(c.file.relative_to(self.root)) for c in changes})
        self.git("add", "--", *paths)
        self.git("commit", "--quiet", "-m", message, "--", *paths)
        return self.git("rev-parse", "HEAD")

    def push(self, remote: str) -> None:
        """Push the current branch to ``remote``."""
        self.git("push", "--quiet", remote, "HEAD")


def _normalise_url(url: str) -> str:
    if url.startswith("/"):
        url = "file://" + url
    return normalize_git_url(url).rstrip("/")


def _yaml_documents(root: Path) -> Iterator[Mapping[str, Any]]:
    for path in sorted(root.rglob("*.y*ml")):
        if ".git" in path.relative_to(root).parts:
            continue
        try:
            documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue  # a template, not a manifest
        yield from (d for d in documents if isinstance(d, Mapping))


def application_from_repo(root: Path, name: str) -> Mapping[str, Any] | None:
    """The Application called ``name`` among the working copy's YAML files."""
    for document in _yaml_documents(root):
        metadata = document.get("metadata") or {}
        if document.get("kind") == "Application" and metadata.get("name") == name:
            return document
    return None


async def application_from_cluster(
    kubeconfig: Path, context: str | None, namespace: str, name: str
) -> Mapping[str, Any] | None:
    """The Application called ``name`` in the cluster, or ``None``."""
    async with KubeClient(load_kubeconfig(kubeconfig, context)) as client:
        try:
            return await client.get("argoproj.io/v1alpha1", "Application", name, namespace)
        except NotFound:
            return None


def edit_target(app: Mapping[str, Any], copy: WorkingCopy) -> Target:
    """Where ``app``'s source lives in ``copy``, or why it cannot be edited there."""
    name = app["metadata"]["name"]
    what = f"Application/{app['metadata'].get('namespace', '')}/{name}"
    spec = app.get("spec") or {}
    sources = [spec["source"]] if spec.get("source") else list(spec.get("sources") or [])
    remotes = copy.remotes()
    for source in sources:
        url = _normalise_url(str(source.get("repoURL", "")))
        remote = next((r for r, u in remotes.items() if u == url), None)
        if remote is None or source.get("chart") or source.get("path") is None:
            continue
        folder = (copy.root / source["path"]).resolve()
        if not folder.is_relative_to(copy.root) or not folder.is_dir():
            raise PromotionError(
                f"failed to edit {what}: its path {source['path']} is not a folder of {copy.root}"
            )
        revision = str(source.get("targetRevision") or "HEAD")
        branch = copy.branch()
        if revision != "HEAD" and revision != branch:
            raise PromotionError(
                f"failed to edit {what}: it follows {revision}, the working copy has "
                f"{branch or 'a detached HEAD'} checked out"
            )
        return Target(name, folder, remote, source)
    urls = ", ".join(str(s.get("repoURL")) for s in sources) or "no source"
    raise PromotionError(
        f"failed to edit {what}: its source ({urls}) is not a Git path of this working copy "
        f"(remotes: {', '.join(sorted(set(remotes.values()))) or 'none'})"
    )


def _round_trip() -> YAML:
    editor = YAML()  # round-trip mode: comments, order and quoting are kept
    editor.preserve_quotes = True
    editor.width = 4096
    editor.indent(mapping=2, sequence=4, offset=2)
    return editor


def _load(path: Path) -> tuple[YAML, Any]:
    editor = _round_trip()
    try:
        return editor, editor.load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as error:
        raise PromotionError(f"failed to read {path}: {error}") from None


def _dump(editor: YAML, document: Any, path: Path) -> None:
    with path.open("w", encoding="utf-8") as file:
        editor.dump(document, file)


def kustomization_file(folder: Path) -> Path:
    """The Kustomization of ``folder``; an error when it has none."""
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    raise PromotionError(f"failed to find a kustomization in {folder}")


def _set_scalar(mapping: CommentedMap, key: str, value: str) -> str | None:
    """Set ``key``, keeping the old value's quoting style; return the old value."""
    old = mapping.get(key)
    style = getattr(old, "style", None)
    if style:
        quoted = DoubleQuotedScalarString if style == '"' else SingleQuotedScalarString
        mapping[key] = quoted(value)
    else:
        mapping[key] = value
    return None if old is None else str(old)


def set_kustomize_image(folder: Path, image: str, tag: str) -> list[Change]:
    """Set ``image``'s ``newTag`` in the ``images:`` of ``folder``'s Kustomization."""
    path = kustomization_file(folder)
    editor, document = _load(path)
    images = document.get("images")
    if images is None:
        images = document["images"] = CommentedSeq()
    entry = next((e for e in images if e.get("name") == image), None)
    if entry is None:
        entry = CommentedMap(name=image)
        images.append(entry)
    if str(entry.get("newTag")) == tag:
        return []
    old = _set_scalar(entry, "newTag", tag)
    _dump(editor, document, path)
    return [Change(path, f"images[{image}].newTag", old, tag)]


def set_helm_value(folder: Path, source: Mapping[str, Any], key: str, tag: str) -> list[Change]:
    """Set the dotted ``key`` (``image.tag``) in the chart's first value file."""
    value_files = list((source.get("helm") or {}).get("valueFiles") or []) or ["values.yaml"]
    path = (folder / value_files[0]).resolve()
    if not path.is_file():
        raise PromotionError(f"failed to find the value file {value_files[0]} in {folder}")
    editor, document = _load(path)
    *parents, leaf = key.split(".")
    node = document
    for part in parents:
        if not isinstance(node.get(part), Mapping):
            node[part] = CommentedMap()
        node = node[part]
    if str(node.get(leaf)) == tag:
        return []
    old = _set_scalar(node, leaf, tag)
    _dump(editor, document, path)
    return [Change(path, key, old, tag)]


def copy_images(source_folder: Path, target_folder: Path) -> list[Change]:
    """Copy every ``images:`` entry of one Kustomization into another."""
    _, source = _load(kustomization_file(source_folder))
    path = kustomization_file(target_folder)
    editor, target = _load(path)
    images = target.get("images")
    if images is None:
        images = target["images"] = CommentedSeq()
    changes: list[Change] = []
    for wanted in source.get("images") or ():
        name = wanted.get("name")
        entry = next((e for e in images if e.get("name") == name), None)
        if entry is None:
            entry = CommentedMap(name=name)
            images.append(entry)
        for field in ("newName", "newTag", "digest"):
            if field in wanted and str(entry.get(field)) != str(wanted[field]):
                old = _set_scalar(entry, field, str(wanted[field]))
                changes.append(Change(path, f"images[{name}].{field}", old, str(wanted[field])))
    if changes:
        _dump(editor, target, path)
    return changes


def _find_application(
    name: str, copy: WorkingCopy, kubeconfig: Path | None, context: str | None, namespace: str
) -> Mapping[str, Any] | None:
    if kubeconfig is None:
        return application_from_repo(copy.root, name)
    try:
        return asyncio.run(application_from_cluster(kubeconfig, context, namespace, name))
    except (ConfigError, KubeError) as error:
        raise PromotionError(f"failed to read Application/{namespace}/{name}: {error}") from None


def _finish(
    copy: WorkingCopy, target: Target, changes: list[Change], message: str, commit: bool, push: bool
) -> None:
    if not changes:
        typer.echo(f"nothing to change: {target.app} already has these images")
        return
    for change in changes:
        typer.echo(f"changed {change.describe(copy.root)}")
    if not (commit or push):
        typer.echo("not committed (use --commit or --push)")
        return
    sha = copy.commit(changes, message)
    typer.echo(f"committed {sha[:12]} {message}")
    if push:
        copy.push(target.remote)
        typer.echo(f"pushed {copy.branch() or 'HEAD'} to {target.remote}")


RepoOption = Annotated[Path, typer.Option("--repo", help="Working copy of the repository.")]
KubeconfigOption = Annotated[
    Path | None, typer.Option("--kubeconfig", help="Read the Application from this cluster.")
]
ContextOption = Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")]
NamespaceOption = Annotated[
    str, typer.Option("--app-namespace", help="Namespace of the Application in the cluster.")
]
CommitOption = Annotated[bool, typer.Option("--commit", help="Commit the change.")]
PushOption = Annotated[bool, typer.Option("--push", help="Commit and push the change.")]
MessageOption = Annotated[str | None, typer.Option("--message", "-m", help="Commit message.")]

image_app = typer.Typer(name="image", help="Change image tags in Git.", no_args_is_help=True)


@image_app.command("set")
def image_set_command(
    app: Annotated[str, typer.Argument(help="Application whose source to edit.")],
    assignment: Annotated[str, typer.Argument(metavar="IMAGE=TAG", help="Image and new tag.")],
    helm_key: Annotated[
        str | None, typer.Option("--helm-key", help="Set this values key (image.tag) instead.")
    ] = None,
    repo: RepoOption = Path("."),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    namespace: NamespaceOption = "argocd",
    commit: CommitOption = False,
    push: PushOption = False,
    message: MessageOption = None,
) -> None:
    """Set the tag of an image in an Application's Kustomize overlay or Helm values."""
    image, separator, tag = assignment.rpartition("=")
    try:
        if not separator or not image or not tag:
            raise PromotionError(f"failed to parse {assignment!r}: expected IMAGE=TAG")
        copy = WorkingCopy(repo)
        copy.check_clean()
        manifest = _find_application(app, copy, kubeconfig, context, namespace)
        if manifest is None:
            raise PromotionError(f"failed to find Application {app}")
        target = edit_target(manifest, copy)
        if helm_key:
            changes = set_helm_value(target.folder, target.source, helm_key, tag)
        else:
            changes = set_kustomize_image(target.folder, image, tag)
        _finish(
            copy, target, changes, message or f"chore({app}): set {image} to {tag}", commit, push
        )
    except PromotionError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


def promote_command(
    app: Annotated[str, typer.Argument(help="Application (or its name without -ENV).")],
    source_env: Annotated[str, typer.Option("--from", help="Overlay to copy images from.")],
    target_env: Annotated[str, typer.Option("--to", help="Overlay to copy images into.")],
    repo: RepoOption = Path("."),
    kubeconfig: KubeconfigOption = None,
    context: ContextOption = None,
    namespace: NamespaceOption = "argocd",
    commit: CommitOption = False,
    push: PushOption = False,
    message: MessageOption = None,
) -> None:
    """Copy the image tags of one Kustomize overlay into another (dev to staging, ...)."""
    try:
        copy = WorkingCopy(repo)
        copy.check_clean()
        name = f"{app}-{target_env}"
        manifest = _find_application(name, copy, kubeconfig, context, namespace)
        if manifest is None:
            name = app
            manifest = _find_application(name, copy, kubeconfig, context, namespace)
        if manifest is None:
            raise PromotionError(f"failed to find Application {app}-{target_env} or {app}")
        target = edit_target(manifest, copy)
        if target.folder.name != target_env:
            raise PromotionError(
                f"failed to promote {name}: its path {target.source['path']} is not an "
                f"overlay named {target_env}"
            )
        source_folder = target.folder.parent / source_env
        if not source_folder.is_dir():
            raise PromotionError(f"failed to promote {name}: there is no overlay {source_env}")
        changes = copy_images(source_folder, target.folder)
        default = f"chore({name}): promote images from {source_env} to {target_env}"
        _finish(copy, target, changes, message or default, commit, push)
    except PromotionError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
