"""``aws-lambda-ext``: a throttled or unavailable answer's ``Retry-After`` reaches the
resolver's backoff, through the real provider and the stub extension server."""

from __future__ import annotations

import email.utils
import json
import time

import pytest
from aws_extension_stub import GENERIC_400, StubExtension

from bandwidth_credentials import (
    Resolver,
    SourceAuthenticationError,
    SourceError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD, FakeClock, check_no_leaks
from bandwidth_credentials_aws.lambda_extension import LambdaExtensionProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
SECRET = "bandwidth/prod"
PARAMETER = "/bandwidth/prod/credentials"
URIS = [f"aws-lambda-ext:{SECRET}", f"aws-lambda-ext:ssm:{PARAMETER}"]
#: An error body that quotes a secret, as a misbehaving server might.
LEAKY = b" " + CANARY_PASSWORD.encode()


@pytest.fixture
def stored(extension: StubExtension) -> StubExtension:
    """The stub holding the same credentials as a secret and as a parameter."""
    extension.put(SECRET, json.dumps(VOICE))
    extension.put_parameter(PARAMETER, json.dumps(VOICE))
    return extension


def refused(uri: str) -> SourceError:
    """The error one fetch raises, checked for canaries on every output channel."""
    provider = LambdaExtensionProvider(parse_source(uri))

    with pytest.raises(SourceError) as caught:
        check_no_leaks(provider.fetch)

    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    return caught.value


# -- the provider ------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", URIS, ids=["secret", "parameter"])
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, b"Too Many Requests"),
        (503, b"Service Unavailable"),
        (500, b"Internal Server Error"),
        (400, b'{"__type":"ThrottlingException"}'),
    ],
)
def test_a_throttled_or_unavailable_answer_carries_its_retry_after(
    stored: StubExtension, uri: str, status: int, body: bytes
) -> None:
    stored.forced = (status, body + LEAKY)
    stored.forced_headers = {"Retry-After": "7"}

    error = refused(uri)

    assert type(error) is SourceUnavailableError
    assert error.retry_after == 7.0
    assert f"HTTP {status}" in str(error)


@pytest.mark.parametrize("uri", URIS, ids=["secret", "parameter"])
def test_an_http_date_is_seconds_from_now(stored: StubExtension, uri: str) -> None:
    stored.forced = (429, b"Too Many Requests")
    stored.forced_headers = {"Retry-After": email.utils.formatdate(time.time() + 120, usegmt=True)}

    error = refused(uri)

    assert isinstance(error, SourceUnavailableError)
    assert error.retry_after is not None
    # The date has whole seconds and the wall clock moves on: generous, never above 120.
    assert 100 <= error.retry_after <= 120


@pytest.mark.parametrize("uri", URIS, ids=["secret", "parameter"])
@pytest.mark.parametrize(
    "value",
    [None, "", "soon", "-5", "1.5", "7 seconds", "Someday, 99 Foo 2026", "\u00b2"],
    ids=repr,
)
def test_a_missing_or_unusable_retry_after_is_none(
    stored: StubExtension, uri: str, value: str | None
) -> None:
    stored.forced = (429, b"Too Many Requests" + LEAKY)
    stored.forced_headers = {} if value is None else {"Retry-After": value}

    error = refused(uri)

    assert type(error) is SourceUnavailableError
    assert error.retry_after is None


@pytest.mark.parametrize("uri", URIS, ids=["secret", "parameter"])
@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [(401, b"Unauthorized", SourceAuthenticationError), (400, GENERIC_400, SourceNotFoundError)],
)
def test_only_throttled_or_unavailable_answers_carry_it(
    stored: StubExtension, uri: str, status: int, body: bytes, kind: type[SourceError]
) -> None:
    stored.forced = (status, body + LEAKY)
    stored.forced_headers = {"Retry-After": "7"}

    error = refused(uri)

    assert type(error) is kind
    assert error.retry_after is None


# -- end to end through the resolver -------------------------------------------------------------


@pytest.mark.parametrize("uri", URIS, ids=["secret", "parameter"])
def test_no_request_reaches_the_extension_before_retry_after_has_passed(
    stored: StubExtension, uri: str
) -> None:
    clock = FakeClock(0.0)
    resolver = Resolver([uri], clock=clock, spawn=lambda work: work())
    stored.forced = (429, b"Too Many Requests" + LEAKY)
    stored.forced_headers = {"Retry-After": "7"}

    with pytest.raises(SourceUnavailableError) as first:
        check_no_leaks(lambda: resolver.get_auth("voice"))
    asked = len(stored.requests)
    clock.now = 5.0  # past the resolver's own first backoff (1 s, at most 1.5 with jitter)
    with pytest.raises(SourceUnavailableError) as within:
        check_no_leaks(lambda: resolver.get_auth("voice"))
    during = len(stored.requests)
    stored.forced = None
    clock.now = 7.5
    voice = check_no_leaks(lambda: resolver.get_auth("voice"))

    assert first.value.retry_after == within.value.retry_after == 7.0
    assert asked == 1
    assert during == 1
    assert len(stored.requests) == 2
    assert voice.username == "jdoe"


@pytest.mark.parametrize("uri", URIS, ids=["secret", "parameter"])
def test_stale_credentials_are_served_without_asking_until_retry_after_has_passed(
    stored: StubExtension, uri: str
) -> None:
    clock = FakeClock(0.0)
    resolver = Resolver([f"{uri}?ttl=60&max_stale=3600"], clock=clock, spawn=lambda work: work())
    resolver.get_auth("voice")
    stored.forced = (503, b"Service Unavailable" + LEAKY)
    stored.forced_headers = {"Retry-After": "120"}

    clock.now = 67.0  # past the 60 s TTL whatever its jitter: the refresh fails
    refreshing = check_no_leaks(lambda: resolver.get_auth("voice"))
    failed = len(stored.requests)
    clock.now = 180.0  # past any backoff of the resolver's own, within the 120 s asked for
    during = check_no_leaks(lambda: resolver.get_auth("voice"))
    waited = len(stored.requests)
    clock.now = 188.0
    check_no_leaks(lambda: resolver.get_auth("voice"))

    assert refreshing.username == during.username == "jdoe"
    assert failed == 2
    assert waited == 2
    assert len(stored.requests) == 3
