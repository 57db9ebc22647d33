"""Fixtures shared by every test tier.

The local-cluster fixtures (``local_cluster``, ``local_cluster_session``) are defined
with the local cluster's own suite in ``tests/localcluster/conftest.py``; they are
re-exported here so that every suite (sync, controller, end-to-end) can use them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTDATA = REPO_ROOT / "testdata"


def _load_suite_fixtures(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses defined in it need their module registered
    spec.loader.exec_module(module)
    return module


_cluster = _load_suite_fixtures(
    "tether_test_localcluster", REPO_ROOT / "tests/localcluster/conftest.py"
)
local_cluster = _cluster.local_cluster
local_cluster_session = _cluster.local_cluster_session


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session", autouse=True)
def _private_cli_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test, and no ``tether`` process a test starts, writes the user's CLI config."""
    if "TETHER_CONFIG" not in os.environ:
        os.environ["TETHER_CONFIG"] = str(tmp_path_factory.mktemp("cli") / "config")
