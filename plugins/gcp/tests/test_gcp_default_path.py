"""The plugin's default path: real hostnames, Application Default Credentials from
``GOOGLE_APPLICATION_CREDENTIALS``, and the standard proxy and CA variables.

No ``endpoint`` option here. The client dials ``secretmanager.googleapis.com`` (or the
regional ``secretmanager.LOCATION.rep.googleapis.com``) and google-auth refreshes an
``authorized_user`` credential at ``oauth2.googleapis.com``, both through a loopback
``CONNECT`` proxy that presents a ``trustme`` certificate for those hostnames; the
clients trust it only through ``REQUESTS_CA_BUNDLE`` and ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``.
"""

from __future__ import annotations

import json
import socket

import pytest
from gcp_secret_manager_server import SecretStore
from gcp_settings import PROJECT, PROJECT_NUMBER

from bandwidth_credentials import (
    Resolver,
    SourceAuthenticationError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    ConnectProxy,
    connect_proxy,
)
from bandwidth_credentials_gcp.secret_manager import SecretManagerProvider

SECRET = f"projects/{PROJECT}/secrets/bandwidth-prod"
REGIONAL = f"projects/{PROJECT}/locations/us-east4/secrets/bandwidth-prod"
VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}


@pytest.fixture(autouse=True)
def secrets(store: SecretStore) -> None:
    store.add(SECRET, json.dumps(VOICE).encode())
    store.add(REGIONAL, json.dumps(VOICE).encode())


@pytest.mark.parametrize(
    ("secret", "host"),
    [
        (SECRET, "secretmanager.googleapis.com"),
        (REGIONAL, "secretmanager.us-east4.rep.googleapis.com"),
    ],
    ids=["global", "regional"],
)
def test_reads_through_the_default_endpoint_proxy_and_adc(
    proxy: tuple[str, ConnectProxy], store: SecretStore, secret: str, host: str
) -> None:
    transport, server = proxy
    # gRPC is the client's default: that case sets no transport option at all.
    uri = f"gcp-sm:{secret}" + ("?transport=rest" if transport == "rest" else "")

    voice = Resolver([uri]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == CANARY_PASSWORD
    assert f"{host}:443" in server.connects
    assert "oauth2.googleapis.com:443" in server.connects
    assert server.refused == []
    assert store.token_requests == 1
    assert store.calls == [f"{secret}/versions/latest"]


def test_the_version_is_the_name_the_service_resolved(proxy: tuple[str, ConnectProxy]) -> None:
    transport, _ = proxy

    fetched = SecretManagerProvider(parse_source(f"gcp-sm:{SECRET}?transport={transport}")).fetch()

    assert fetched.version == f"projects/{PROJECT_NUMBER}/secrets/bandwidth-prod/versions/1"


def test_a_refused_refresh_token_is_an_authentication_error(
    proxy: tuple[str, ConnectProxy], store: SecretStore
) -> None:
    transport, _ = proxy
    store.refresh_tokens.clear()
    uri = f"gcp-sm:{SECRET}?transport={transport}"

    with pytest.raises(SourceAuthenticationError) as caught:
        SecretManagerProvider(parse_source(uri)).fetch()

    assert "getting a Google access token" in str(caught.value)
    assert CANARY_SECRET not in str(caught.value)
    assert caught.value.__context__ is None
    assert store.calls == []


@pytest.mark.parametrize(
    "head",
    [b"CONNECT example.com:443 HTTP/1.1", b"GET http://secretmanager.googleapis.com/ HTTP/1.1"],
)
def test_the_proxy_tunnels_only_to_the_listed_hosts(head: bytes) -> None:
    with (
        connect_proxy({}) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(head + b"\r\nHost: x\r\n\r\n")
        answer = sock.recv(1024)

    assert answer.startswith(b"HTTP/1.1 403")
    assert server.connects == []
    assert len(server.refused) == 1


@pytest.mark.parametrize("proxy", ["rest"], indirect=True)
def test_without_the_ca_variable_the_loopback_certificate_is_refused(
    proxy: tuple[str, ConnectProxy], store: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    uri = f"gcp-sm:{SECRET}?transport=rest"

    with pytest.raises(SourceUnavailableError) as caught:
        SecretManagerProvider(parse_source(uri)).fetch()

    assert "TLS with Google's token endpoint oauth2.googleapis.com failed" in str(caught.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert store.token_requests == 0
    assert store.calls == []
