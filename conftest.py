"""Shared by the core's and every plugin's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bandwidth_credentials.testing import reset

# pytester runs the pytest plugin's own tests (tests/test_testing_contract.py).
pytest_plugins = ["pytester"]

_ISOLATED_PREFIXES = ("BW_", "BANDWIDTH_", "VAULT_", "AWS_", "PARAMETERS_SECRETS_")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's credentials, Vault or AWS settings, or a stray .env,
    and each starts and ends with the library as freshly imported."""
    for name in list(os.environ):
        if name.upper().startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    reset()
    yield
    reset()
