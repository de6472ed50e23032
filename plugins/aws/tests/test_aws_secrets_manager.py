"""``aws-sm``: real boto3 against moto's server mode (and local servers for failures).
What it shares with ``aws-ssm`` is tested for both in ``test_aws_stores.py``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_endpoints import closed_port
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
from bandwidth_credentials_aws.secrets_manager import SecretsManagerProvider

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


# -- errors moto produces -----------------------------------------------------------------


def test_secret_scheduled_for_deletion_is_an_invalid_request(
    new_secret: Callable[..., Any], sm: Any
) -> None:
    created = new_secret(VOICE)
    sm.delete_secret(SecretId=created["Name"], RecoveryWindowInDays=7)

    with pytest.raises(SourceNotFoundError) as caught:
        provider(f"aws-sm:{created['Name']}").fetch()

    assert "InvalidRequestException" in str(caught.value)
    assert "deletion" in str(caught.value)


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
