"""Canary values (a payload's password, the refresh token, the access token) must not appear
in any exception (its whole chain, args and attributes), log record at DEBUG (the Google
client's, google-auth's, gRPC's and urllib3's included), warning or repr, whichever way a
fetch of ``gcp-sm`` goes."""

from __future__ import annotations

import base64
import json
import logging
import traceback
import warnings
from collections.abc import Callable, Iterator

import pytest
from gcp_secret_manager_server import SecretStore
from gcp_settings import ACCESS_TOKEN, PROJECT, Loopback

from bandwidth_credentials import CredentialsError, Resolver, parse_source
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    ConnectProxy,
    exception_graph,
)
from bandwidth_credentials_gcp._redact import REDACTED
from bandwidth_credentials_gcp.secret_manager import SecretManagerProvider

SECRET = f"projects/{PROJECT}/secrets/bandwidth-prod"
CANARY_JSON = json.dumps({"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD})
# A payload travels base64-encoded (REST JSON, the client's JSON logs): look for that too.
CANARIES = (
    CANARY_PASSWORD,
    CANARY_SECRET,
    ACCESS_TOKEN,
    base64.b64encode(CANARY_JSON.encode()).decode(),
)
SDK_LOGGERS = ("google", "grpc", "urllib3", "google.auth", "google.api_core")


def exception_text(exc: BaseException) -> str:
    """The formatted chain and the repr of everything reachable from ``exc``."""
    parts = ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    return "\n".join(parts + [repr(value) for _, value in exception_graph(exc)])


def record_text(record: logging.LogRecord) -> str:
    """Everything a handler could print: the message, the extras and any exception."""
    formatted = logging.Formatter().format(record)
    return "\n".join([formatted, repr(record.args), repr(vars(record))])


def assert_clean(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG (the SDKs' included) and every warning, checked afterwards."""
    caplog.set_level(logging.DEBUG)
    for name in SDK_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caplog
    # In teardown `caplog.records` holds only teardown's records: ask for the test's.
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert records
    for record in records:
        assert_clean(record_text(record))
    for warning in caught:
        assert_clean(str(warning.message))


def test_a_successful_fetch_logs_no_value_even_at_debug(
    store: SecretStore, loopback: Loopback, captured: pytest.LogCaptureFixture
) -> None:
    store.add(SECRET, CANARY_JSON.encode())
    provider = SecretManagerProvider(parse_source(loopback.uri(SECRET)))

    fetched = provider.fetch()

    assert fetched.values["password"] == CANARY_PASSWORD
    client_records = [r for r in captured.records if r.name.startswith("google.cloud")]
    assert any(REDACTED in record_text(r) for r in client_records)
    assert_clean(repr(fetched))
    assert_clean(repr(provider))


def test_the_default_path_logs_no_token_or_value_even_at_debug(
    proxy: tuple[str, ConnectProxy], store: SecretStore, captured: pytest.LogCaptureFixture
) -> None:
    transport, _ = proxy
    store.add(SECRET, CANARY_JSON.encode())
    resolver = Resolver([f"gcp-sm:{SECRET}?transport={transport}"])

    voice = resolver.get_auth("voice")

    assert voice.password is not None
    assert store.token_requests == 1
    assert any(r.name == "google.auth.transport.requests" for r in captured.records)
    assert_clean(repr(resolver))
    assert_clean(repr(voice))


def test_a_token_endpoint_quoting_the_refresh_token_is_not_repeated(
    proxy: tuple[str, ConnectProxy], store: SecretStore, captured: pytest.LogCaptureFixture
) -> None:
    transport, _ = proxy
    store.add(SECRET, CANARY_JSON.encode())
    store.refresh_tokens.clear()
    store.echo = True

    with pytest.raises(CredentialsError) as caught:
        Resolver([f"gcp-sm:{SECRET}?transport={transport}"]).get_auth("voice")

    assert_clean(exception_text(caught.value))
    assert store.token_requests >= 1


def fail(status: str) -> Callable[[SecretStore], None]:
    def arrange(store: SecretStore) -> None:
        store.add(SECRET, CANARY_JSON.encode())
        store.fail = (status, f"value was {CANARY_PASSWORD}", 99)

    return arrange


def stored(payload: bytes) -> Callable[[SecretStore], None]:
    def arrange(store: SecretStore) -> None:
        store.add(SECRET, payload)

    return arrange


def corrupted(store: SecretStore) -> None:
    store.add(SECRET, CANARY_JSON.encode())
    store.corrupt = True


FAILURES: list[tuple[str, Callable[[SecretStore], None]]] = [
    ("not found quoting", fail("NOT_FOUND")),
    ("denied quoting", fail("PERMISSION_DENIED")),
    ("precondition quoting", fail("FAILED_PRECONDITION")),
    ("unavailable quoting", fail("UNAVAILABLE")),
    ("unknown quoting", fail("DATA_LOSS")),
    ("plain text payload", stored(CANARY_PASSWORD.encode())),
    ("broken json", stored(b'{"password": "' + CANARY_PASSWORD.encode())),
    ("json array", stored(json.dumps([CANARY_PASSWORD, CANARY_SECRET]).encode())),
    ("not utf-8", stored(b"\xff" + CANARY_PASSWORD.encode())),
    ("bad account id", stored(json.dumps({"accountId": CANARY_SECRET, "password": CANARY_PASSWORD, "username": "j"}).encode())),  # noqa: E501
    ("half a pair", stored(json.dumps({"accountId": "1", "password": CANARY_PASSWORD}).encode())),
    ("checksum mismatch", corrupted),
]  # fmt: skip


@pytest.mark.parametrize("arrange", [f for _, f in FAILURES], ids=[n for n, _ in FAILURES])
def test_failures_never_show_a_value(
    store: SecretStore,
    loopback: Loopback,
    captured: pytest.LogCaptureFixture,
    arrange: Callable[[SecretStore], None],
) -> None:
    arrange(store)
    resolver = Resolver([loopback.uri(SECRET)])

    with pytest.raises(CredentialsError) as caught:
        resolver.get_auth("voice")

    assert_clean(exception_text(caught.value))
    assert_clean(repr(resolver))
