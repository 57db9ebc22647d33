"""``tether local-cluster serve``: credentials, kubeconfig, port file, clean shutdown."""

from __future__ import annotations

import ipaddress
import stat
import subprocess
from pathlib import Path

import yaml
from cryptography import x509

from .conftest import TETHER, start_cluster


def test_serve_writes_credentials_kubeconfig_and_port_then_stops_cleanly(
    tmp_path: Path,
) -> None:
    cluster = start_cluster(tmp_path / "cluster")
    try:
        data_dir = cluster.data_dir
        assert (data_dir / "port").read_text().strip() == str(cluster.port)
        for secret in ("token", "ca.key", "server.key"):
            assert stat.S_IMODE((data_dir / secret).stat().st_mode) == 0o600, secret

        config = yaml.safe_load(cluster.kubeconfig.read_text())
        assert config["current-context"] == "tether-local"
        [context] = config["contexts"]
        assert context["name"] == "tether-local"
        [entry] = config["clusters"]
        assert entry["cluster"]["server"] == cluster.base_url
        assert config["users"][0]["user"]["token"] == cluster.token

        cert = x509.load_pem_x509_certificate((data_dir / "server.crt").read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert set(sans.get_values_for_type(x509.DNSName)) == {"localhost"}
        assert set(sans.get_values_for_type(x509.IPAddress)) == {
            ipaddress.ip_address("127.0.0.1"),
            ipaddress.ip_address("::1"),
        }
        first_token = cluster.token
    finally:
        assert cluster.stop() == 0

    again = start_cluster(tmp_path / "cluster")
    try:
        assert again.token == first_token  # credentials are reused, clients keep working
    finally:
        assert again.stop() == 0


def test_a_second_server_on_the_same_data_or_port_refuses_to_start(tmp_path: Path) -> None:
    first = start_cluster(tmp_path / "cluster")
    try:
        for data_dir, port, message in (
            (first.data_dir, "0", "another local cluster is using this data directory"),
            (tmp_path / "other", str(first.port), "Address already in use"),
        ):
            second = subprocess.run(
                [
                    str(TETHER),
                    "local-cluster",
                    "serve",
                    "--data-dir",
                    str(data_dir),
                    "--port",
                    port,
                ],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert second.returncode == 2
            assert second.stderr.startswith(f"failed to serve local cluster {data_dir}: ")
            assert message in second.stderr
    finally:
        assert first.stop() == 0
