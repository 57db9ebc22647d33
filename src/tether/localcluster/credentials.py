"""The cluster's credentials: CA, serving certificate, bearer token, kubeconfig.

On first start the data directory gets a certificate authority (``ca.crt``/``ca.key``),
a serving certificate it signs for ``127.0.0.1``, ``localhost`` and ``::1`` (plus the
listening host), and a random bearer token; later starts reuse them, so clients keep
trusting the cluster. Private keys and the token are written ``0600``. The kubeconfig
(context ``tether-local``) embeds the CA and the token, so ``kubectl``, lightkube and
tether use it unchanged.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONTEXT = "tether-local"
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class Credentials:
    """Paths of the credential files in a data directory."""

    data_dir: Path

    @property
    def ca_cert(self) -> Path:
        """The CA certificate clients trust."""
        return self.data_dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        """The CA's private key."""
        return self.data_dir / "ca.key"

    @property
    def server_cert(self) -> Path:
        """The serving certificate."""
        return self.data_dir / "server.crt"

    @property
    def server_key(self) -> Path:
        """The serving certificate's private key."""
        return self.data_dir / "server.key"

    @property
    def token_file(self) -> Path:
        """The bearer token."""
        return self.data_dir / "token"

    def token(self) -> str:
        """The bearer token's value."""
        return self.token_file.read_text().strip()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_credentials(data_dir: Path, host: str = "127.0.0.1") -> Credentials:
    """Create whatever credential files ``data_dir`` lacks; return their paths."""
    creds = Credentials(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    if not creds.ca_cert.exists() or not creds.ca_key.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tether-local-ca")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        _write_private(creds.ca_key, _key_pem(key))
        creds.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        creds.server_cert.unlink(missing_ok=True)
    if not creds.server_cert.exists() or not _covers(creds.server_cert, host):
        _issue_serving_cert(creds, host, now)
    if not creds.token_file.exists():
        _write_private(creds.token_file, secrets.token_urlsafe(32).encode() + b"\n")
    return creds


def _sans(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    addresses = {"127.0.0.1", "::1"}
    try:
        addresses.add(str(ipaddress.ip_address(host)))
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses)]
    return names


def _covers(cert_path: Path, host: str) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return all(name in sans for name in _sans(host))


def _issue_serving_cert(creds: Credentials, host: str, now: dt.datetime) -> None:
    ca_key = serialization.load_pem_private_key(creds.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(creds.ca_cert.read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(_sans(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(creds.server_key, _key_pem(key))
    creds.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def write_kubeconfig(path: Path, creds: Credentials, server: str) -> None:
    """Write a kubeconfig for ``server`` (``https://host:port``) with context ``tether-local``."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(
                        creds.ca_cert.read_bytes()
                    ).decode(),
                },
            }
        ],
        "users": [{"name": CONTEXT, "user": {"token": creds.token()}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": "default"},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    _write_private(tmp, yaml.safe_dump(config, sort_keys=False).encode())
    tmp.replace(path)
