"""Every failure of ``gcp-sm`` is a typed library error naming the secret, over REST and gRPC,
with no foreign exception chained and no server text unless it is a canonical code."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from gcp_secret_manager_server import SecretStore
from gcp_settings import PROJECT, Loopback

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_SECRET
from bandwidth_credentials_gcp.secret_manager import MAX_ATTEMPTS, SecretManagerProvider

SECRET = f"projects/{PROJECT}/secrets/bandwidth-prod"
PAYLOAD = json.dumps({"accountId": "920012", "username": "u", "password": "p"}).encode()
# What a server might say: never to be repeated in an error.
SERVER_TEXT = f"backend said {CANARY_SECRET}"


def fail_with(status: str, times: int = 99) -> Callable[[SecretStore], None]:
    def arrange(store: SecretStore) -> None:
        store.add(SECRET, PAYLOAD)
        store.fail = (status, SERVER_TEXT, times)

    return arrange


def latest_disabled(store: SecretStore) -> None:
    store.add(SECRET, PAYLOAD)
    number = store.add(SECRET, PAYLOAD)
    store.set_state(SECRET, number, "DISABLED")


def only_version_destroyed(store: SecretStore) -> None:
    store.add(SECRET, PAYLOAD, state="DESTROYED")


def denied(store: SecretStore) -> None:
    store.add(SECRET, PAYLOAD)
    store.denied.add(SECRET)


def unknown_service_account(store: SecretStore) -> None:
    store.add(SECRET, PAYLOAD)
    store.service_accounts.clear()


def one_version(store: SecretStore) -> None:
    store.add(SECRET, PAYLOAD)


# On 401, google-auth's REST session refreshes its credentials and tries again, twice.
AUTH_RETRIES = {"rest": 3, "grpc": 1}
CASES: list[
    tuple[
        str,
        Callable[[SecretStore], None],
        str,
        type[CredentialsError],
        list[str],
        int | dict[str, int],
    ]
] = [
    (
        "no such secret",
        one_version,
        f"projects/{PROJECT}/secrets/absent",
        SourceNotFoundError,
        ["does not exist (NOT_FOUND)"],
        1,
    ),
    (
        "no such version",
        one_version,
        f"{SECRET}/versions/5",
        SourceNotFoundError,
        ["versions/5 does not exist (NOT_FOUND)"],
        1,
    ),
    (
        "permission denied",
        denied,
        SECRET,
        SourceAccessDeniedError,
        ["PERMISSION_DENIED", "roles/secretmanager.secretAccessor"],
        1,
    ),
    (
        "unauthenticated",
        unknown_service_account,
        SECRET,
        SourceAuthenticationError,
        ["refused the credentials", "UNAUTHENTICATED"],
        AUTH_RETRIES,
    ),
    (
        "latest disabled",
        latest_disabled,
        SECRET,
        SourceNotFoundError,
        ["the latest version of secret", "is disabled (FAILED_PRECONDITION)", "/versions/N"],
        1,
    ),
    (
        "pinned destroyed",
        only_version_destroyed,
        f"{SECRET}/versions/1",
        SourceNotFoundError,
        ["versions/1 is destroyed (FAILED_PRECONDITION)"],
        1,
    ),
    (
        "unavailable",
        fail_with("UNAVAILABLE"),
        SECRET,
        SourceUnavailableError,
        [f"(UNAVAILABLE) after {MAX_ATTEMPTS} attempt(s)"],
        MAX_ATTEMPTS,
    ),
    (
        "resource exhausted",
        fail_with("RESOURCE_EXHAUSTED"),
        SECRET,
        SourceUnavailableError,
        [f"(RESOURCE_EXHAUSTED) after {MAX_ATTEMPTS} attempt(s)"],
        MAX_ATTEMPTS,
    ),
    (
        "deadline exceeded",
        fail_with("DEADLINE_EXCEEDED"),
        SECRET,
        SourceUnavailableError,
        ["DEADLINE_EXCEEDED"],
        1,
    ),
    (
        "internal",
        fail_with("INTERNAL"),
        SECRET,
        SourceUnavailableError,
        ["(INTERNAL) after 1 attempt(s)"],
        1,
    ),
    (
        "invalid argument",
        fail_with("INVALID_ARGUMENT"),
        SECRET,
        ConfigurationError,
        ["INVALID_ARGUMENT"],
        1,
    ),
    ("not found by status", fail_with("NOT_FOUND"), SECRET, SourceNotFoundError, ["NOT_FOUND"], 1),
    (
        "failed precondition, no state",
        fail_with("FAILED_PRECONDITION"),
        SECRET,
        SourceNotFoundError,
        ["disabled or destroyed (FAILED_PRECONDITION)"],
        1,
    ),
]


@pytest.mark.parametrize(
    ("arrange", "target", "error", "says", "calls"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_failures_are_typed_and_name_the_secret(
    store: SecretStore,
    loopback: Loopback,
    arrange: Callable[[SecretStore], None],
    target: str,
    error: type[CredentialsError],
    says: list[str],
    calls: int | dict[str, int],
) -> None:
    arrange(store)
    uri = loopback.uri(target)

    with pytest.raises(CredentialsError) as caught:
        SecretManagerProvider(parse_source(uri)).fetch()

    assert type(caught.value) is error
    message = str(caught.value)
    assert parse_source(uri).uri in message  # option values are never shown
    for part in says:
        assert part in message
    assert CANARY_SECRET not in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert len(store.calls) == (calls[loopback.transport] if isinstance(calls, dict) else calls)


def test_unavailable_is_retried_until_it_answers(store: SecretStore, loopback: Loopback) -> None:
    fail_with("UNAVAILABLE", times=MAX_ATTEMPTS - 1)(store)

    fetched = SecretManagerProvider(parse_source(loopback.uri(SECRET))).fetch()

    assert fetched.values["username"] == "u"
    assert len(store.calls) == MAX_ATTEMPTS


def test_no_application_default_credentials(
    store: SecretStore, loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_version(store)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    uri = loopback.uri(SECRET)

    with pytest.raises(SourceAuthenticationError) as caught:
        SecretManagerProvider(parse_source(uri)).fetch()

    assert "no Application Default Credentials" in str(caught.value)
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(caught.value)
    assert caught.value.__context__ is None
    assert store.calls == []


@pytest.mark.parametrize(
    ("transport", "endpoint"), [("rest", "http://127.0.0.1:9"), ("grpc", "127.0.0.1:9")]
)
def test_nothing_listening_is_unavailable(transport: str, endpoint: str) -> None:
    uri = f"gcp-sm:{SECRET}?transport={transport}&endpoint={endpoint}&timeout=2"

    with pytest.raises(SourceUnavailableError) as caught:
        SecretManagerProvider(parse_source(uri)).fetch()

    assert parse_source(uri).uri in str(caught.value)
    assert caught.value.__context__ is None


# -- REST only: what a proxy or load balancer in the way might answer ----------------------

RAW: list[tuple[str, int, bytes, type[SourceError], str]] = [
    (
        "403 page",
        403,
        f"<html>{CANARY_SECRET}</html>".encode(),
        SourceAccessDeniedError,
        "(PERMISSION_DENIED)",
    ),
    (
        "502 page",
        502,
        f"<html>{CANARY_SECRET}</html>".encode(),
        SourceUnavailableError,
        "(HTTP 502, server text omitted)",
    ),
    ("400 not json", 400, CANARY_SECRET.encode(), SourceError, "(HTTP 400, server text omitted)"),
    (
        "unknown status word",
        400,
        json.dumps(
            {"error": {"code": 400, "message": CANARY_SECRET, "status": CANARY_SECRET}}
        ).encode(),
        SourceError,
        "(HTTP 400, server text omitted)",
    ),
    (
        "error is not an object",
        409,
        json.dumps({"error": CANARY_SECRET}).encode(),
        SourceError,
        "(server text omitted)",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "error", "says"),
    [case[1:] for case in RAW],
    ids=[case[0] for case in RAW],
)
def test_rest_answers_without_a_google_status_show_no_server_text(
    store: SecretStore,
    rest_url: str,
    status: int,
    body: bytes,
    error: type[SourceError],
    says: str,
) -> None:
    store.raw = (status, body)
    uri = Loopback("rest", rest_url).uri(SECRET)

    with pytest.raises(SourceError) as caught:
        SecretManagerProvider(parse_source(uri)).fetch()

    assert type(caught.value) is error
    assert says in str(caught.value)
    assert CANARY_SECRET not in str(caught.value)
    assert caught.value.__context__ is None
