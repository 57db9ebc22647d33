"""Real Git servers on loopback for tests: ``git daemon``, ``git http-backend``, ``sshd``.

:class:`GitServer` serves every bare repository under one folder five ways:

- ``git://127.0.0.1:<port>/<name>.git`` through ``git daemon``;
- ``http://127.0.0.1:<port>/<name>.git`` through ``git http-backend`` run as a CGI
  program behind a threaded stdlib HTTP server that demands Basic auth
  (:attr:`GitServer.username` / :attr:`GitServer.password`);
- ``https://`` the same, with a self-signed certificate;
- ``https://`` the same again, demanding a client certificate (:class:`LoopbackPKI`);
- ``file://<root>/<name>.git``.

:class:`SSHServer` adds ``ssh://`` through a loopback ``sshd`` with one accepted key.

:class:`RemoteRepo` is one repository on a server plus a working clone used to author
history with the real ``git`` program: :meth:`RemoteRepo.push`, tags, branch deletion,
force-pushes and commits reachable only by SHA. Repositories allow fetching any SHA
(``uploadpack.allowAnySHA1InWant``), as GitHub and GitLab do.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from tether.model import keys

GIT = shutil.which("git") or "git"
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"

#: Environment for every git command the fixtures run: no user or system config.
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Ada Author",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Cy Committer",
    "GIT_COMMITTER_EMAIL": "cy@example.com",
    "LC_ALL": "C",
}


def git(*args: str, cwd: Path | None = None, input_text: str | None = None) -> str:
    """Run git with the fixture environment; return stdout, raise on failure."""
    result = subprocess.run(
        [GIT, *args],
        cwd=cwd,
        env=GIT_ENV,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on ``port`` (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
) -> x509.Certificate:
    """A one-day certificate for ``subject``, self-signed unless ``issuer`` is given."""
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if subject == "127.0.0.1":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(subject))]),
            critical=False,
        )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    return builder.sign(issuer_key, hashes.SHA256())


class LoopbackPKI:
    """A self-signed server certificate for 127.0.0.1 and a CA that issues client certificates."""

    def __init__(self, folder: Path) -> None:
        server_key = ec.generate_private_key(ec.SECP256R1())
        ca_key = ec.generate_private_key(ec.SECP256R1())
        client_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("tether test client CA", ca_key)
        client = _certificate("tether-client", client_key, ("tether test client CA", ca_key))
        self.server_cert = folder / "server.crt"
        self.server_key = folder / "server.key"
        self.client_ca = folder / "client-ca.crt"
        self.server_cert.write_bytes(
            _certificate("127.0.0.1", server_key).public_bytes(serialization.Encoding.PEM)
        )
        self.server_key.write_bytes(_pem_key(server_key))
        self.client_ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        #: PEM text of a client certificate the mutual-TLS server accepts, and its key.
        self.client_cert_pem = client.public_bytes(serialization.Encoding.PEM).decode()
        self.client_key_pem = _pem_key(client_key).decode()

    def server_context(self, *, require_client_certificate: bool) -> ssl.SSLContext:
        """TLS settings for a test server."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_cert, self.server_key)
        if require_client_certificate:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.client_ca)
        return context


class _GitHTTPHandler(BaseHTTPRequestHandler):
    """Basic auth in front of ``git http-backend`` (CGI)."""

    server: _GitHTTPServer
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def _serve(self) -> None:
        self.server.requests += 1
        if not self._authorised():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self._read_body()
        parts = urlsplit(self.path)
        env = {
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.server.username,
            "REMOTE_ADDR": self.client_address[0],
        }
        if encoding := self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = encoding
        if protocol := self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = protocol
        result = subprocess.run(
            [HTTP_BACKEND], input=body, env=env, capture_output=True, timeout=60, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _authorised(self) -> bool:
        expected = f"{self.server.username}:{self.server.password}".encode()
        header = self.headers.get("Authorization", "")
        return header == "Basic " + base64.b64encode(expected).decode()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class _GitHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, username: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _GitHTTPHandler)
        self.root = root
        self.username = username
        self.password = password
        self.requests = 0


