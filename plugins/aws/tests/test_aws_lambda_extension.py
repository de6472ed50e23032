"""``aws-lambda-ext``: the extension's HTTP protocol against a local stub that follows it.
What it shares with ``aws-lambda-ext:ssm:`` is tested for both in
``test_aws_lambda_extension_stores.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aws_extension_stub import GENERIC_400, StubExtension
from aws_settings import SESSION_TOKEN

from bandwidth_credentials import (
    ConfigurationError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD, ProviderContract
from bandwidth_credentials_aws.lambda_extension import DEFAULT_PORT, LambdaExtensionProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}


def provider(uri: str) -> LambdaExtensionProvider:
    return LambdaExtensionProvider(parse_source(uri))


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


# -- the protocol ---------------------------------------------------------------------------


def test_asks_the_documented_endpoint_with_the_session_token(extension: StubExtension) -> None:
    version = extension.put("bandwidth/prod", json.dumps(VOICE))

    fetched = provider("aws-lambda-ext:bandwidth/prod").fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == version
    [(path, token)] = extension.requests
    assert urlsplit(path).path == "/secretsmanager/get"
    assert query_of(path) == {"secretId": ["bandwidth/prod"], "versionStage": ["AWSCURRENT"]}
    assert token == SESSION_TOKEN


def test_reads_by_arn(extension: StubExtension) -> None:
    extension.put("bandwidth/prod", json.dumps(VOICE))

    fetched = provider(f"aws-lambda-ext:{extension.arn('bandwidth/prod')}").fetch()

    assert fetched.values["username"] == "jdoe"
    assert query_of(extension.requests[0][0])["secretId"] == [extension.arn("bandwidth/prod")]


def test_stage_and_version_id_go_into_the_query(extension: StubExtension) -> None:
    first = extension.put("bw", json.dumps(VOICE | {"username": "first"}))
    extension.put("bw", json.dumps(VOICE | {"username": "second"}))

    previous = provider("aws-lambda-ext:bw?stage=AWSPREVIOUS").fetch()
    by_id = provider(f"aws-lambda-ext:bw?version_id={first}").fetch()

    assert previous.values["username"] == "first"
    assert by_id.values["username"] == "first"
    assert query_of(extension.requests[0][0])["versionStage"] == ["AWSPREVIOUS"]
    assert query_of(extension.requests[1][0]) == {"secretId": ["bw"], "versionId": [first]}


def test_binary_secret_arrives_base64_encoded(extension: StubExtension) -> None:
    extension.put("bw", binary=json.dumps(VOICE).encode())

    fetched = provider("aws-lambda-ext:bw").fetch()

    assert dict(fetched.values) == VOICE


def test_port_defaults_to_2773(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", raising=False)

    assert provider("aws-lambda-ext:bw")._port() == DEFAULT_PORT == 2773


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_bad_port_variable_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, port: str
) -> None:
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)

    with pytest.raises(ConfigurationError):
        provider("aws-lambda-ext:bw").fetch()


@pytest.mark.parametrize(
    "uri",
    ["aws-lambda-ext:", "aws-lambda-ext:bw?fallback=maybe", "aws-lambda-ext:bw?timeout=0"],
)
def test_bad_options_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        provider(uri)


# -- start-up: not ready yet, and no extension at all -----------------------------------------


def test_retries_while_the_extension_is_not_ready(extension: StubExtension) -> None:
    extension.put("bw", json.dumps(VOICE))
    extension.not_ready_answers = 3

    fetched = provider("aws-lambda-ext:bw").fetch()

    assert fetched.values["username"] == "jdoe"
    assert len(extension.requests) == 4


def test_an_extension_that_stays_not_ready_is_unavailable(extension: StubExtension) -> None:
    extension.put("bw", json.dumps(VOICE))
    extension.not_ready_answers = 10_000

    with pytest.raises(SourceUnavailableError) as caught:
        provider("aws-lambda-ext:bw?wait=0.1").fetch()

    assert "not ready" in str(caught.value)
    assert len(extension.requests) > 1


def test_no_extension_listening_is_unavailable_and_names_the_layer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = dead_port()
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(port))
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)

    with pytest.raises(SourceUnavailableError) as caught:
        provider("aws-lambda-ext:bw?wait=0.05").fetch()

    assert f"port {port}" in str(caught.value)
    assert "cannot connect (Connection refused)" in str(caught.value)
    assert "fallback=sdk" in str(caught.value)


def test_fallback_sdk_is_used_outside_lambda_without_a_session_token(
    new_secret: Callable[..., Any],
) -> None:
    created = new_secret(VOICE)

    fetched = provider(f"aws-lambda-ext:{created['Name']}?fallback=sdk").fetch()

    assert fetched.values["username"] == "jdoe"


def test_an_answering_extension_is_never_bypassed_by_the_fallback(
    extension: StubExtension,
) -> None:
    with pytest.raises(SourceNotFoundError):
        provider("aws-lambda-ext:bandwidth/absent?fallback=sdk").fetch()

    assert len(extension.requests) == 1


# -- error answers ------------------------------------------------------------------------------


def test_missing_session_token_is_an_authentication_error(
    extension: StubExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SESSION_TOKEN")

    with pytest.raises(SourceAuthenticationError) as caught:
        provider("aws-lambda-ext:bw").fetch()

    assert "AWS_SESSION_TOKEN" in str(caught.value)
    assert extension.requests == []


def test_wrong_session_token_gets_401_and_an_authentication_error(
    extension: StubExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    extension.put("bw", json.dumps(VOICE))
    monkeypatch.setenv("AWS_SESSION_TOKEN", CANARY_PASSWORD)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider("aws-lambda-ext:bw").fetch()

    assert "HTTP 401" in str(caught.value)
    assert "X-Aws-Parameters-Secrets-Token" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)


def test_unknown_secret_gets_the_bare_400_and_a_not_found_error(
    extension: StubExtension,
) -> None:
    with pytest.raises(SourceNotFoundError) as caught:
        provider("aws-lambda-ext:bandwidth/absent").fetch()

    message = str(caught.value)
    assert "HTTP 400" in message
    assert "'bandwidth/absent'" in message
    assert "us-east-1" in message
    assert "CloudWatch" in message


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, b'{"__type":"ResourceNotFoundException"}', SourceNotFoundError),
        (400, b'{"__type":"AccessDeniedException"}', SourceAccessDeniedError),
        (400, b'{"__type":"DecryptionFailure"}', SourceAccessDeniedError),
        (400, b'{"__type":"InvalidRequestException"}', SourceNotFoundError),
        (400, b'{"__type":"ThrottlingException"}', SourceUnavailableError),
        (403, b"Forbidden", SourceAccessDeniedError),
        (429, b"Too Many Requests", SourceUnavailableError),
        (500, GENERIC_400.replace(b"400 Bad Request", b"500"), SourceUnavailableError),
        (502, b"Bad Gateway", SourceUnavailableError),
    ],
)
def test_error_answers_map_to_library_errors(
    extension: StubExtension, status: int, body: bytes, error: type[Exception]
) -> None:
    extension.forced = (status, body + CANARY_PASSWORD.encode())

    with pytest.raises(error) as caught:
        provider("aws-lambda-ext:bw").fetch()

    assert f"HTTP {status}" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [b"not json " + CANARY_PASSWORD.encode(), json.dumps([CANARY_PASSWORD]).encode()],
    ids=["not json", "json array"],
)
def test_an_answer_that_is_not_get_secret_value_json_is_a_format_error(
    extension: StubExtension, body: bytes
) -> None:
    extension.forced = (200, body)

    with pytest.raises(SourceFormatError) as caught:
        provider("aws-lambda-ext:bw").fetch()

    assert "GetSecretValue" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)


# -- the provider contract -----------------------------------------------------------------------


class TestLambdaExtensionContract(ProviderContract):
    """The core's provider contract, against the stub extension."""

    scheme = "aws-lambda-ext"

    @pytest.fixture(autouse=True)
    def _extension(self, extension: StubExtension, tmp_path: Path) -> None:
        self.extension = extension

    def store(self, values: Any) -> str:
        self.extension.put("bandwidth/contract", json.dumps(dict(values)))
        return "aws-lambda-ext:bandwidth/contract"

    def missing_uri(self) -> str:
        return "aws-lambda-ext:bandwidth/does-not-exist"
