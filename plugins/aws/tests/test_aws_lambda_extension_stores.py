"""What ``aws-lambda-ext:`` (a secret) and ``aws-lambda-ext:ssm:`` (a parameter) share,
proven once for both: the extension's HTTP protocol against a local stub, and the SDK
fallback against moto."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from aws_extension_stub import StubExtension
from aws_settings import SESSION_TOKEN

from bandwidth_credentials import SourceFormatError, SourceNotFoundError, parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD
from bandwidth_credentials_aws.lambda_extension import LambdaExtensionProvider

VOICE = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
KINDS = ["secret", "parameter"]


def provider(uri: str) -> LambdaExtensionProvider:
    return LambdaExtensionProvider(parse_source(uri))


def put(extension: StubExtension, kind: str, value: str) -> str:
    """Store ``value`` in the stub extension as a secret or a parameter; its URI."""
    if kind == "secret":
        extension.put("bandwidth/prod", value)
        return "aws-lambda-ext:bandwidth/prod"
    extension.put_parameter("/bandwidth/prod/credentials", value)
    return "aws-lambda-ext:ssm:/bandwidth/prod/credentials"


@pytest.mark.parametrize("kind", KINDS)
def test_field_maps_a_plain_value_onto_one_key(extension: StubExtension, kind: str) -> None:
    uri = put(extension, kind, CANARY_PASSWORD)

    fetched = provider(f"{uri}?field=BW_PASSWORD").fetch()

    assert dict(fetched.values) == {"BW_PASSWORD": CANARY_PASSWORD}


@pytest.mark.parametrize("kind", KINDS)
def test_a_plain_value_without_field_says_what_was_expected(
    extension: StubExtension, kind: str
) -> None:
    uri = put(extension, kind, CANARY_PASSWORD)

    with pytest.raises(SourceFormatError) as caught:
        provider(uri).fetch()

    assert "?field=NAME" in str(caught.value)
    assert CANARY_PASSWORD not in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_fallback_sdk_reads_through_boto3_when_no_extension_answers(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, kind: str
) -> None:
    if kind == "secret":
        created = request.getfixturevalue("new_secret")(VOICE)
        target, version = created["Name"], created["VersionId"]
    else:
        target, version = f"ssm:/bandwidth/fallback-{uuid.uuid4().hex[:12]}/json", "1"
        request.getfixturevalue("ssm").put_parameter(
            Name=target[4:], Value=json.dumps(VOICE), Type="SecureString"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: nothing answers there
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(sock.getsockname()[1]))
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)

        fetched = provider(f"aws-lambda-ext:{target}?fallback=sdk&wait=0.05").fetch()

    assert dict(fetched.values) == VOICE
    assert fetched.version == version


@pytest.mark.parametrize(
    ("target", "words"),
    [("bandwidth/absent", "'bandwidth/absent'"), ("ssm:/bandwidth/absent", "ParameterNotFound")],
)
def test_fallback_errors_name_the_configured_source(target: str, words: str) -> None:
    with pytest.raises(SourceNotFoundError) as caught:
        provider(f"aws-lambda-ext:{target}?fallback=sdk").fetch()

    assert caught.value.source == f"aws-lambda-ext:{target}?fallback=***"
    assert words in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_fresh_process_gets_auth_without_importing_boto3(
    extension: StubExtension, kind: str
) -> None:
    env = {**os.environ, "BANDWIDTH_CREDENTIALS_SOURCES": put(extension, kind, json.dumps(VOICE))}
    code = (
        "import sys\n"
        "from bandwidth_credentials import get_auth\n"
        "voice = get_auth('voice')\n"
        "print(voice.username, voice.account_id)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )

    assert result.stdout.splitlines() == ["jdoe 920012", "[]"]
