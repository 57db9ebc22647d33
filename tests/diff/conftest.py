"""Shared pieces of the diff tests: fixture files, one jq worker and one schema per session."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tether.diff import JqRunner, OpenAPISchema, ResourceDiff

TESTDATA = Path(__file__).resolve().parents[2] / "testdata" / "diff"


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
