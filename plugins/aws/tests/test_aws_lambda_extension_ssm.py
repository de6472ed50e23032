"""``aws-lambda-ext:ssm:``: Parameter Store through the extension's HTTP API (a local stub).
What it shares with ``aws-lambda-ext:`` secrets is tested for both in
``test_aws_lambda_extension_stores.py``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aws_extension_stub import StubExtension
from aws_settings import REGION, SESSION_TOKEN

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
from bandwidth_credentials_aws.lambda_extension import LambdaExtensionProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
NAME = "/bandwidth/prod/credentials"


def provider(uri: str) -> LambdaExtensionProvider:
    return LambdaExtensionProvider(parse_source(uri))


def query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def assert_unchained(exc: BaseException) -> None:
    assert exc.__cause__ is None
    assert exc.__context__ is None


# -- the protocol ---------------------------------------------------------------------------


def test_asks_the_documented_endpoint_with_decryption_and_the_token(
    extension: StubExtension,
) -> None:
    extension.put_parameter(NAME, json.dumps(VOICE))

    fetched = provider(f"aws-lambda-ext:ssm:{NAME}").fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == "1"
    [(path, token)] = extension.requests
    assert urlsplit(path).path == "/systemsmanager/parameters/get"
    assert query_of(path) == {"name": [NAME], "withDecryption": ["true"]}
    assert token == SESSION_TOKEN


def test_reads_a_parameter_arn(extension: StubExtension) -> None:
    extension.put_parameter(NAME, json.dumps(VOICE))

    fetched = provider(f"aws-lambda-ext:ssm:{extension.parameter_arn(NAME)}").fetch()

    assert fetched.values["username"] == "jdoe"


def test_version_and_label_go_into_the_query_and_select(extension: StubExtension) -> None:
    for user in ("first", "second", "third"):
        extension.put_parameter(NAME, json.dumps(VOICE | {"username": user}))
    extension.label_parameter(NAME, 2, "blue")

    by_version = provider(f"aws-lambda-ext:ssm:{NAME}?version=1").fetch()
    by_label = provider(f"aws-lambda-ext:ssm:{NAME}?label=blue").fetch()

    assert (by_version.values["username"], by_version.version) == ("first", "1")
    assert (by_label.values["username"], by_label.version) == ("second", "2")
    assert query_of(extension.requests[0][0])["version"] == ["1"]
    assert query_of(extension.requests[1][0])["label"] == ["blue"]


# -- what the extension cannot do ---------------------------------------------------------------


def test_a_path_is_a_configuration_error_pointing_at_aws_ssm() -> None:
    with pytest.raises(ConfigurationError) as caught:
        provider("aws-lambda-ext:ssm:/bandwidth/prod/")

    assert "aws-ssm:/bandwidth/prod/" in str(caught.value)
    assert "single parameters only" in str(caught.value)


@pytest.mark.parametrize(
    "uri",
    [
        "aws-lambda-ext:ssm:",
        f"aws-lambda-ext:ssm:{NAME}?stage=AWSCURRENT",
        f"aws-lambda-ext:ssm:{NAME}?version_id=abc",
        f"aws-lambda-ext:ssm:{NAME}?version=1&label=blue",
        "aws-lambda-ext:bandwidth/prod?version=1",
        "aws-lambda-ext:bandwidth/prod?label=blue",
    ],
)
def test_options_of_the_other_store_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        provider(uri)


# LabelParameterVersion (AWS Systems Manager API reference): up to 100 letters, digits, '.',
# '-' or '_'; not starting with a digit, nor with "aws" or "ssm" in any case.
@pytest.mark.parametrize(
    ("label", "accepted"),
    [
        ("blue", True),
        ("Prod-2.green_1", True),
        ("_x", True),
        (".x", True),
        ("-x", True),
        ("aw", True),
        ("awx", True),
        ("b" * 100, True),
        ("b" * 101, False),
        ("2blue", False),
        ("aws", False),
        ("AWSblue", False),
        ("sSmX", False),
        ("blue green", False),
        ("blue/green", False),
        ("blue:1", False),
        ("blüe", False),
    ],
)
def test_labels_are_checked_as_parameter_store_defines_them(label: str, accepted: bool) -> None:
    uri = f"aws-lambda-ext:ssm:{NAME}?" + urlencode({"label": label})

    try:
        selected = provider(uri).request.path()
    except ConfigurationError as exc:
        refusal: ConfigurationError | None = exc
    else:
        refusal = None

    if accepted:
        assert refusal is None
        assert query_of(selected)["label"] == [label]
    else:
        assert refusal is not None
        assert "option 'label' must be a Parameter Store label" in str(refusal)


# -- error answers ------------------------------------------------------------------------------


def test_the_bare_400_lists_the_likely_causes(extension: StubExtension) -> None:
    with pytest.raises(SourceNotFoundError) as caught:
        provider(f"aws-lambda-ext:ssm:{NAME}").fetch()

    message = str(caught.value)
    assert f"'{NAME}'" in message
    assert f"region {REGION}" in message
    for cause in ("does not exist", "name is wrong", "ssm:GetParameter", "kms:Decrypt"):
        assert cause in message
    assert "CloudWatch" in message


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, b"Unauthorized", SourceAuthenticationError),
        (429, b"Too Many Requests", SourceUnavailableError),
        (500, CANARY_PASSWORD.encode(), SourceUnavailableError),
        (400, b"ParameterVersionNotFound " + CANARY_PASSWORD.encode(), SourceNotFoundError),
        (400, b"AccessDeniedException: kms " + CANARY_PASSWORD.encode(), SourceAccessDeniedError),
        (200, b"{" + CANARY_PASSWORD.encode(), SourceFormatError),
        (200, json.dumps({"SecretString": CANARY_PASSWORD}).encode(), SourceFormatError),
    ],
)
def test_error_answers_map_to_library_errors(
    extension: StubExtension, status: int, body: bytes, error: type[Exception]
) -> None:
    extension.forced = (status, body)

    with pytest.raises(error) as caught:
        provider(f"aws-lambda-ext:ssm:{NAME}").fetch()

    assert f"'{NAME}'" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)
    assert_unchained(caught.value)


# -- the provider contract -----------------------------------------------------------------------


class TestLambdaExtensionParameterContract(ProviderContract):
    """The core's provider contract for ``aws-lambda-ext:ssm:``, against the stub extension."""

    scheme = "aws-lambda-ext"

    @pytest.fixture(autouse=True)
    def _extension(self, extension: StubExtension) -> None:
        self.extension = extension

    def store(self, values: Any) -> str:
        self.extension.put_parameter("/bandwidth/contract", json.dumps(dict(values)))
        return "aws-lambda-ext:ssm:/bandwidth/contract"

    def missing_uri(self) -> str:
        return "aws-lambda-ext:ssm:/bandwidth/does-not-exist"
