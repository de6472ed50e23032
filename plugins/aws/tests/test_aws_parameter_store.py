"""``aws-ssm``: real boto3 against moto's server mode (and loopback endpoints for failures).
What it shares with ``aws-sm`` is tested for both in ``test_aws_stores.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from aws_endpoints import failing_endpoint
from aws_settings import REGION

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Resolver,
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
    parse_source,
)
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET, ProviderContract
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


# -- refusals ----------------------------------------------------------------------------------


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
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.port}")

        with pytest.raises(error) as caught:
            provider("aws-ssm:/bandwidth/prod/credentials").fetch()

    text = str(caught.value)
    assert words in text
    assert "'/bandwidth/prod/credentials'" in text
    assert REGION in text
    assert CANARY_PASSWORD not in text
    assert CANARY_SECRET not in text
    assert_unchained(caught.value)


# -- cheap imports -----------------------------------------------------------------------------


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
