"""The demo that ``tether up --demo`` installs: a local GitOps repository and its root app.

The repository is a copy of ``examples/gitops-repo`` committed into a fresh Git
repository under the data folder, once: a second ``tether up --demo`` on the same
folder finds it and reuses it, so the user's commits survive, and re-applying the root
Application and the key Secret changes nothing.

Before the first commit the demo

- replaces the placeholder ``REPO_URL`` in every YAML and JSON file with the clone URL
  of the new repository (Applications and ApplicationSets point at it);
- generates an age key (``<data dir>/demo/age.agekey``, readable by its owner only) and
  encrypts the ``data``/``stringData`` of every Secret under ``platform/secrets/`` with it,
  so that only ciphertext ever reaches Git.

:func:`install_demo` gives the key to tether as the ``tether-sops-age`` Secret of the
control namespace (key ``demo.agekey``, the layout Flux's decryption Secrets use) and
applies the root Application, which renders ``root/`` (a Helm chart, app-of-apps).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pyrage import x25519

from tether.kube import KubeClient, KubeError, NotFound
from tether.render.sops import SopsError, SopsRules, encrypt_document, is_encrypted

#: The demo repository in a source checkout of tether.
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "gitops-repo"
ROOT_APP = "root"
#: The placeholder the example files use for the demo repository's URL.
REPO_URL_PLACEHOLDER = "REPO_URL"
#: The Secret whose ``*.agekey`` entries tether decrypts SOPS files with.
SOPS_SECRET = "tether-sops-age"
SOPS_SECRET_KEY = "demo.agekey"
#: Folder (in the repository) whose Secrets are encrypted before the first commit.
SECRETS_FOLDER = "platform/secrets"
#: SOPS rule: encrypt the values, leave kind and metadata readable (as teams do).
SECRET_RULES = SopsRules(encrypted_regex="^(data|stringData)$")
_TEXT_SUFFIXES = (".yaml", ".yml", ".json")
_SETTLING_HEALTH = ("Progressing", "Missing")


class DemoError(RuntimeError):
    """The demo could not be prepared."""


@dataclass(frozen=True, slots=True)
class Demo:
    """Where the demo repository is and how tether reaches it."""

    work_tree: Path
    repo_url: str
    #: The age identity (``AGE-SECRET-KEY-1...``) that decrypts the demo's Secrets.
    age_key_file: Path


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=tether demo", "-c", "user.email=demo@tether.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise DemoError(f"failed to run git {args[0]} in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def prepare_repository(data_dir: Path) -> Demo:
    """The demo's Git repository under ``data_dir`` (created from the examples once)."""
    folder = data_dir / "demo"
    bare = folder / "gitops-repo.git"
    work = folder / "gitops-repo"
    demo = Demo(work, f"file://{bare}", folder / "age.agekey")
    if bare.exists():
        if not demo.age_key_file.is_file():
            raise DemoError(
                f"failed to reuse the demo in {folder}: its age key {demo.age_key_file} is "
                "missing (remove the folder to start the demo afresh)"
            )
        return demo
    if not EXAMPLES.is_dir():
        raise DemoError(f"failed to find the demo repository: {EXAMPLES} does not exist")
    if work.exists():  # left over by an attempt that stopped before the push
        shutil.rmtree(work)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLES, work)
    _fill_placeholders(work, demo.repo_url)
    identity = _write_age_key(demo.age_key_file)
    _encrypt_secrets(work / SECRETS_FOLDER, str(identity.to_public()))
    _git("init", "--initial-branch=main", "--quiet", cwd=work)
    _git("add", "-A", cwd=work)
    _git("commit", "--quiet", "-m", "chore: demo GitOps repository", cwd=work)
    # The bare repository appears last: its presence marks a finished preparation.
    staging = folder / "gitops-repo.git.partial"
    shutil.rmtree(staging, ignore_errors=True)
    _git("init", "--bare", "--initial-branch=main", "--quiet", str(staging), cwd=folder)
    _git("push", "--quiet", str(staging), "main", cwd=work)
    staging.rename(bare)
    _git("remote", "add", "origin", str(bare), cwd=work)
    _git("fetch", "--quiet", "origin", cwd=work)
    _git("branch", "--quiet", "--set-upstream-to=origin/main", "main", cwd=work)
    return demo


