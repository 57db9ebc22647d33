"""tether's bundled Lua checks: Argo CD's verdicts for widely used custom resources."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tether.health import BUNDLED_DIRECTORY, HealthOverrides, assess_health, load_overrides
from tether.model import Health, HealthStatus

FIXTURES = Path(__file__).resolve().parents[2] / "testdata" / "health" / "bundled"
H, P, D = HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED
READY = "Certificate is up to date and has not expired"

CASES: dict[str, Health] = {
    "certificate-healthy.yaml": Health(H, READY),
    "certificate-progressing.yaml": Health(P, "Waiting for certificate"),
    "certificate-progressing-issuing.yaml": Health(
        P, "Renewing certificate as renewal was scheduled at 2026-05-01 09:14:27 +0000 UTC"
    ),
    "certificate-degraded.yaml": Health(
        D,
        "The certificate request has failed to complete and will be retried: Failed to wait "
        'for order resource "shop-tls-1-3141592653" to become ready: order is in "errored" '
        "state: Failed to create Order: 429 urn:ietf:params:acme:error:rateLimited: Error "
        "creating new order :: too many certificates already issued",
    ),
    "clusterissuer-healthy.yaml": Health(H, "The ACME account was registered with the ACME server"),
    "clusterissuer-progressing.yaml": Health(P, "Initializing ClusterIssuer"),
    "issuer-degraded.yaml": Health(
        D,
        'Failed to register ACME account: Get "https://acme-v02.api.letsencrypt.org/directory": '
        "dial tcp: lookup acme-v02.api.letsencrypt.org: no such host",
    ),
    "sealedsecret-healthy.yaml": Health(H),
    "sealedsecret-degraded.yaml": Health(D, "no key could decrypt secret (password)"),
    "sealedsecret-progressing.yaml": Health(P, "Waiting for Sealed Secret to be decrypted"),
    "externalsecret-healthy.yaml": Health(H, "secret synced"),
    "externalsecret-degraded.yaml": Health(D, "could not get secret data from provider"),
    # refreshPolicy OnChange: a Ready condition older than the last refresh does not count
    "externalsecret-progressing-onchange.yaml": Health(P, "Waiting for ExternalSecret"),
}


@pytest.fixture(scope="module")
def bundled() -> HealthOverrides:
    return load_overrides()


@pytest.mark.parametrize(("fixture", "expected"), CASES.items(), ids=list(CASES))
def test_bundled_check(bundled: HealthOverrides, fixture: str, expected: Health) -> None:
    obj = yaml.safe_load((FIXTURES / fixture).read_text())
    assert assess_health(obj, overrides=bundled) == expected


def test_every_bundled_fixture_is_checked_and_every_check_has_fixtures() -> None:
    assert {path.name for path in FIXTURES.glob("*.yaml")} == set(CASES)
    kinds = {script.parent.name.lower() for script in BUNDLED_DIRECTORY.glob("*/*/health.lua")}
    assert kinds == {name.split("-")[0] for name in CASES}


def test_settings_and_operator_directories_come_before_the_bundled_checks(tmp_path: Path) -> None:
    kind = tmp_path / "cert-manager.io" / "Certificate"
    kind.mkdir(parents=True)
    (kind / "health.lua").write_text('return {status = "Suspended", message = "mine"}')
    obj = yaml.safe_load((FIXTURES / "certificate-healthy.yaml").read_text())
    mine = load_overrides(directory=tmp_path)
    assert assess_health(obj, overrides=mine) == Health(HealthStatus.SUSPENDED, "mine")
    settings = {
        "resource.customizations.health.cert-manager.io_Certificate": 'return {status = "Missing"}'
    }
    theirs = load_overrides(settings=settings, directory=tmp_path)
    assert assess_health(obj, overrides=theirs) == Health(HealthStatus.MISSING)
    assert load_overrides(bundled=False).find("cert-manager.io", "Certificate") is None
