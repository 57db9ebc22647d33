"""The ``git`` program, for what libgit2 cannot do.

- Fetch a commit by SHA: a commit that is on no ref (a force-pushed-away commit, a pull
  request merge commit) can only be fetched by naming it, which libgit2's fetch does not
  support. The ``git`` program can, if the server allows it (GitHub, GitLab and
  ``uploadpack.allowAnySHA1InWant`` do).
- Present a TLS client certificate (``tlsClientCertData`` / ``tlsClientCertKey``):
  :class:`CliRemote` then lists and fetches refs for the mirror instead of libgit2.

Credentials reach that one process through its environment and a ``GIT_ASKPASS``
helper that prints them; they never appear on its command line or in the URL, and every
other credential source (user and system config, helpers, terminal prompts) is off.
An SSH key or client certificate key is written to a private (``0600``) file in a
private folder that lives only as long as the process.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from types import MappingProxyType

import pygit2

from tether.source.credentials import Credentials
from tether.source.errors import RepositoryUnreachable
from tether.source.mirror import MIRROR_REFSPEC, RefSnapshot
from tether.source.transport import DEFAULT_TOKEN_USER, translate_error
from tether.source.urls import RepoURL, Scheme

_ASKPASS = """#!/bin/sh
# Prints the credentials given to this git process through its environment.
case "$1" in
  Username*) printf '%s\\n' "$TETHER_GIT_USERNAME" ;;
  *) printf '%s\\n' "$TETHER_GIT_PASSWORD" ;;
esac
"""


class GitCLI:
    """Runs ``git fetch <url> <sha>`` into a mirror with in-process credentials."""

    def __init__(
        self, helper_dir: Path, git: str | None = None, known_hosts: Path | None = None
    ) -> None:
        """Keep the askpass helper in ``helper_dir``; use ``git`` (default: from PATH).

        ``known_hosts`` is the only file SSH host keys are checked against (default: the
        user's own ``~/.ssh/known_hosts``).
        """
        self._git = git or shutil.which("git") or "git"
        self._helper_dir = helper_dir
        self._askpass = helper_dir / "askpass.sh"
        self._known_hosts = known_hosts
        self._askpass_lock = threading.Lock()

    def _ensure_askpass(self) -> Path:
        # Fetches run in several threads; one writes the helper, the others wait.
        with self._askpass_lock:
            if not self._askpass.exists():
                self._helper_dir.mkdir(parents=True, exist_ok=True)
                temporary = self._askpass.with_suffix(f".{os.getpid()}.tmp")
                temporary.write_text(_ASKPASS)
                temporary.chmod(0o700)
                temporary.replace(self._askpass)
        return self._askpass

    def fetch_commit(
        self, mirror: Path, url: RepoURL, credentials: Credentials, sha: str, timeout: float
    ) -> None:
        """Fetch commit ``sha`` (and its history) from ``url`` into the bare ``mirror``."""
        self.run(
            ["--git-dir", str(mirror), "fetch", "--quiet", "--no-tags", "--no-write-fetch-head"],
            url,
            [sha],
            credentials,
            timeout,
        )

    def ls_remote(self, url: RepoURL, credentials: Credentials, timeout: float) -> RefSnapshot:
        """The remote's refs and ``HEAD`` target (``git ls-remote --symref``)."""
        output = self.run(["ls-remote", "--symref"], url, [], credentials, timeout)
        refs: dict[str, str] = {}
        head = ""
        for line in output.splitlines():
            left, _, name = line.partition("\t")
            if left.startswith("ref: ") and name == "HEAD":
                head = left.removeprefix("ref: ").strip()
            elif name.startswith("refs/") and not name.endswith("^{}"):
                refs[name] = left.strip()
        return RefSnapshot(MappingProxyType(refs), head)

    def fetch_all(
        self, mirror: Path, url: RepoURL, credentials: Credentials, timeout: float
    ) -> None:
        """Fetch ``+refs/*:refs/*`` with pruning into the bare ``mirror``."""
        self.run(
            ["--git-dir", str(mirror), "fetch", "--quiet", "--prune", "--no-write-fetch-head"],
            url,
            [MIRROR_REFSPEC],
            credentials,
            timeout,
        )

    def run(
        self,
        command: list[str],
        url: RepoURL,
        after_url: list[str],
        credentials: Credentials,
        timeout: float,
    ) -> str:
        """Run ``git <command> <url> <after_url...>`` with credentials; return stdout."""
        with tempfile.TemporaryDirectory(prefix="tether-git-") as folder:
            private = Path(folder)
            env = self._environment(private, url, credentials)
            args = [self._git, "-c", "credential.helper=", *self._tls_options(private, credentials)]
            args += [*command, url.transport_url, *after_url]
            try:
                result = subprocess.run(
                    args, env=env, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired:
                raise RepositoryUnreachable(url.redacted, f"timed out after {timeout:g}s") from None
        if result.returncode != 0:
            cause = RuntimeError(result.stderr.strip() or f"git exited with {result.returncode}")
            raise translate_error(cause, url, credentials, timeout) from None
        return result.stdout

    @staticmethod
    def _tls_options(private: Path, credentials: Credentials) -> list[str]:
        options = []
        if credentials.insecure:
            options += ["-c", "http.sslVerify=false"]
        if credentials.tls_client_cert_data:
            certificate = _private_file(private / "client.crt", credentials.tls_client_cert_data)
            options += ["-c", f"http.sslCert={certificate}"]
        if credentials.tls_client_cert_key:
            key = _private_file(private / "client.key", credentials.tls_client_cert_key)
            options += ["-c", f"http.sslKey={key}"]
        return options

    def _environment(self, private: Path, url: RepoURL, credentials: Credentials) -> dict[str, str]:
        home = private / "home"
        home.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": str(self._ensure_askpass()),
            "TETHER_GIT_USERNAME": credentials.username
            or (DEFAULT_TOKEN_USER if credentials.password else ""),
            "TETHER_GIT_PASSWORD": credentials.password,
        }
        if url.scheme is Scheme.SSH:
            ssh = ["ssh", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"]
            if credentials.ssh_private_key:
                key = _private_file(private / "id", credentials.ssh_private_key)
                ssh += ["-i", str(key)]
            if credentials.insecure:
                ssh += ["-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={os.devnull}"]
            elif self._known_hosts is not None:
                ssh += ["-o", "StrictHostKeyChecking=yes"]
                ssh += ["-o", f"UserKnownHostsFile={self._known_hosts}"]
            env["GIT_SSH_COMMAND"] = shlex.join(ssh)
        return env


def _private_file(path: Path, content: str) -> Path:
    """Write ``content`` to a new file only the owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content.rstrip("\n") + "\n")
    return path


class CliRemote:
    """:class:`~tether.source.mirror.RemoteAccess` through the ``git`` program.

    Used for what libgit2 cannot present: TLS client certificates.
    """

    def __init__(self, cli: GitCLI, url: RepoURL, credentials: Credentials, timeout: float) -> None:
        """Reach ``url`` with ``credentials``; each git process gets ``timeout`` seconds."""
        self._cli = cli
        self._url = url
        self._credentials = credentials
        self._timeout = timeout

    def list_refs(self, repo: pygit2.Repository) -> RefSnapshot:
        """The remote's refs and ``HEAD`` target."""
        return self._cli.ls_remote(self._url, self._credentials, self._timeout)

    def fetch_all(self, repo: pygit2.Repository, path: Path) -> None:
        """Fetch every ref with pruning."""
        self._cli.fetch_all(path, self._url, self._credentials, self._timeout)