def _fill_placeholders(work: Path, repo_url: str) -> None:
    for path in sorted(work.rglob("*")):
        if path.is_file() and path.suffix in _TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8")
            if REPO_URL_PLACEHOLDER in text:
                path.write_text(text.replace(REPO_URL_PLACEHOLDER, repo_url), encoding="utf-8")


def _write_age_key(path: Path) -> x25519.Identity:
    identity = x25519.Identity.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(f"# public key: {identity.to_public()}\n{identity}\n")
    return identity


def _encrypt_secrets(folder: Path, recipient: str) -> None:
    for path in sorted(folder.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(document, Mapping) or is_encrypted(document):
            continue
        try:
            encrypted = encrypt_document(
                document, [recipient], rules=SECRET_RULES, name=str(path.name)
            )
        except SopsError as error:
            raise DemoError(f"failed to encrypt {path}: {error}") from error
        path.write_text(yaml.safe_dump(encrypted, sort_keys=False), encoding="utf-8")


def root_application(repo_url: str, namespace: str) -> dict[str, Any]:
    """The app-of-apps root: the Helm chart in ``root/``."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": ROOT_APP, "namespace": namespace},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": "root", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def sops_key_secret(demo: Demo, namespace: str) -> dict[str, Any]:
    """The Secret that hands the demo's age key to tether's renderer."""
    try:
        key = demo.age_key_file.read_bytes()
    except OSError as error:
        raise DemoError(f"failed to read the demo age key {demo.age_key_file}: {error}") from None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": SOPS_SECRET,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "argocd"},
        },
        "type": "Opaque",
        "data": {SOPS_SECRET_KEY: base64.b64encode(key).decode()},
    }


async def provision_sops_key(client: KubeClient, demo: Demo, namespace: str) -> None:
    """Create or update the ``tether-sops-age`` Secret (idempotent)."""
    try:
        await client.apply(sops_key_secret(demo, namespace))
    except KubeError as error:
        raise DemoError(f"failed to apply Secret/{namespace}/{SOPS_SECRET}: {error}") from error


async def install_demo(client: KubeClient, demo: Demo, namespace: str) -> None:
    """Provision the age key and apply the root Application (both idempotent)."""
    await provision_sops_key(client, demo, namespace)
    await client.apply(root_application(demo.repo_url, namespace))


async def wait_settled(client: KubeClient, namespace: str, seconds: float) -> list[dict[str, Any]]:
    """Wait (at most ``seconds``) until the demo has settled, and return its Applications.

    Settled: the root and at least one child exist, every ApplicationSet has reported
    on its Applications, and every Application is settled (:func:`is_settled`). The
    Applications are returned as last seen, settled or not.
    """
    apps: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                apps = await _list(client, "Application", namespace)
                appsets = await _list(client, "ApplicationSet", namespace)
                if (
                    len(apps) > 1
                    and all(is_settled(app) for app in apps)
                    and all(_appset_reported(appset) for appset in appsets)
                ):
                    return apps
                await asyncio.sleep(0.25)
    except TimeoutError:
        return apps


async def _list(client: KubeClient, kind: str, namespace: str) -> list[dict[str, Any]]:
    try:
        return (await client.list("argoproj.io/v1alpha1", kind, namespace)).items
    except NotFound:
        return []


def is_settled(app: Mapping[str, Any]) -> bool:
    """Whether an Application has come to rest.

    A Synced app that is Degraded is settled (even while its sync waits for it to
    recover: waiting will not change it). An automated app is settled once Synced and
    neither Progressing nor Missing. An app synced by hand is
    settled once compared, whatever the comparison says; nothing happens until someone
    syncs it.
    """
    status = app.get("status") or {}
    operation = (status.get("operationState") or {}).get("phase")
    sync = (status.get("sync") or {}).get("status")
    health = (status.get("health") or {}).get("status")
    if not status.get("reconciledAt"):
        return False
    if sync == "Synced" and health == "Degraded":
        # A sync that waits for a Degraded object to recover waits for a person.
        return True
    if operation == "Running":
        return False
    automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated") is not None
    if automated:
        return sync == "Synced" and health not in (None, *_SETTLING_HEALTH)
    return sync in ("Synced", "OutOfSync") and health not in (None, "Progressing")


def _appset_reported(appset: Mapping[str, Any]) -> bool:
    conditions = (appset.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "ResourcesUpToDate" for c in conditions)
