"""Every wait bounded, every read capped: real botocore (``aws-sm``) and the Lambda
extension client against misbehaving loopback servers.

An ``aws-sm`` attempt's whole exchange must end within ``connect_timeout +
read_timeout``; botocore's standard mode makes 3 attempts with at most 3 s of backoff in
all. The extension client makes one attempt per request within ``timeout``. Each test
asserts the elapsed time against that bound (generously) and that no canary leaks.
"""

from __future__ import annotations

import json
import ssl
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from aws_settings import SESSION_TOKEN
from tests.misbehaving import (
    Behaviour,
    answer,
    hang,
    huge,
    json_body,
    misbehaving,
    reset_mid_body,
    retry_after,
    trickle,
)

from bandwidth_credentials import (
    CredentialsError,
    Provider,
    Resolver,
    SourceFormatError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    check_no_leaks,
    connect_proxy,
    fetch_failing,
    forked_during,
)
from bandwidth_credentials_aws._boto import MAX_BACKOFF_TOTAL
from bandwidth_credentials_aws.lambda_extension import LambdaExtensionProvider
from bandwidth_credentials_aws.secrets_manager import MAX_ATTEMPTS, SecretsManagerProvider

CREDS = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bw-AbCdEf"
# GetSecretValue's answer, as Secrets Manager and the extension send it.
SECRET = json_body(
    {
        "ARN": ARN,
        "Name": "bw",
        "VersionId": "v-1",
        "SecretString": json.dumps(CREDS),
        "VersionStages": ["AWSCURRENT"],
    }
)
CANARIES = (CANARY_PASSWORD, CANARY_SECRET)
Point = Callable[[str, int], None]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Point:
    """Point AWS_ENDPOINT_URL and the extension port at a server (secret key: a canary)."""

    def point(url: str, port: int) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(port))
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)

    return point


def sm(connect: float, read: float) -> Provider:
    return SecretsManagerProvider(
        parse_source(f"aws-sm:bw?connect_timeout={connect:g}&read_timeout={read:g}")
    )


def ext(timeout: float) -> Provider:
    return LambdaExtensionProvider(parse_source(f"aws-lambda-ext:bw?timeout={timeout:g}&wait=0"))


def failing(source: Provider) -> tuple[CredentialsError, float]:
    return fetch_failing(source.fetch, CANARIES)


# -- Secrets Manager through botocore ----------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour", [trickle(SECRET, interval=1.5), hang()], ids=["trickle", "hang"]
)
def test_each_botocore_attempt_ends_at_its_deadline(endpoint: Point, behaviour: Behaviour) -> None:
    with misbehaving(behaviour) as server:
        endpoint(server.url, server.port)

        error, elapsed = failing(sm(connect=1.0, read=1.0))

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert "no complete answer within 2 s each" in str(error)
    assert arrived == MAX_ATTEMPTS  # botocore's standard retries still apply
    bound = MAX_ATTEMPTS * 2.0 + MAX_BACKOFF_TOTAL
    assert MAX_ATTEMPTS * 2.0 - 0.3 <= elapsed < bound + 2.0


def test_a_reset_mid_body_is_retried_by_botocore(endpoint: Point) -> None:
    with misbehaving(reset_mid_body()) as server:
        endpoint(server.url, server.port)

        error, elapsed = failing(sm(connect=1.0, read=1.0))

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert arrived == MAX_ATTEMPTS
    assert elapsed < MAX_BACKOFF_TOTAL + 2.0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_answer_is_refused_unread_and_not_retried(endpoint: Point, chunked: bool) -> None:
    with misbehaving(huge(100 << 20, chunked=chunked)) as server:
        endpoint(server.url, server.port)
        tracemalloc.start()

        error, elapsed = failing(sm(connect=2.0, read=5.0))

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        arrived = len(server.requests)
    assert isinstance(error, SourceFormatError)
    assert "larger than 1048576 bytes" in str(error)
    assert arrived == 1
    assert peak < 16 << 20  # the 1 MiB cap and botocore's own objects, not 100 MB
    assert elapsed < 5.0


def test_throttling_is_retried_by_botocore_then_unavailable(endpoint: Point) -> None:
    body = json_body({"__type": "ThrottlingException", "message": "Rate exceeded"})
    throttled = answer(400, body, {"Content-Type": "application/x-amz-json-1.1"})
    with misbehaving(throttled) as server:
        endpoint(server.url, server.port)

        error, elapsed = failing(sm(connect=1.0, read=1.0))

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert "ThrottlingException" in str(error)
    assert arrived == MAX_ATTEMPTS
    assert elapsed < MAX_BACKOFF_TOTAL + 2.0


