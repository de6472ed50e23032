"""TLS and proxies through the bounded transport: real hvac, a real TLS server on loopback.

What ``requests`` hands the transport adapter (the CA file or directory from
``VAULT_CACERT``/``VAULT_CAPATH``, the client certificate, ``VAULT_SKIP_VERIFY``, the
proxy from ``HTTPS_PROXY``) must reach the wire exactly as before.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.misbehaving import answer, json_body, misbehaving

from bandwidth_credentials import SourceUnavailableError, parse_source
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    check_no_leaks,
    connect_proxy,
)
from bandwidth_credentials_vault import VaultInsecureWarning, VaultProvider

trustme = pytest.importorskip("trustme")

CREDS = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
SECRET = json_body({"data": {"data": CREDS, "metadata": {"version": 3}, "ttl": 0}})
URI = "vault:secret/bandwidth/prod?kv=2&timeout=5"
CANARIES = (CANARY_PASSWORD, CANARY_SECRET)


class Pki:
    def __init__(self, tmp_path: Path) -> None:
        self.ca = trustme.CA()
        self.dir = tmp_path
        self.ca_file = tmp_path / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        client = self.ca.issue_cert("vault-client@example.com")
        self.client_cert = tmp_path / "client.pem"
        self.client_key = tmp_path / "client.key"
        client.cert_chain_pems[0].write_to_path(str(self.client_cert))
        client.private_key_pem.write_to_path(str(self.client_key))
        self.server = self.ca.issue_cert("127.0.0.1")

    def server_context(self, client_cert_required: bool) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server.configure_cert(context)
        if client_cert_required:
            self.ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        return context


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("VAULT_TOKEN", CANARY_SECRET)


@pytest.fixture
def tls_vault(pki: Pki, token: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with misbehaving(answer(200, SECRET), tls=pki.server_context(True)) as server:
        monkeypatch.setenv("VAULT_ADDR", server.url)
        yield server


def fetch() -> dict[str, object]:
    source = VaultProvider(parse_source(URI))
    return dict(check_no_leaks(source.fetch, CANARIES).values)


def test_a_ca_file_and_a_client_certificate_reach_the_handshake(
    pki: Pki, tls_vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_CACERT", str(pki.ca_file))
    monkeypatch.setenv("VAULT_CLIENT_CERT", str(pki.client_cert))
    monkeypatch.setenv("VAULT_CLIENT_KEY", str(pki.client_key))

    values = fetch()

    assert values == CREDS
    assert len(tls_vault.requests) == 2


def test_without_the_client_certificate_the_server_refuses(
    pki: Pki, tls_vault: Any, monkeypatch: pytest.MonkeyPatch, no_backoff: list[float]
) -> None:
    monkeypatch.setenv("VAULT_CACERT", str(pki.ca_file))

    with pytest.raises(SourceUnavailableError):
        fetch()

    assert tls_vault.requests == []


def test_an_unknown_ca_fails_the_handshake_without_retrying(
    tls_vault: Any, no_backoff: list[float]
) -> None:
    with pytest.raises(SourceUnavailableError) as caught:
        fetch()

    assert "TLS handshake failed" in str(caught.value)
    assert no_backoff == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to hash the CA")
def test_a_ca_directory_is_trusted(
    pki: Pki, tls_vault: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(pki.ca_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    directory = tmp_path / "cas"
    directory.mkdir()
    shutil.copy(pki.ca_file, directory / f"{digest}.0")
    monkeypatch.setenv("VAULT_CAPATH", str(directory))
    monkeypatch.setenv("VAULT_CLIENT_CERT", str(pki.client_cert))
    monkeypatch.setenv("VAULT_CLIENT_KEY", str(pki.client_key))

    values = fetch()

    assert values == CREDS


def test_skip_verify_accepts_an_unknown_ca_with_a_warning(
    pki: Pki, token: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with misbehaving(answer(200, SECRET), tls=pki.server_context(False)) as server:
        monkeypatch.setenv("VAULT_ADDR", server.url)
        monkeypatch.setenv("VAULT_SKIP_VERIFY", "true")

        with pytest.warns(VaultInsecureWarning):
            values = fetch()

    assert values == CREDS


def test_https_proxy_is_used_through_a_connect_tunnel(
    pki: Pki, tls_vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_CACERT", str(pki.ca_file))
    monkeypatch.setenv("VAULT_CLIENT_CERT", str(pki.client_cert))
    monkeypatch.setenv("VAULT_CLIENT_KEY", str(pki.client_key))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with connect_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)

        values = fetch()

        tunnels = proxy.connects + proxy.refused
    assert values == CREDS
    authority = f"{tls_vault.host}:{tls_vault.port}"
    assert tunnels == [authority, authority]
