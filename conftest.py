"""Shared by the core's and every plugin's tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import bandwidth_credentials._default as default_module
import bandwidth_credentials._normalizer as normalizer_module

_ISOLATED_PREFIXES = ("BW_", "BANDWIDTH_", "VAULT_", "AWS_", "PARAMETERS_SECRETS_")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's credentials, Vault or AWS settings, or a stray .env."""
    for name in list(os.environ):
        if name.upper().startswith(_ISOLATED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(default_module, "_default", None)
    monkeypatch.setattr(normalizer_module, "_logged_notes", set())
    return
