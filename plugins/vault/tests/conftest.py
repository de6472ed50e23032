"""Fixtures for the Vault plugin's tests: the test server, and optionally a real Vault.

Tests that take the ``backend`` fixture run twice: against the in-process test server
and against a real Vault. The real run needs ``VAULT_INTEGRATION_ADDR`` and
``VAULT_INTEGRATION_TOKEN`` (a token allowed to enable mounts and auth methods and to
write policies), and ``VAULT_INTEGRATION_CACERT`` when its certificate needs a private
CA; without the first two it is skipped. Both are read when this file is imported,
because the root conftest clears every ``VAULT_*`` variable before each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from vault_backends import Backend, FakeBackend, RealBackend
from vault_testserver import FakeVault

import bandwidth_credentials_vault._calls as calls_module
from bandwidth_credentials.testing import jitter_at

INTEGRATION_ADDR = os.environ.get("VAULT_INTEGRATION_ADDR", "").strip()
INTEGRATION_TOKEN = os.environ.get("VAULT_INTEGRATION_TOKEN", "").strip()
INTEGRATION_CACERT = os.environ.get("VAULT_INTEGRATION_CACERT", "").strip()
INTEGRATION_SKIP = (
    "real-Vault run skipped: run `VAULT_ADDR=... VAULT_TOKEN=... tox -e vault-integration` "
    "(or set VAULT_INTEGRATION_ADDR and VAULT_INTEGRATION_TOKEN) to run these tests "
    "against a real Vault"
)


@pytest.fixture
def fake_vault() -> Iterator[FakeVault]:
    """The test server, with a KV v2 mount ``secret/`` and a KV v1 mount ``kv1/``."""
    vault = FakeVault()
    vault.enable_kv("secret", 2)
    vault.enable_kv("kv1", 1)
    vault.start()
    try:
        yield vault
    finally:
        vault.stop()


@pytest.fixture(scope="session")
def real_vault() -> Iterator[RealBackend]:
    if not (INTEGRATION_ADDR and INTEGRATION_TOKEN):
        pytest.skip(INTEGRATION_SKIP)
    backend = RealBackend(INTEGRATION_ADDR, INTEGRATION_TOKEN, INTEGRATION_CACERT)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(params=["fake", "real"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The test server, then a real Vault (skipped unless configured)."""
    if request.param == "real":
        real: RealBackend = request.getfixturevalue("real_vault")
        return real
    return FakeBackend(request.getfixturevalue("fake_vault"))


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty home directory, so ~/.vault-token is the test's own."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Record the provider's retry pauses instead of sleeping through them, the jitter
    pinned at the top of each window (0.25 s, then 0.5 s)."""
    pauses: list[float] = []
    monkeypatch.setattr(calls_module, "_sleep", pauses.append)
    with jitter_at(1.0):
        yield pauses


@pytest.fixture
def vault_env(monkeypatch: pytest.MonkeyPatch, home: Path, backend: Backend) -> Backend:
    """VAULT_ADDR pointing at the backend; nothing else set."""
    monkeypatch.setenv("VAULT_ADDR", backend.addr)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    if backend.cacert:
        monkeypatch.setenv("VAULT_CACERT", backend.cacert)
    return backend


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, home: Path, fake_vault: FakeVault) -> FakeVault:
    """VAULT_ADDR pointing at the test server only (for fault-injection tests)."""
    monkeypatch.setenv("VAULT_ADDR", fake_vault.addr)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return fake_vault
