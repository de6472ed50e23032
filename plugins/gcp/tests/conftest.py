"""Fixtures for the Google plugin's tests: a loopback Secret Manager over REST and gRPC,
a token endpoint, and Application Default Credentials pointing at it.

Everything listens on 127.0.0.1 with an ephemeral port and is started and stopped here.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric import rsa
from gcp_secret_manager_grpc import grpc_server
from gcp_secret_manager_server import SecretStore, rest_server
from gcp_settings import (
    ACCESS_TOKEN,
    GOOGLE_HOSTS,
    PROJECT,
    PROJECT_NUMBER,
    REFRESH_TOKEN,
    SERVICE_ACCOUNT,
    Loopback,
    write_adc,
    write_service_account,
)

from bandwidth_credentials.testing import ConnectProxy, Route, connect_proxy

_CLEARED = ("GOOGLE_", "GCE_", "CLOUDSDK_", "GRPC_PROXY", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    """One certificate for the loopback address and the Google hostnames."""
    return ca.issue_cert("127.0.0.1", "localhost", *GOOGLE_HOSTS)


@pytest.fixture(scope="session", autouse=True)
def grpc_roots(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gRPC's trusted roots for the whole session.

    gRPC reads ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`` once per process, when it first needs
    its default roots, so it is set before any channel exists and kept for the session.
    """
    path = tmp_path_factory.mktemp("grpc-roots") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", str(path))
        yield str(path)


@pytest.fixture
def store(sa_key: rsa.RSAPrivateKey) -> SecretStore:
    return SecretStore(
        token=ACCESS_TOKEN,
        refresh_tokens={REFRESH_TOKEN},
        service_accounts={SERVICE_ACCOUNT: sa_key.public_key()},
        project_numbers={PROJECT: PROJECT_NUMBER},
    )


@pytest.fixture
def rest_url(store: SecretStore) -> Iterator[str]:
    with rest_server(store) as url:
        yield url


@pytest.fixture
def grpc_port(store: SecretStore, server_cert: trustme.LeafCert) -> Iterator[int]:
    key = server_cert.private_key_pem.bytes()
    chain = b"".join(blob.bytes() for blob in server_cert.cert_chain_pems)
    with grpc_server(store, (key, chain)) as port:
        yield port


@pytest.fixture(scope="session")
def sa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def gcp_env(
    _isolated: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    rest_url: str,
    sa_key: rsa.RSAPrivateKey,
) -> Path:
    """No developer ADC, gcloud config, proxy or metadata server; ADC is a service-account
    key the loopback server knows (the client signs its own JWT with it).

    Requests ``_isolated`` (the root conftest's) so it runs after the environment was cleared.
    """
    for name in list(os.environ):
        if name.upper().startswith(_CLEARED) and name != "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    # Port 9 (discard) on loopback: the metadata server probe fails at once, off the network.
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    adc = write_service_account(tmp_path / "adc.json", sa_key, f"{rest_url}/token")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    return adc


@pytest.fixture(params=["rest", "grpc"])
def loopback(request: pytest.FixtureRequest, rest_url: str) -> Loopback:
    """Each test that asks for it runs once over REST and once over gRPC."""
    if request.param == "rest":
        return Loopback("rest", rest_url)
    port = request.getfixturevalue("grpc_port")
    return Loopback("grpc", f"127.0.0.1:{port}")


# -- the default path: real hostnames through a CONNECT proxy --------------------------


@pytest.fixture
def google_tls(server_cert: trustme.LeafCert) -> ssl.SSLContext:
    """What the proxy presents for the Google hostnames (ALPN h2 for gRPC, http/1.1)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


@pytest.fixture
def default_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca: trustme.CA) -> None:
    """ADC as `gcloud auth application-default login` leaves it; the CA for requests."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(write_adc(tmp_path / "adc.json")))


@pytest.fixture(params=["rest", "grpc"])
def proxy(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    store: SecretStore,
    rest_url: str,
    google_tls: ssl.SSLContext,
    default_env: None,
) -> Iterator[tuple[str, ConnectProxy]]:
    """The proxy, with Secret Manager served over the transport under test.

    requests reads ``HTTPS_PROXY``; gRPC reads only the lower-case ``https_proxy`` (or
    ``grpc_proxy``), which requests honours as well.
    """
    rest = ("127.0.0.1", urlsplit(rest_url).port or 0)
    routes = {f"{host}:443": Route(rest, google_tls) for host in GOOGLE_HOSTS}
    with grpc_server(store, None) as grpc_port:
        if request.param == "grpc":
            for host in GOOGLE_HOSTS:
                if host.startswith("secretmanager."):
                    routes[f"{host}:443"] = Route(("127.0.0.1", grpc_port), google_tls)
        with connect_proxy(routes) as server:
            variable = "HTTPS_PROXY" if request.param == "rest" else "https_proxy"
            monkeypatch.setenv(variable, server.url)
            yield request.param, server
