"""What ``aws-sm`` and ``aws-ssm`` share, proven once for both: real boto3 against moto's
server mode (and loopback endpoints for failures). Each test runs for both stores."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from aws_endpoints import closed_port, failing_endpoint, silent_endpoint
from aws_settings import REGION
from moto.core.authorization import enable_iam_authentication

from bandwidth_credentials import (
    ConfigurationError,
    Provider,
    Resolver,
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD
from bandwidth_credentials_aws._boto import MAX_ATTEMPTS
from bandwidth_credentials_aws.parameter_store import ParameterStoreProvider
from bandwidth_credentials_aws.secrets_manager import SecretsManagerProvider

FIELDS = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": CANARY_PASSWORD}


@dataclass(frozen=True)
class Store:
    """One store as the tests arrange it: ``put_text`` stores one value (a secret, one
    parameter) and gives ``(uri, arn)``; ``put_fields`` stores keys as the store's usual
    layout (a JSON secret, a path of parameters) and gives the URI."""

    scheme: str
    put_text: Callable[[str], tuple[str, str]]
    put_fields: Callable[[Mapping[str, str]], str]
    endpoint_variable: str  # the service-specific AWS_ENDPOINT_URL_* botocore reads
    read_action: str  # the IAM action named when the identity may not read put_fields'
    absent: str  # a name nothing is stored under


def provider(uri: str) -> Provider:
    source = parse_source(uri)
    kind = SecretsManagerProvider if source.scheme == "aws-sm" else ParameterStoreProvider
    return kind(source)


@pytest.fixture(params=["aws-sm", "aws-ssm"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "aws-sm":
        new_secret = request.getfixturevalue("new_secret")

        def put_secret(text: str) -> tuple[str, str]:
            created = new_secret(text)
            return f"aws-sm:{created['Name']}", created["ARN"]

        return Store(
            "aws-sm",
            put_secret,
            lambda fields: f"aws-sm:{new_secret(dict(fields))['Name']}",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "secretsmanager:GetSecretValue",
            "bandwidth/prod",
        )
    ssm = request.getfixturevalue("ssm")
    new_path = request.getfixturevalue("new_path")

    def put_parameter(text: str) -> tuple[str, str]:
        name = f"/bandwidth/test-{uuid.uuid4().hex[:12]}/value"
        ssm.put_parameter(Name=name, Value=text, Type="SecureString")
        return f"aws-ssm:{name}", ssm.get_parameter(Name=name)["Parameter"]["ARN"]

    return Store(
        "aws-ssm",
        put_parameter,
        lambda fields: f"aws-ssm:{new_path(dict(fields))}",
        "AWS_ENDPOINT_URL_SSM",
        "ssm:GetParametersByPath",
        "/bandwidth/prod/",
    )


def assert_unchained(exc: BaseException) -> None:
    assert exc.__cause__ is None
    assert exc.__context__ is None


# -- values ---------------------------------------------------------------------------------


def test_field_maps_a_plain_value_onto_one_key(store: Store) -> None:
    uri, _ = store.put_text(CANARY_PASSWORD)

    fetched = provider(f"{uri}?field=BW_PASSWORD").fetch()

    assert dict(fetched.values) == {"BW_PASSWORD": CANARY_PASSWORD}


@pytest.mark.parametrize(
    "stored",
    [CANARY_PASSWORD, json.dumps([CANARY_PASSWORD]), json.dumps(CANARY_PASSWORD), "{broken"],
    ids=["plain string", "json array", "json string", "broken json"],
)
def test_a_value_that_is_not_a_json_object_says_what_was_expected(
    store: Store, stored: str
) -> None:
    uri, _ = store.put_text(stored)

    with pytest.raises(SourceFormatError) as caught:
        provider(uri).fetch()

    message = str(caught.value)
    assert "JSON object" in message
    assert "?field=NAME" in message
    assert '"clientId": "...", "clientSecret": "..."' in message  # the current scheme's shape
    assert '"username"' not in message  # never the decommissioned API user's
    assert uri.partition(":")[2] in message
    assert CANARY_PASSWORD not in message
    assert_unchained(caught.value)


# -- regions and endpoints --------------------------------------------------------------------


def test_aws_region_alone_is_enough(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda, ECS and CI set AWS_REGION; botocore alone would only read AWS_DEFAULT_REGION."""
    uri = store.put_fields(FIELDS)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)

    auth = Resolver([uri]).get_auth("voice")

    assert auth.username == "jdoe"


def test_region_option_wins_over_aws_region_and_is_named(store: Store) -> None:
    uri = store.put_fields(FIELDS)

    with pytest.raises(SourceNotFoundError) as caught:
        provider(f"{uri}?region=eu-west-1").fetch()

    assert "region eu-west-1" in str(caught.value)
    assert uri.partition(":")[2] in str(caught.value)