class GitServer:
    """``git daemon`` and an authenticated smart-HTTP server over one folder of repositories."""

    def __init__(self, root: Path) -> None:
        self.root = root / "served"
        self.work = root / "work"
        self.root.mkdir(parents=True)
        self.work.mkdir(parents=True)
        self.username = "tether-test"
        self.password = "pw-" + secrets.token_hex(8)
        self.git_port = free_port()
        self._daemon: subprocess.Popen[bytes] | None = None
        self._http: _GitHTTPServer | None = None
        self._https: _GitHTTPServer | None = None
        self._mtls: _GitHTTPServer | None = None
        self.http_port = 0
        self.https_port = 0
        self.mtls_port = 0
        self.pki = LoopbackPKI(self.work)

    def start(self) -> GitServer:
        """Start both servers and wait until they accept connections."""
        self._daemon = subprocess.Popen(
            [
                GIT,
                "daemon",
                "--reuseaddr",
                "--listen=127.0.0.1",
                f"--port={self.git_port}",
                f"--base-path={self.root}",
                "--export-all",
                str(self.root),
            ],
            env=GIT_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._http = _GitHTTPServer(self.root, self.username, self.password)
        self.http_port = int(self._http.server_address[1])
        self._https = _GitHTTPServer(self.root, self.username, self.password)
        self.https_port = int(self._https.server_address[1])
        self._https.socket = self.pki.server_context(require_client_certificate=False).wrap_socket(
            self._https.socket, server_side=True
        )
        self._mtls = _GitHTTPServer(self.root, self.username, self.password)
        self.mtls_port = int(self._mtls.server_address[1])
        self._mtls.socket = self.pki.server_context(require_client_certificate=True).wrap_socket(
            self._mtls.socket, server_side=True
        )
        for server in (self._http, self._https, self._mtls):
            # A short poll interval keeps stop() (and so every test that stops) quick.
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        wait_for_port(self.git_port)
        return self

    def stop(self) -> None:
        """Stop both servers; their ports then refuse connections."""
        if self._daemon is not None:
            self._daemon.terminate()
            self._daemon.wait(timeout=10)
            self._daemon = None
        for server in (self._http, self._https, self._mtls):
            if server is not None:
                server.shutdown()
                server.server_close()
        self._http = self._https = self._mtls = None

    @property
    def http_requests(self) -> int:
        """How many HTTP requests the smart-HTTP server has answered."""
        return self._http.requests if self._http else 0

    def create_repo(
        self, name: str | None = None, *, initial: Mapping[str, str] | None = None
    ) -> RemoteRepo:
        """A new repository with one commit on ``main`` (``initial`` files, or a README)."""
        repo = RemoteRepo(self, name or f"repo-{secrets.token_hex(4)}")
        repo.push(dict(initial) if initial else {"README.md": "# test\n"}, "initial commit")
        return repo


class RemoteRepo:
    """One served repository and a working clone to author its history."""

    def __init__(self, server: GitServer, name: str) -> None:
        self.server = server
        self.name = name
        self.bare = server.root / f"{name}.git"
        self.clone = server.work / name
        git("init", "--bare", "--initial-branch=main", "--quiet", str(self.bare))
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=self.bare)
        git("init", "--initial-branch=main", "--quiet", str(self.clone))
        git("remote", "add", "origin", str(self.bare), cwd=self.clone)

    @property
    def url_git(self) -> str:
        """``git://`` URL served by git daemon."""
        return f"git://127.0.0.1:{self.server.git_port}/{self.name}.git"

    @property
    def url_http(self) -> str:
        """Smart-HTTP URL (credentials required, not embedded)."""
        return f"http://127.0.0.1:{self.server.http_port}/{self.name}.git"

    @property
    def url_https(self) -> str:
        """Smart-HTTP over TLS with a self-signed certificate (credentials required)."""
        return f"https://127.0.0.1:{self.server.https_port}/{self.name}.git"

    @property
    def url_https_mtls(self) -> str:
        """Like :attr:`url_https`, but a client certificate is required.

        The server accepts ``server.pki.client_cert_pem`` with ``client_key_pem``.
        """
        return f"https://127.0.0.1:{self.server.mtls_port}/{self.name}.git"

    @property
    def url_http_with_credentials(self) -> str:
        """Smart-HTTP URL with the user name and password embedded."""
        return (
            f"http://{self.server.username}:{self.server.password}"
            f"@127.0.0.1:{self.server.http_port}/{self.name}.git"
        )

    @property
    def url_file(self) -> str:
        """``file://`` URL of the bare repository."""
        return f"file://{self.bare}"

    @property
    def username(self) -> str:
        """User name the HTTP server accepts."""
        return self.server.username

    @property
    def password(self) -> str:
        """Password the HTTP server accepts."""
        return self.server.password

    def git(self, *args: str) -> str:
        """Run git in the working clone."""
        return git(*args, cwd=self.clone)

    def push(
        self,
        files: Mapping[str, str | None],
        message: str,
        *,
        branch: str = "main",
        symlinks: Mapping[str, str] | None = None,
    ) -> str:
        """Commit ``files`` (``None`` deletes) and ``symlinks`` on ``branch``, push, return SHA."""
        self._switch(branch)
        for path, content in files.items():
            target = self.clone / path
            if content is None:
                self.git("rm", "-q", "--", path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", "--", path)
        for path, link_target in (symlinks or {}).items():
            link = self.clone / path
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(link_target)
            self.git("add", "--", path)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self.git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return self.git("rev-parse", "HEAD")

    def _switch(self, branch: str) -> None:
        if not self.git("for-each-ref", "--count=1", "refs/heads"):
            self.git("checkout", "-q", "-B", branch)  # unborn repository
        elif self.git("branch", "--list", branch):
            self.git("checkout", "-q", branch)
        else:
            self.git("checkout", "-q", "-b", branch)

    def head(self, branch: str = "main") -> str:
        """The SHA ``branch`` points at on the server."""
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.bare)

    def tag(self, name: str, ref: str = "main", *, message: str | None = None) -> str:
        """Create and push a tag (annotated when ``message`` is given); return the commit SHA."""
        args = ["tag", "-a", name, "-m", message, ref] if message else ["tag", name, ref]
        self.git(*args)
        self.git("push", "-q", "origin", f"refs/tags/{name}")
        return self.git("rev-parse", f"{name}^{{commit}}")

    def delete_branch(self, branch: str) -> None:
        """Delete ``branch`` on the server."""
        self.git("push", "-q", "origin", f":refs/heads/{branch}")

    def delete_tag(self, name: str) -> None:
        """Delete tag ``name`` on the server."""
        self.git("push", "-q", "origin", f":refs/tags/{name}")

    def force_push(self, branch: str, sha: str) -> None:
        """Point ``branch`` on the server at ``sha``, whatever it pointed at before."""
        self.git("push", "-q", "--force", "origin", f"{sha}:refs/heads/{branch}")

    def unreferenced_commit(self, files: Mapping[str, str], message: str) -> str:
        """A commit that exists on the server but is on no ref: reachable only by SHA."""
        temporary = f"tmp-{secrets.token_hex(4)}"
        base = self.git("rev-parse", "HEAD")
        sha = self.push(files, message, branch=temporary)
        self.delete_branch(temporary)
        self.git("checkout", "-q", base)
        self.git("branch", "-q", "-D", temporary)
        return sha


