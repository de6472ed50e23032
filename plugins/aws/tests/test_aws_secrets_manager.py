"""``aws-sm``: real boto3 against moto's server mode (and local servers for failures)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_endpoints import closed_port, failing_endpoint, silent_endpoint
from aws_settings import REGION
from botocore.stub import Stubber
from moto.core.authorization import enable_iam_authentication

from bandwidth_credentials import (
    ConfigurationError,
    Resolver,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD, ProviderContract
from bandwidth_credentials_aws.secrets_manager import MAX_ATTEMPTS, SecretsManagerProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}


def provider(uri: str) -> SecretsManagerProvider:
    return SecretsManagerProvider(parse_source(uri))


# -- reading secrets ---------------------------------------------------------------------


@pytest.mark.parametrize("by", ["Name", "ARN"])
def test_reads_a_json_secret_by_name_or_arn(new_secret: Callable[..., Any], by: str) -> None:
    created = new_secret(VOICE)

    fetched = provider(f"aws-sm:{created[by]}").fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == created["VersionId"]


def test_reads_a_json_secret_stored_as_secret_binary(new_secret: Callable[..., Any]) -> None:
    created = new_secret(binary=json.dumps(VOICE).encode())

    fetched = provider(f"aws-sm:{created['Name']}").fetch()

    assert dict(fetched.values) == VOICE


def test_nested_per_service_objects_pass_through_to_the_normalizer(
    new_secret: Callable[..., Any],
) -> None:
    secret = {
        "accountId": "920012",
        "voice": {"username": "voice-user", "password": CANARY_PASSWORD},
        "messaging": {"username": "msg-user", "password": "msg-pw"},
    }
    created = new_secret(secret)
    uri = f"aws-sm:{created['Name']}"

    fetched = provider(uri).fetch()
    resolver = Resolver([uri])

    assert fetched.values["voice"] == secret["voice"]
    assert resolver.get_auth("voice").username == "voice-user"
    assert resolver.get_auth("messaging").username == "msg-user"


def test_field_maps_a_plain_string_secret_onto_one_key(new_secret: Callable[..., Any]) -> None:
    created = new_secret(CANARY_PASSWORD)

    fetched = provider(f"aws-sm:{created['Name']}?field=BW_PASSWORD").fetch()

    assert dict(fetched.values) == {"BW_PASSWORD": CANARY_PASSWORD}


@pytest.mark.parametrize(
    "stored",
    [CANARY_PASSWORD, json.dumps([CANARY_PASSWORD]), json.dumps(CANARY_PASSWORD), "{broken"],
    ids=["plain string", "json array", "json string", "broken json"],
)
def test_a_secret_that_is_not_a_json_object_says_what_was_expected(
    new_secret: Callable[..., Any], stored: str
) -> None:
    created = new_secret(stored)
    uri = f"aws-sm:{created['Name']}"

    with pytest.raises(SourceFormatError) as caught:
        provider(uri).fetch()

    message = str(caught.value)
    assert "JSON object" in message
    assert "?field=NAME" in message
    assert created["Name"] in message
    assert CANARY_PASSWORD not in message
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_binary_secret_that_is_not_utf8_is_a_format_error(new_secret: Callable[..., Any]) -> None:
    created = new_secret(binary=b"\xff\xfe" + CANARY_PASSWORD.encode())

    with pytest.raises(SourceFormatError) as caught:
        provider(f"aws-sm:{created['Name']}").fetch()

    assert "UTF-8" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)
    assert caught.value.__context__ is None


# -- stages, versions and rotation ----------------------------------------------------------


def test_stages_and_version_ids_select_the_version_read(
    new_secret: Callable[..., Any], sm: Any
) -> None:
    first = new_secret({**VOICE, "username": "first"})
    name = first["Name"]
    second = sm.put_secret_value(
        SecretId=name, SecretString=json.dumps(VOICE | {"username": "second"})
    )
    third = sm.put_secret_value(
        SecretId=name,
        SecretString=json.dumps(VOICE | {"username": "third"}),
        VersionStages=["AWSPENDING"],
    )

    current = provider(f"aws-sm:{name}").fetch()
    previous = provider(f"aws-sm:{name}?stage=AWSPREVIOUS").fetch()
    pending = provider(f"aws-sm:{name}?stage=AWSPENDING").fetch()
    by_id = provider(f"aws-sm:{name}?version_id={first['VersionId']}").fetch()

    assert (current.values["username"], current.version) == ("second", second["VersionId"])
    assert (previous.values["username"], previous.version) == ("first", first["VersionId"])
    assert (pending.values["username"], pending.version) == ("third", third["VersionId"])
    assert (by_id.values["username"], by_id.version) == ("first", first["VersionId"])


def test_rotation_reaches_a_resolver_through_reload(
    new_secret: Callable[..., Any], sm: Any
) -> None:
    created = new_secret({**VOICE, "username": "before"})
    name = created["Name"]
    resolver = Resolver([f"aws-sm:{name}"])
    before = resolver.get_auth("voice")
    pending = sm.put_secret_value(
        SecretId=name,
        SecretString=json.dumps(VOICE | {"username": "after"}),
        VersionStages=["AWSPENDING"],
    )
    sm.update_secret_version_stage(
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=pending["VersionId"],
        RemoveFromVersionId=created["VersionId"],
    )

    cached = resolver.get_auth("voice")
    resolver.reload()
    after = resolver.get_auth("voice")

    assert cached.username == "before"
    assert before.provenance["username"].version == created["VersionId"]
    assert after.username == "after"
    assert after.provenance["username"].version == pending["VersionId"]


def test_remote_store_values_expire_after_the_default_ttl() -> None:
    assert SecretsManagerProvider.default_ttl == 300


# -- where requests go ------------------------------------------------------------------------


def test_service_specific_endpoint_variable_wins_over_the_global_one(
    new_secret: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, aws_env: str
) -> None:
    created = new_secret(VOICE)
    with closed_port() as dead:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", aws_env)

        fetched = provider(f"aws-sm:{created['Name']}").fetch()

    assert fetched.values["username"] == "jdoe"


def test_region_option_selects_the_region_and_is_named_in_errors(
    new_secret: Callable[..., Any],
) -> None:
    created = new_secret(VOICE)
    uri = f"aws-sm:{created['Name']}?region=eu-west-1"

    with pytest.raises(SourceNotFoundError) as caught:
        provider(uri).fetch()

    assert "eu-west-1" in str(caught.value)
    assert created["Name"] in str(caught.value)


def test_an_arn_supplies_its_region_when_none_is_configured(
    new_secret: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = new_secret(VOICE)
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    fetched = provider(f"aws-sm:{created['ARN']}").fetch()

    assert fetched.values["username"] == "jdoe"


def test_no_region_anywhere_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")

    with pytest.raises(ConfigurationError) as caught:
        provider("aws-sm:bandwidth/prod").fetch()

    assert "region" in str(caught.value)


def test_profile_option_reads_credentials_and_region_from_the_shared_files(
    new_secret: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    created = new_secret(VOICE)
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile bandwidth]\nregion = us-east-1\n"
        "aws_access_key_id = profilekey\naws_secret_access_key = profilesecret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)

    sm_provider = provider(f"aws-sm:{created['Name']}?profile=bandwidth")
    fetched = sm_provider.fetch()

    assert fetched.values["username"] == "jdoe"
    assert sm_provider.client()._request_signer._credentials.access_key == "profilekey"


def test_unknown_profile_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        provider("aws-sm:bandwidth/prod?profile=nope-canary").fetch()

    assert "profile" in str(caught.value)
    assert "nope-canary" not in str(caught.value)  # option values are never echoed


@pytest.mark.parametrize(
    "uri",
    [
        "aws-sm:",
        "aws-sm:x?stage=AWSCURRENT&version_id=abc",
        "aws-sm:x?stage=",
        "aws-sm:x?field=",
        "aws-sm:x?read_timeout=0",
        "aws-sm:x?connect_timeout=soon",
    ],
)
def test_bad_options_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        provider(uri)


# -- errors moto produces -----------------------------------------------------------------


def test_missing_secret_is_not_found_naming_secret_and_region() -> None:
    with pytest.raises(SourceNotFoundError) as caught:
        provider("aws-sm:bandwidth/absent").fetch()

    message = str(caught.value)
    assert "'bandwidth/absent'" in message
    assert REGION in message
    assert "ResourceNotFoundException" in message
    assert caught.value.__context__ is None


def test_secret_scheduled_for_deletion_is_an_invalid_request(
    new_secret: Callable[..., Any], sm: Any
) -> None:
    created = new_secret(VOICE)
    sm.delete_secret(SecretId=created["Name"], RecoveryWindowInDays=7)

    with pytest.raises(SourceNotFoundError) as caught:
        provider(f"aws-sm:{created['Name']}").fetch()

    assert "InvalidRequestException" in str(caught.value)
    assert "deletion" in str(caught.value)


def test_identity_without_permission_is_access_denied(
    new_secret: Callable[..., Any], aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    created = new_secret(VOICE)
    iam = boto3.client("iam", region_name=REGION, endpoint_url=aws_env)
    user = f"no-access-{created['Name'].rsplit('-', 1)[1]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])

    with enable_iam_authentication(), pytest.raises(SourceAccessDeniedError) as caught:
        provider(f"aws-sm:{created['Name']}").fetch()

    assert "secretsmanager:GetSecretValue" in str(caught.value)
    assert created["Name"] in str(caught.value)


def test_unknown_access_key_is_an_authentication_error(
    new_secret: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = new_secret(VOICE)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNUNKNOWN00")

    with enable_iam_authentication(), pytest.raises(SourceAuthenticationError) as caught:
        provider(f"aws-sm:{created['Name']}").fetch()

    assert "credentials" in str(caught.value)


def test_no_credentials_anywhere_is_an_authentication_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    with pytest.raises(SourceAuthenticationError) as caught:
        provider("aws-sm:bandwidth/prod").fetch()

    assert "no AWS credentials found" in str(caught.value)
    assert "'bandwidth/prod'" in str(caught.value)


# -- errors from failing endpoints (real botocore, local servers) ----------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalServiceError"), (503, "ServiceUnavailable"), (400, "ThrottlingException")],
)
def test_server_errors_and_throttling_are_retried_then_unavailable(
    monkeypatch: pytest.MonkeyPatch, status: int, code: str
) -> None:
    with failing_endpoint(status, code) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")

        with pytest.raises(SourceUnavailableError) as caught:
            provider("aws-sm:bandwidth/prod").fetch()

    assert server.requests == MAX_ATTEMPTS
    assert f"after {MAX_ATTEMPTS} attempt(s)" in str(caught.value)
    assert code in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)


def test_read_timeout_is_bounded_and_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with silent_endpoint() as silent:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.port}")

        with pytest.raises(SourceUnavailableError) as caught:
            provider("aws-sm:bandwidth/prod?connect_timeout=0.1&read_timeout=0.2").fetch()

        connections = len(silent.accepted)

    assert "timed out" in str(caught.value)
    assert "no complete answer within 0.3 s each" in str(caught.value)
    assert connections == MAX_ATTEMPTS


def test_unreachable_endpoint_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with closed_port() as dead:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")

        with pytest.raises(SourceUnavailableError) as caught:
            provider("aws-sm:bandwidth/prod?connect_timeout=0.5").fetch()

    assert "could not connect" in str(caught.value)
    assert f"127.0.0.1:{dead}" in str(caught.value)
    assert caught.value.__context__ is None


# -- errors moto cannot produce: botocore Stubber ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "error", "words"),
    [
        ("DecryptionFailure", 400, SourceAccessDeniedError, "kms:Decrypt"),
        ("AccessDeniedException", 400, SourceAccessDeniedError, "GetSecretValue"),
        ("InternalServiceError", 500, SourceUnavailableError, "did not serve"),
    ],
)
def test_stubbed_errors_moto_cannot_produce(
    code: str, status: int, error: type[Exception], words: str
) -> None:
    """botocore Stubber: moto never answers DecryptionFailure (it does not call KMS)."""
    sm_provider = provider("aws-sm:bandwidth/prod")
    stubber = Stubber(sm_provider.client())
    stubber.add_client_error(
        "get_secret_value",
        service_error_code=code,
        service_message=CANARY_PASSWORD,
        http_status_code=status,
    )

    with stubber, pytest.raises(error) as caught:
        sm_provider.fetch()

    assert code in str(caught.value)
    assert words in str(caught.value)
    assert "'bandwidth/prod'" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)


# -- cheap imports ------------------------------------------------------------------------------


def test_importing_the_plugin_and_building_a_resolver_does_not_import_boto3() -> None:
    code = (
        "import sys\n"
        "import bandwidth_credentials_aws\n"
        "import bandwidth_credentials_aws.secrets_manager\n"
        "import bandwidth_credentials_aws.lambda_extension\n"
        "from bandwidth_credentials import Resolver\n"
        "Resolver(['aws-sm:bandwidth/prod', 'aws-lambda-ext:bandwidth/prod'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


# -- the provider contract ------------------------------------------------------------------------


class TestSecretsManagerContract(ProviderContract):
    """The core's provider contract, against moto."""

    scheme = "aws-sm"

    @pytest.fixture(autouse=True)
    def _secrets(self, new_secret: Callable[..., Any]) -> None:
        self.new_secret = new_secret

    def store(self, values: Any) -> str:
        return f"aws-sm:{self.new_secret(dict(values))['Name']}"

    def missing_uri(self) -> str:
        return "aws-sm:bandwidth/does-not-exist"