def test_an_arn_supplies_its_region_when_none_is_configured(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, arn = store.put_text(json.dumps(FIELDS))
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    fetched = provider(f"{store.scheme}:{arn}").fetch()

    assert fetched.values["BW_USERNAME"] == "jdoe"


def test_no_region_anywhere_is_a_configuration_error(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(ConfigurationError) as caught:
        provider(f"{store.scheme}:{store.absent}").fetch()

    assert "AWS_REGION" in str(caught.value)
    assert f"'{store.absent}'" in str(caught.value)


def test_the_service_specific_endpoint_variable_wins(
    store: Store, monkeypatch: pytest.MonkeyPatch, aws_env: str
) -> None:
    uri = store.put_fields(FIELDS)
    with closed_port() as dead:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
        monkeypatch.setenv(store.endpoint_variable, aws_env)

        fetched = provider(uri).fetch()

    assert fetched.values["BW_USERNAME"] == "jdoe"


# -- refusals and failures --------------------------------------------------------------------


def test_identity_without_permission_is_access_denied(
    store: Store, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    uri = store.put_fields(FIELDS)
    iam = boto3.client("iam", region_name=REGION, endpoint_url=aws_env)
    user = f"no-access-{uuid.uuid4().hex[:12]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    with enable_iam_authentication(), pytest.raises(SourceAccessDeniedError) as caught:
        provider(uri).fetch()

    assert store.read_action in str(caught.value)
    assert uri.partition(":")[2] in str(caught.value)


@pytest.mark.parametrize(
    ("uri", "name", "code"),
    [
        ("aws-sm:bandwidth/absent", "bandwidth/absent", "ResourceNotFoundException"),
        ("aws-ssm:/bandwidth/nothing-here/", "/bandwidth/nothing-here/", "there are no"),
        ("aws-ssm:/bandwidth/missing/absent", "/bandwidth/missing/absent", "ParameterNotFound"),
        ("aws-ssm:/bandwidth/missing/x?version=9", "/bandwidth/missing/x", "VersionNotFound"),
        ("aws-ssm:/bandwidth/missing/x?label=nope", "/bandwidth/missing/x", "ParameterNotFound"),
    ],
)
def test_what_is_not_there_is_not_found_naming_it_and_the_region(
    ssm: Any, uri: str, name: str, code: str
) -> None:
    ssm.put_parameter(Name="/bandwidth/missing/x", Value="{}", Type="String", Overwrite=True)

    with pytest.raises(SourceNotFoundError) as caught:
        provider(uri).fetch()

    message = str(caught.value)
    assert code in message
    assert f"'{name}'" in message
    assert REGION in message
    assert_unchained(caught.value)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "InternalServiceError"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
        (400, "ThrottlingException"),
    ],
)
def test_server_errors_and_throttling_are_retried_then_unavailable(
    store: Store, monkeypatch: pytest.MonkeyPatch, status: int, code: str
) -> None:
    with failing_endpoint(status, code) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.port}")

        with pytest.raises(SourceUnavailableError) as caught:
            provider(f"{store.scheme}:{store.absent}").fetch()

    message = str(caught.value)
    assert server.requests == MAX_ATTEMPTS
    assert f"after {MAX_ATTEMPTS} attempt(s)" in message
    assert code in message
    assert f"'{store.absent}'" in message
    assert CANARY_PASSWORD not in message
    assert_unchained(caught.value)


def test_read_timeout_is_bounded_and_unavailable(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with silent_endpoint() as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.port}")

        with pytest.raises(SourceUnavailableError) as caught:
            provider(f"{store.scheme}:{store.absent}?connect_timeout=0.1&read_timeout=0.2").fetch()

        connections = len(silent.accepted)

    assert "timed out" in str(caught.value)
    assert "no complete answer within 0.3 s each" in str(caught.value)
    assert connections == MAX_ATTEMPTS
    assert_unchained(caught.value)


@pytest.mark.parametrize(
    "uri",
    [
        "aws-sm:",
        "aws-sm:x?stage=AWSCURRENT&version_id=abc",
        "aws-sm:x?stage=",
        "aws-sm:x?field=",
        "aws-sm:x?read_timeout=0",
        "aws-sm:x?connect_timeout=soon",
        "aws-ssm:",
        "aws-ssm:bandwidth/prod",
        "aws-ssm:bandwidth/prod/",
        "aws-ssm:arn:aws:ssm",
        "aws-ssm:arn:aws:secretsmanager:us-east-1:123456789012:secret:bw",
        "aws-ssm:arn:aws:ssm:us-east-1:123456789012:parameter/bw/x:3",
        "aws-ssm:arn:aws:ssm:us-east-1:123456789012:parameter/bandwidth/prod/",
        "aws-ssm:/bandwidth/prod:3",
        "aws-ssm:/x?version=1&label=blue",
        "aws-ssm:/x?version=0",
        "aws-ssm:/x?version=latest",
        "aws-ssm:/x?label=2blue",
        "aws-ssm:/x?label=awsblue",
        "aws-ssm:/x/?version=1",
        "aws-ssm:/x/?field=BW_PASSWORD",
        "aws-ssm:/x?field=",
        "aws-ssm:/x?read_timeout=0",
        "aws-ssm:/x?stage=AWSCURRENT",
    ],
)
def test_bad_uris_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        provider(uri)


# -- cheap imports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "import bandwidth_credentials_aws\n"
        "import bandwidth_credentials_aws.secrets_manager\n"
        "import bandwidth_credentials_aws.lambda_extension\n"
        "from bandwidth_credentials import Resolver\n"
        "Resolver(['aws-sm:bandwidth/prod', 'aws-lambda-ext:bandwidth/prod'])\n",
        "import bandwidth_credentials_aws.parameter_store\n"
        "from bandwidth_credentials import Resolver\n"
        "r = Resolver(['aws-ssm:/bandwidth/prod/', 'aws-ssm:/bandwidth/prod/json?version=2'])\n",
    ],
    ids=["aws-sm", "aws-ssm"],
)
def test_importing_the_plugin_and_building_a_resolver_does_not_import_boto3(code: str) -> None:
    listing = "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"

    result = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}{listing}\n"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "[]"
