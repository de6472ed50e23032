"""Fixtures for the Azure plugin's tests: a Key Vault reached the way production reaches it.

Three loopback servers, all started here: a managed-identity endpoint (App Service's
``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``), the Key Vault test server over TLS with a
certificate for ``*.vault.azure.net`` from a ``trustme`` CA, and a CONNECT proxy that
routes only the vault names the tests create. The plugin's default path runs untouched:
``DefaultAzureCredential`` finds the managed identity, ``SecretClient`` elicits the
vault's 401 challenge and checks its resource against the host, requests honours
``HTTPS_PROXY`` and ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import os
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from azure_identity_endpoint import IdentityEndpoint
from azure_identity_endpoint import running as identity_running
from azure_kv_testserver import SUFFIX, KeyVaultServer
from azure_kv_testserver import running as vault_running

from bandwidth_credentials.testing import ConnectProxy, connect_proxy

# Settings that would steer azure-identity or requests somewhere else than the test's servers.
_CLEARED_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "MSAL_")
_CLEARED = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("azure-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, never listening, for the session)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def identity() -> Iterator[IdentityEndpoint]:
    with identity_running(IdentityEndpoint()) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def key_vault(ca: trustme.CA, identity: IdentityEndpoint) -> Iterator[KeyVaultServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("*" + SUFFIX).configure_cert(context)
    with vault_running(KeyVaultServer(context, identity.issued)) as server:
        yield server


@pytest.fixture(scope="session")
def proxy() -> Iterator[ConnectProxy]:
    with connect_proxy() as running:
        yield running


@pytest.fixture(autouse=True)
def azure_env(
    _isolated: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    identity: IdentityEndpoint,
    proxy: ConnectProxy,
    ca_bundle: Path,
    closed_port: int,
) -> Iterator[None]:
    """Managed identity, proxy and CA set as a hosted app would have them; nothing else.

    Requests ``_isolated`` (the root conftest's) so it runs after that one. ``HOME``
    points at an empty folder so no developer login (az, azd, token caches) is found.
    """
    for name in list(os.environ):
        if name.upper().startswith(_CLEARED_PREFIXES) or name.upper() in _CLEARED:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity.url)
    monkeypatch.setenv("IDENTITY_HEADER", identity.header)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    # Should anything fall through to the instance metadata service, it meets a closed
    # loopback port instead of 169.254.169.254.
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{closed_port}")
    identity.failure = None
    identity.hang.clear()
    identity.release.clear()
    yield
    identity.release.set()
    identity.hang.clear()


@pytest.fixture
def new_vault(key_vault: KeyVaultServer, proxy: ConnectProxy) -> Callable[[], str]:
    """A fresh vault name routed through the proxy; fresh, so the SDK's process-wide
    challenge cache has never seen it and every test runs the challenge flow."""

    def create() -> str:
        name = f"kv{uuid.uuid4().hex[:12]}"
        proxy.route(name + SUFFIX, 443, key_vault.address)
        return name

    return create


@pytest.fixture
def vault(new_vault: Callable[[], str]) -> str:
    return new_vault()


@pytest.fixture(autouse=True)
def _fresh_faults(key_vault: KeyVaultServer) -> Iterator[None]:
    key_vault.forced.clear()
    key_vault.hang.clear()
    key_vault.release.clear()
    yield
    key_vault.forced.clear()
    key_vault.release.set()
    key_vault.hang.clear()
