"""Shared pieces of the diff tests: fixture files, one jq worker and one schema per session,
and a real local cluster for the server-side apply round trips."""

from __future__ import annotations

import base64
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tether.diff import JqRunner, OpenAPISchema, ResourceDiff

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "diff"
HARNESS = Path(__file__).resolve().parents[1] / "localcluster" / "conftest.py"


def _cluster_harness() -> Any:
    """The local-cluster harness of tests/localcluster, loaded as a module of its own."""
    name = "_diff_local_cluster_harness"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HARNESS)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running ``tether local-cluster serve`` for one test module."""
    running = _cluster_harness().start_cluster(tmp_path_factory.mktemp("diff-cluster"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def jq_runner() -> Iterator[JqRunner]:
    with JqRunner() as runner:
        yield runner


@pytest.fixture(scope="session")
def openapi_schema() -> OpenAPISchema:
    return OpenAPISchema.bundled()


@pytest.fixture
def load_case() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load((TESTDATA / f"{name}.yaml").read_text())
        return loaded

    return load


def exposed(result: ResourceDiff) -> str:
    """Everything a result exposes, as one string."""
    forms = orjson.dumps([result.desired, result.live, result.predicted]).decode()
    return "\n".join([forms, result.diff, *result.paths, repr(result)])


def leaks(secrets: list[str], text: str) -> list[str]:
    """The secrets that occur in ``text`` in plaintext or base64."""
    found = []
    for secret in secrets:
        encoded = base64.b64encode(secret.encode()).decode()
        if secret in text or encoded in text:
            found.append(secret)
    return found


@pytest.fixture
def assert_no_leak() -> Callable[[list[str], ResourceDiff | str], None]:
    """Assert that no secret, nor its base64, occurs in a result or a message."""

    def check(secrets: list[str], subject: ResourceDiff | str) -> None:
        text = subject if isinstance(subject, str) else exposed(subject)
        assert not leaks(secrets, text), "secret value leaked"

    return check