def test_aws_ca_bundle_and_https_proxy_are_honoured(
    endpoint: Point, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with misbehaving(answer(200, SECRET), tls=context) as server, connect_proxy() as proxy:
        endpoint(server.url, server.port)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)

        fetched = check_no_leaks(sm(connect=2.0, read=5.0).fetch, CANARIES)

        tunnels = proxy.connects + proxy.refused
    assert dict(fetched.values) == CREDS
    assert tunnels == [f"{server.host}:{server.port}"]


def test_an_unknown_ca_is_refused(endpoint: Point) -> None:
    trustme = pytest.importorskip("trustme")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    with misbehaving(answer(200, SECRET), tls=context) as server:
        endpoint(server.url, server.port)

        error, _ = failing(sm(connect=1.0, read=1.0))

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert arrived == 0


# -- the Lambda extension ------------------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour", [trickle(SECRET, interval=1.5), hang()], ids=["trickle", "hang"]
)
def test_an_extension_request_ends_at_its_deadline(endpoint: Point, behaviour: Behaviour) -> None:
    with misbehaving(behaviour) as server:
        endpoint(server.url, server.port)

        error, elapsed = failing(ext(timeout=2.0))

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert "no complete answer within 2 s" in str(error)
    assert arrived == 1
    assert 1.9 <= elapsed < 4.0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_extension_answer_is_refused_unread(endpoint: Point, chunked: bool) -> None:
    with misbehaving(huge(100 << 20, chunked=chunked)) as server:
        endpoint(server.url, server.port)
        tracemalloc.start()

        error, elapsed = failing(ext(timeout=5.0))

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert isinstance(error, SourceFormatError)
    assert "larger than 1048576 bytes" in str(error)
    assert peak < 8 << 20
    assert elapsed < 5.0


def test_the_extension_answer_is_read_through_the_bounded_client(endpoint: Point) -> None:
    with misbehaving(answer(200, SECRET)) as server:
        endpoint(server.url, server.port)

        fetched = check_no_leaks(ext(timeout=2.0).fetch, CANARIES)

        sent = server.requests[0]
    assert dict(fetched.values) == CREDS
    assert sent.headers["x-aws-parameters-secrets-token"] == SESSION_TOKEN
    assert sent.target.startswith("/secretsmanager/get?secretId=bw")


# -- fork --------------------------------------------------------------------------------------


def test_a_child_forked_during_a_fetch_fetches_on_its_own(endpoint: Point) -> None:
    with misbehaving(hang(), answer(200, SECRET)) as server:
        endpoint(server.url, server.port)
        resolver = Resolver(["aws-sm:bw?connect_timeout=1&read_timeout=4"])

        def child() -> bool:  # its own fetch, within the bound
            started = time.monotonic()
            auth = resolver.get_auth("voice")
            assert auth.password is not None
            fresh = auth.password.get_secret_value() == CANARY_PASSWORD
            return fresh and time.monotonic() - started < 4

        said = forked_during(
            lambda: resolver.get_auth("voice"), server.arrived, child, server.stop, timeout=30
        )

    assert said == "True"


def test_after_fork_leaves_the_parents_client_and_builds_a_new_one(endpoint: Point) -> None:
    with misbehaving(answer(200, SECRET)) as server:
        endpoint(server.url, server.port)
        source = sm(connect=1.0, read=1.0)
        assert isinstance(source, SecretsManagerProvider)
        source.fetch()
        parents = source.client()

        source.after_fork()
        fetched = source.fetch()

        still_usable = parents.get_secret_value(SecretId="bw")["VersionId"]
    assert source.client() is not parents
    assert dict(fetched.values) == CREDS
    assert still_usable == "v-1"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_from_aws_is_carried_to_the_resolver(endpoint: Point, status: int) -> None:
    refused = retry_after(status, "45", b"{}")
    with misbehaving(refused) as server:
        endpoint(server.url, server.port)

        error, _ = failing(sm(connect=1.0, read=1.0))

        arrived = len(server.requests)
    assert isinstance(error, SourceUnavailableError)
    assert error.retry_after == 45.0
    assert arrived == MAX_ATTEMPTS
