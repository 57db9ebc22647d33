"""Fixtures of the schema, patch and field-ownership tests."""

from __future__ import annotations

import pytest

from tether.localcluster.schema import SchemaRegistry


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    return SchemaRegistry()
