"""``aws-ssm``: real boto3 against moto's server mode (and loopback endpoints for failures)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from aws_endpoints import closed_port, failing_endpoint, silent_endpoint
from aws_settings import REGION
from moto.core.authorization import enable_iam_authentication

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Resolver,
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET, ProviderContract
from bandwidth_credentials_aws._boto import MAX_ATTEMPTS
from bandwidth_credentials_aws.parameter_store import PAGE_SIZE, ParameterStoreProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
FIELDS = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": CANARY_PASSWORD}


def provider(uri: str) -> ParameterStoreProvider:
    return ParameterStoreProvider(parse_source(uri))


def assert_unchained(exc: BaseException) -> None:
    assert exc.__cause__ is None
    assert exc.__context__ is None


# -- a path ---------------------------------------------------------------------------------


def test_a_path_reads_every_parameter_under_it_recursively_decrypted(
    new_path: Callable[..., str], ssm: Any
) -> None:
    path = new_path({"BW_ACCOUNT_ID": "920012", "voice/BW_USERNAME": "jdoe"}, kind="String")
    ssm.put_parameter(Name=path + "BW_PASSWORD", Value=CANARY_PASSWORD, Type="SecureString")

    fetched = provider(f"aws-ssm:{path}").fetch()

    assert dict(fetched.values) == FIELDS


def test_a_path_is_read_page_by_page(new_path: Callable[..., str]) -> None:
    values = {f"KEY_{n:02d}": f"value-{n}" for n in range(2 * PAGE_SIZE + 3)}
    path = new_path(values, kind="String")

    fetched = provider(f"aws-ssm:{path}").fetch()

    assert dict(fetched.values) == values


def test_a_path_resolves_credentials_through_a_resolver(new_path: Callable[..., str]) -> None:
    path = new_path(FIELDS)

    auth = Resolver([f"aws-ssm:{path}"]).get_auth("voice")

    assert auth.username == "jdoe"
    assert auth.password is not None
    assert auth.password.get_secret_value() == CANARY_PASSWORD


def test_a_path_version_changes_when_a_parameter_is_added_changed_or_deleted(
    new_path: Callable[..., str], ssm: Any
) -> None:
    path = new_path({"BW_USERNAME": "jdoe", "BW_PASSWORD": "one"})
    read = provider(f"aws-ssm:{path}")

    first = read.fetch().version
    ssm.put_parameter(Name=path + "BW_PASSWORD", Value="two", Type="SecureString", Overwrite=True)
    changed = read.fetch().version
    ssm.delete_parameter(Name=path + "BW_USERNAME")
    deleted = read.fetch().version
    ssm.put_parameter(Name=path + "BW_ACCOUNT_ID", Value="920012", Type="String")
    added = read.fetch().version

    prefixes = [str(v).rsplit(":", 1)[0] for v in (first, changed, deleted, added)]
    assert prefixes == ["1:2", "2:2", "2:1", "2:2"]
    assert len({first, changed, deleted, added}) == 4


def test_two_parameters_with_the_same_last_segment_are_a_format_error(
    new_path: Callable[..., str],
) -> None:
    path = new_path({"voice/BW_PASSWORD": CANARY_PASSWORD, "messaging/BW_PASSWORD": CANARY_SECRET})

    with pytest.raises(SourceFormatError) as caught:
        provider(f"aws-ssm:{path}").fetch()

    message = str(caught.value)
    assert f"{path}voice/BW_PASSWORD" in message
    assert f"{path}messaging/BW_PASSWORD" in message
    assert CANARY_PASSWORD not in message
    assert CANARY_SECRET not in message


def test_an_empty_path_is_not_found_naming_path_and_region() -> None:
    with pytest.raises(SourceNotFoundError) as caught:
        provider("aws-ssm:/bandwidth/nothing-here/").fetch()

    assert "'/bandwidth/nothing-here/'" in str(caught.value)
    assert REGION in str(caught.value)


# -- one parameter ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["SecureString", "String"])
def test_one_parameter_holds_a_json_object_of_fields(ssm: Any, kind: str) -> None:
    ssm.put_parameter(
        Name="/bandwidth/one/json", Value=json.dumps(VOICE), Type=kind, Overwrite=True
    )

    fetched = provider("aws-ssm:/bandwidth/one/json").fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == str(
        ssm.get_parameter(Name="/bandwidth/one/json")["Parameter"]["Version"]
    )


def test_a_parameter_arn_is_read_and_supplies_its_region(
    ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssm.put_parameter(Name="/bandwidth/arn/json", Value=json.dumps(VOICE), Type="SecureString")
    arn = ssm.get_parameter(Name="/bandwidth/arn/json")["Parameter"]["ARN"]
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    fetched = provider(f"aws-ssm:{arn}").fetch()

    assert fetched.values["username"] == "jdoe"


def test_field_uses_a_plain_value_as_one_key(ssm: Any) -> None:
    ssm.put_parameter(Name="/bandwidth/one/pw", Value=CANARY_PASSWORD, Type="SecureString")

    fetched = provider("aws-ssm:/bandwidth/one/pw?field=BW_PASSWORD").fetch()

    assert dict(fetched.values) == {"BW_PASSWORD": CANARY_PASSWORD}


def test_a_plain_value_without_field_says_what_was_expected(ssm: Any) -> None:
    ssm.put_parameter(Name="/bandwidth/one/plain", Value=CANARY_PASSWORD, Type="SecureString")

    with pytest.raises(SourceFormatError) as caught:
        provider("aws-ssm:/bandwidth/one/plain").fetch()

    assert "JSON object" in str(caught.value)
    assert "?field=NAME" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)
    assert_unchained(caught.value)


def test_version_and_label_select_the_version_read(ssm: Any) -> None:
    name = "/bandwidth/versions/json"
    for user in ("first", "second", "third"):
        ssm.put_parameter(
            Name=name,
            Value=json.dumps(VOICE | {"username": user}),
            Type="SecureString",
            Overwrite=True,
        )
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["blue"])

    latest = provider(f"aws-ssm:{name}").fetch()
    by_version = provider(f"aws-ssm:{name}?version=1").fetch()
    by_label = provider(f"aws-ssm:{name}?label=blue").fetch()

    assert (latest.values["username"], latest.version) == ("third", "3")
    assert (by_version.values["username"], by_version.version) == ("first", "1")
    assert (by_label.values["username"], by_label.version) == ("second", "2")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "ParameterNotFound"),
        ("?version=9", "ParameterVersionNotFound"),
        ("?label=nope", "ParameterNotFound"),
    ],
)
def test_a_missing_parameter_or_version_is_not_found(ssm: Any, query: str, code: str) -> None:
    ssm.put_parameter(Name="/bandwidth/missing/x", Value="{}", Type="String", Overwrite=True)
    name = "/bandwidth/missing/x" if query else "/bandwidth/missing/absent"

    with pytest.raises(SourceNotFoundError) as caught:
        provider(f"aws-ssm:{name}{query}").fetch()

    assert code in str(caught.value)
    assert f"'{name}'" in str(caught.value)
    assert REGION in str(caught.value)
    assert_unchained(caught.value)


@pytest.mark.parametrize(
    "uri",
    [
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


# -- regions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["aws-sm", "aws-ssm"])
def test_aws_region_alone_is_enough(
    scheme: str, monkeypatch: pytest.MonkeyPatch, new_path: Callable[..., str], sm: Any
) -> None:
    """Lambda, ECS and CI set AWS_REGION; botocore alone would only read AWS_DEFAULT_REGION."""
    if scheme == "aws-sm":
        sm.create_secret(Name="bandwidth/region-only", SecretString=json.dumps(VOICE))
        uri = "aws-sm:bandwidth/region-only"
    else:
        uri = f"aws-ssm:{new_path(FIELDS)}"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)

    auth = Resolver([uri]).get_auth("voice")

    assert auth.username == "jdoe"


def test_region_option_wins_over_aws_region_and_is_named(
    new_path: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_path(FIELDS)
    monkeypatch.setenv("AWS_REGION", REGION)

    with pytest.raises(SourceNotFoundError) as caught:
        provider(f"aws-ssm:{path}?region=eu-west-1").fetch()

    assert "region eu-west-1" in str(caught.value)


def test_no_region_anywhere_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(ConfigurationError) as caught:
        provider("aws-ssm:/bandwidth/prod/").fetch()

    assert "AWS_REGION" in str(caught.value)
    assert "'/bandwidth/prod/'" in str(caught.value)


def test_the_service_specific_endpoint_variable_wins(
    new_path: Callable[..., str], monkeypatch: pytest.MonkeyPatch, aws_env: str
) -> None:
    path = new_path(FIELDS)
    with closed_port() as dead:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", aws_env)

        fetched = provider(f"aws-ssm:{path}").fetch()

    assert fetched.values["BW_USERNAME"] == "jdoe"


# -- refusals ----------------------------------------------------------------------------------


def test_identity_without_permission_is_access_denied(
    new_path: Callable[..., str], aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    path = new_path(FIELDS)
    iam = boto3.client("iam", region_name=REGION, endpoint_url=aws_env)
    user = f"no-ssm-{path.strip('/').rsplit('-', 1)[1]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    with enable_iam_authentication(), pytest.raises(SourceAccessDeniedError) as caught:
        provider(f"aws-ssm:{path}").fetch()

    assert "ssm:GetParametersByPath" in str(caught.value)
    assert path in str(caught.value)


KMS_DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/fn is not authorized to perform: "
    f"kms:Decrypt ({CANARY_PASSWORD})"
)


@pytest.mark.parametrize(
    ("status", "code", "message", "error", "words"),
    [
        (400, "AccessDeniedException", KMS_DENIED, SourceAccessDeniedError, "kms:Decrypt"),
        (
            400,
            "AccessDeniedException",
            CANARY_PASSWORD,
            SourceAccessDeniedError,
            "ssm:GetParameter",
        ),
        (400, "InvalidKeyId", CANARY_PASSWORD, SourceAccessDeniedError, "KMS key"),
        (400, "ValidationException", CANARY_PASSWORD, ConfigurationError, "check the name"),
        (400, "ParameterNotFound", CANARY_PASSWORD, SourceNotFoundError, "does not exist"),
        (400, "Weird<Code>" + CANARY_SECRET, CANARY_PASSWORD, CredentialsError, "unrecognised"),
    ],
)
def test_service_errors_are_typed_and_carry_no_service_text(
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    code: str,
    message: str,
    error: type[Exception],
    words: str,
) -> None:
    with failing_endpoint(status, code, message) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")

        with pytest.raises(error) as caught:
            provider("aws-ssm:/bandwidth/prod/credentials").fetch()

    text = str(caught.value)
    assert words in text
    assert "'/bandwidth/prod/credentials'" in text
    assert REGION in text
    assert CANARY_PASSWORD not in text
    assert CANARY_SECRET not in text
    assert_unchained(caught.value)


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalServerError"), (503, "ServiceUnavailable"), (400, "ThrottlingException")],
)
def test_throttling_and_server_errors_are_retried_then_unavailable(
    monkeypatch: pytest.MonkeyPatch, status: int, code: str
) -> None:
    with failing_endpoint(status, code) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")

        with pytest.raises(SourceUnavailableError) as caught:
            provider("aws-ssm:/bandwidth/prod/").fetch()

    assert server.requests == MAX_ATTEMPTS
    assert code in str(caught.value)
    assert "'/bandwidth/prod/'" in str(caught.value)
    assert_unchained(caught.value)


def test_read_timeout_is_bounded_and_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with silent_endpoint() as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.port}")

        with pytest.raises(SourceUnavailableError) as caught:
            provider("aws-ssm:/bandwidth/prod/x?connect_timeout=0.1&read_timeout=0.2").fetch()

    assert "no complete answer within 0.3 s each" in str(caught.value)
    assert_unchained(caught.value)


# -- cheap imports -----------------------------------------------------------------------------


def test_importing_the_provider_and_building_a_resolver_does_not_import_boto3() -> None:
    code = (
        "import sys\n"
        "import bandwidth_credentials_aws.parameter_store\n"
        "from bandwidth_credentials import Resolver\n"
        "r = Resolver(['aws-ssm:/bandwidth/prod/', 'aws-ssm:/bandwidth/prod/json?version=2'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


def test_the_first_fetch_imports_boto3(new_path: Callable[..., str]) -> None:
    code = (
        "import sys\n"
        "from bandwidth_credentials_aws.parameter_store import ParameterStoreProvider\n"
        "from bandwidth_credentials import parse_source\n"
        f"p = ParameterStoreProvider(parse_source('aws-ssm:{new_path(FIELDS)}'))\n"
        "before = 'boto3' in sys.modules\n"
        "p.fetch()\n"
        "print(before, 'boto3' in sys.modules)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False True"


# -- the provider contract ---------------------------------------------------------------------


class TestParameterStorePathContract(ProviderContract):
    """The core's provider contract for a path: one parameter per key."""

    scheme = "aws-ssm"

    @pytest.fixture(autouse=True)
    def _parameters(self, new_path: Callable[..., str]) -> None:
        self.new_path = new_path

    def store(self, values: Any) -> str:
        return f"aws-ssm:{self.new_path(dict(values))}"

    def missing_uri(self) -> str:
        return "aws-ssm:/bandwidth/does-not-exist/"


class TestParameterStoreSingleContract(ProviderContract):
    """The core's provider contract for one parameter holding a JSON object."""

    scheme = "aws-ssm"

    @pytest.fixture(autouse=True)
    def _client(self, ssm: Any) -> None:
        self.ssm = ssm

    def store(self, values: Any) -> str:
        name = f"/bandwidth/contract-{len(values)}-{id(values)}"
        self.ssm.put_parameter(
            Name=name, Value=json.dumps(dict(values)), Type="SecureString", Overwrite=True
        )
        return f"aws-ssm:{name}"

    def missing_uri(self) -> str:
        return "aws-ssm:/bandwidth/does-not-exist"
