"""Canary values must not appear in any error, chained cause, log record or repr of the
AWS providers, whichever way a fetch fails (botocore's own DEBUG records included)."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_extension_stub import StubExtension
from botocore.stub import Stubber

from bandwidth_credentials import CredentialsError, Resolver, parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET
from bandwidth_credentials_aws.lambda_extension import LambdaExtensionProvider
from bandwidth_credentials_aws.parameter_store import ParameterStoreProvider
from bandwidth_credentials_aws.secrets_manager import SecretsManagerProvider

CANARIES = (CANARY_PASSWORD, CANARY_SECRET)
CANARY_JSON = json.dumps({"username": "jdoe", "password": CANARY_PASSWORD})


def full_text(exc: BaseException) -> str:
    """The traceback with every chained cause and context, and the repr."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + repr(exc)


def assert_clean(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


@pytest.fixture
def every_log_record(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG, botocore's included; checked after the test.

    A test that arranges values with its own boto3 client calls ``.clear()`` before the
    act step: botocore logs those requests, values and all, and they are the test's.
    """
    caplog.set_level(logging.DEBUG)
    yield caplog
    # At teardown `caplog.records` holds the teardown phase only: check the test's own.
    records = caplog.get_records("setup") + caplog.get_records("call")
    for record in records:
        assert_clean(record.getMessage())
        assert_clean(repr(record.args))


SM_STORED: list[tuple[str, dict[str, Any], str]] = [
    ("plain string", {"value": CANARY_PASSWORD}, ""),
    ("json array", {"value": json.dumps([CANARY_PASSWORD, CANARY_SECRET])}, ""),
    ("broken json", {"value": '{"password": "' + CANARY_PASSWORD}, ""),
    ("binary not utf-8", {"binary": b"\xff" + CANARY_PASSWORD.encode()}, ""),
    (
        "bad account id",
        {
            "value": json.dumps(
                {"accountId": CANARY_SECRET, "username": "j", "password": CANARY_PASSWORD}
            )
        },
        "",
    ),
    ("half pair", {"value": json.dumps({"accountId": "1", "password": CANARY_PASSWORD})}, ""),
    ("wrong stage", {"value": CANARY_JSON}, "?stage=NOPE"),
]


@pytest.mark.parametrize(
    ("stored", "query"), [(s, q) for _, s, q in SM_STORED], ids=[name for name, _, _ in SM_STORED]
)
def test_secrets_manager_failures_never_show_the_secret(
    new_secret: Callable[..., Any],
    every_log_record: pytest.LogCaptureFixture,
    stored: dict[str, Any],
    query: str,
) -> None:
    created = new_secret(stored.get("value"), binary=stored.get("binary"))
    resolver = Resolver([f"aws-sm:{created['Name']}{query}"])
    every_log_record.clear()

    with pytest.raises(CredentialsError) as caught:
        resolver.get_auth("voice")

    assert_clean(full_text(caught.value))
    assert_clean(repr(resolver))


@pytest.mark.parametrize(
    "code",
    [
        "DecryptionFailure",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "InvalidRequestException",
        "ThrottlingException",
        "SomethingNew",
    ],
)
def test_stubbed_service_messages_quoting_a_secret_are_dropped(
    every_log_record: pytest.LogCaptureFixture, code: str
) -> None:
    """botocore Stubber: a service message that quotes a value must not be carried along."""
    provider = SecretsManagerProvider(parse_source("aws-sm:bandwidth/prod"))
    stubber = Stubber(provider.client())
    stubber.add_client_error(
        "get_secret_value", service_error_code=code, service_message=CANARY_PASSWORD
    )

    with stubber, pytest.raises(CredentialsError) as caught:
        provider.fetch()

    assert_clean(full_text(caught.value))


def test_a_successful_fetch_logs_no_value_even_at_debug(
    new_secret: Callable[..., Any], every_log_record: pytest.LogCaptureFixture
) -> None:
    created = new_secret(binary=CANARY_JSON.encode())
    provider = SecretsManagerProvider(parse_source(f"aws-sm:{created['Name']}"))
    every_log_record.clear()

    fetched = provider.fetch()

    assert fetched.values["password"] == CANARY_PASSWORD
    assert any("redacted" in r.getMessage() for r in every_log_record.records)
    assert_clean(repr(fetched))
    assert_clean(repr(provider))


def test_the_session_token_and_signature_stay_out_of_botocores_debug_log(
    new_secret: Callable[..., Any],
    every_log_record: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = new_secret(
        value=json.dumps({"accountId": "920012", "username": "j", "password": "p"})
    )
    monkeypatch.setenv("AWS_SESSION_TOKEN", CANARY_SECRET)  # a temporary credential's token
    provider = SecretsManagerProvider(parse_source(f"aws-sm:{created['Name']}"))
    every_log_record.clear()

    provider.fetch()

    signing = [
        r for r in every_log_record.records if r.name in ("botocore.auth", "botocore.endpoint")
    ]
    assert signing  # botocore did log the signing steps, redacted
    assert all("x-amz-security-token" not in r.getMessage().lower() for r in signing)


EXTENSION_ANSWERS: list[tuple[str, int, bytes]] = [
    ("400 quoting", 400, CANARY_PASSWORD.encode()),
    ("401 quoting", 401, CANARY_PASSWORD.encode()),
    ("500 quoting", 500, CANARY_SECRET.encode()),
    ("200 not json", 200, b"{" + CANARY_PASSWORD.encode()),
    ("200 array", 200, json.dumps([CANARY_PASSWORD]).encode()),
    ("200 plain secret", 200, json.dumps({"SecretString": CANARY_PASSWORD}).encode()),
    ("200 bad base64", 200, json.dumps({"SecretBinary": "*" + CANARY_SECRET}).encode()),
]


@pytest.mark.parametrize(
    ("status", "body"),
    [(s, b) for _, s, b in EXTENSION_ANSWERS],
    ids=[name for name, _, _ in EXTENSION_ANSWERS],
)
def test_extension_failures_never_show_the_secret(
    extension: StubExtension,
    every_log_record: pytest.LogCaptureFixture,
    status: int,
    body: bytes,
) -> None:
    extension.forced = (status, body)
    provider = LambdaExtensionProvider(parse_source("aws-lambda-ext:bw"))

    with pytest.raises(CredentialsError) as caught:
        provider.fetch()

    assert_clean(full_text(caught.value))


def test_the_session_token_is_never_shown(
    extension: StubExtension,
    every_log_record: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", CANARY_SECRET)

    with pytest.raises(CredentialsError) as caught:
        Resolver(["aws-lambda-ext:bw"]).get_auth("voice")

    assert_clean(full_text(caught.value))


# -- Parameter Store ---------------------------------------------------------------------------


def test_a_path_read_logs_no_value_even_at_debug(
    new_path: Callable[..., str], every_log_record: pytest.LogCaptureFixture
) -> None:
    path = new_path({"BW_PASSWORD": CANARY_PASSWORD, "BW_API_SECRET": CANARY_SECRET})
    provider = ParameterStoreProvider(parse_source(f"aws-ssm:{path}"))
    every_log_record.clear()

    fetched = provider.fetch()

    assert fetched.values["BW_PASSWORD"] == CANARY_PASSWORD
    assert any("redacted" in r.getMessage() for r in every_log_record.records)
    assert_clean(repr(fetched))
    assert_clean(repr(provider))


def test_a_single_parameter_read_logs_no_value_even_at_debug(
    ssm: Any, every_log_record: pytest.LogCaptureFixture
) -> None:
    ssm.put_parameter(Name="/bandwidth/leaks/one", Value=CANARY_JSON, Type="SecureString")
    every_log_record.clear()

    fetched = ParameterStoreProvider(parse_source("aws-ssm:/bandwidth/leaks/one")).fetch()

    assert fetched.values["password"] == CANARY_PASSWORD
    assert any("redacted" in r.getMessage() for r in every_log_record.records)


SSM_STORED: list[tuple[str, dict[str, str], str]] = [
    ("plain string", {"one": CANARY_PASSWORD}, "one"),
    ("broken json", {"one": '{"password": "' + CANARY_PASSWORD}, "one"),
    ("json array", {"one": json.dumps([CANARY_PASSWORD, CANARY_SECRET])}, "one"),
    ("same last segment", {"a/BW_PASSWORD": CANARY_PASSWORD, "b/BW_PASSWORD": CANARY_SECRET}, ""),
    ("bad account id", {"BW_ACCOUNT_ID": CANARY_SECRET, "BW_PASSWORD": CANARY_PASSWORD}, ""),
    ("half pair", {"BW_ACCOUNT_ID": "1", "BW_PASSWORD": CANARY_PASSWORD}, ""),
    ("wrong version", {"one": CANARY_JSON}, "one?version=7"),
]


@pytest.mark.parametrize(
    ("stored", "suffix"), [(s, q) for _, s, q in SSM_STORED], ids=[n for n, _, _ in SSM_STORED]
)
def test_parameter_store_failures_never_show_a_value(
    new_path: Callable[..., str],
    every_log_record: pytest.LogCaptureFixture,
    stored: dict[str, str],
    suffix: str,
) -> None:
    resolver = Resolver([f"aws-ssm:{new_path(stored)}{suffix}"])
    every_log_record.clear()

    with pytest.raises(CredentialsError) as caught:
        resolver.get_auth("voice")

    assert_clean(full_text(caught.value))
    assert_clean(repr(resolver))


@pytest.mark.parametrize(
    ("status", "body"),
    [(s, b) for _, s, b in EXTENSION_ANSWERS]
    + [(200, json.dumps({"Parameter": {"Value": CANARY_PASSWORD, "Version": 1}}).encode())],
)
def test_extension_parameter_failures_never_show_a_value(
    extension: StubExtension,
    every_log_record: pytest.LogCaptureFixture,
    status: int,
    body: bytes,
) -> None:
    extension.forced = (status, body)
    provider = LambdaExtensionProvider(parse_source("aws-lambda-ext:ssm:/bandwidth/prod/x"))

    with pytest.raises(CredentialsError) as caught:
        provider.fetch()

    assert_clean(full_text(caught.value))