def repo_secret(
    url: str,
    username: str = "",
    password: str = "",
    *,
    secret_type: str = keys.SECRET_TYPE_REPOSITORY,
    name: str = "repo",
    **extra: str,
) -> dict[str, Any]:
    """An Argo CD repository (or, with ``secret_type``, repo-creds) Secret as a dict."""
    string_data = {"url": url, **extra}
    if username:
        string_data["username"] = username
    if password:
        string_data["password"] = password
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "labels": {keys.SECRET_TYPE_LABEL: secret_type},
        },
        "stringData": string_data,
    }


def http_creds_secret(server: GitServer) -> dict[str, Any]:
    """A repo-creds Secret covering every HTTP URL of ``server``."""
    return repo_secret(
        f"http://127.0.0.1:{server.http_port}/",
        server.username,
        server.password,
        secret_type=keys.SECRET_TYPE_REPO_CREDS,
        name="loopback-creds",
    )


SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def _openssh_private_key(key: ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


class SSHServer:
    """``sshd`` on loopback serving the repositories of a :class:`GitServer` over SSH.

    It runs as the current user and accepts one key, :attr:`client_private_key`.
    URLs look like ``ssh://<user>@127.0.0.1:<port>/<absolute path of the bare repo>``.
    Its host key is in no ``known_hosts`` file: clients must skip host-key checking.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True)
        host_key = ed25519.Ed25519PrivateKey.generate()
        client_key = ed25519.Ed25519PrivateKey.generate()
        (folder / "host_key").write_text(_openssh_private_key(host_key))
        self._host_public_key = host_key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        (folder / "host_key").chmod(0o600)
        public = client_key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        (folder / "authorized_keys").write_bytes(public + b"\n")
        #: The OpenSSH private key the server accepts.
        self.client_private_key = _openssh_private_key(client_key)
        self.user = (
            os.environ.get("USER")
            or subprocess.run(
                ["id", "-un"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        """Whether an ``sshd`` program is installed."""
        return Path(SSHD).is_file()

    def start(self) -> SSHServer:
        """Start sshd in the foreground and wait until it listens."""
        config = self.folder / "sshd_config"
        config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.folder / 'host_key'}\n"
            f"PidFile {self.folder / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.folder / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\n"
            "StrictModes no\n"
            "UsePAM no\n"
        )
        # sshd refuses to start without its privilege-separation folder.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self._process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop sshd."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    @property
    def known_hosts(self) -> str:
        """A ``known_hosts`` line that trusts this server's host key."""
        return f"[127.0.0.1]:{self.port} {self._host_public_key.decode()}\n"

    def url(self, repo: RemoteRepo) -> str:
        """The ``ssh://`` URL of ``repo``."""
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repo.bare}"
