"""auth=aws: no secret key, session token or signed request in any error, log or warning.

The log capture is at DEBUG for every logger, botocore's own included: botocore logs the
canonical request (with the session token) and the signature at DEBUG when it signs, which
the first test shows, so the provider must keep those records out.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import warnings
from pathlib import Path

import pytest
from vault_leak_harness import everything_said
from vault_testserver import FakeVault

from bandwidth_credentials import CredentialsError, Resolver, parse_source
from bandwidth_credentials.testing import CANARY_PASSWORD
from bandwidth_credentials_vault import VaultProvider

ACCESS_KEY = "AKIAVAULTLEAKTEST001"
SECRET_KEY = "canary-aws-secret-key-0e6b3f9a-DO-NOT-LEAK"
SESSION_TOKEN = "canary-aws-session-token-91d4c7e2-DO-NOT-LEAK"
PROCESS_SECRET = "canary-credential-process-output-5f2a-DO-NOT-LEAK"
CANARIES = (SECRET_KEY, SESSION_TOKEN, PROCESS_SECRET, CANARY_PASSWORD)
BOUND = "arn:aws:iam::123456789012:role/bw-lambda"
URI = "vault:secret/bandwidth/prod?auth=aws&role=bw-app"
VALUES = {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}


@pytest.fixture
def aws_vault(fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeVault:
    fake_env.put("secret", "bandwidth/prod", VALUES)
    fake_env.add_aws_identity(
        ACCESS_KEY, SECRET_KEY, "arn:aws:sts::123456789012:assumed-role/bw-lambda/fn", SESSION_TOKEN
    )
    fake_env.add_aws_role("bw-app", [BOUND], ["secret/data/bandwidth/prod"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return fake_env


def signed_parts(vault: FakeVault) -> list[str]:
    """The signed request as Vault received it: each part is a credential for 15 minutes."""
    parts: list[str] = []
    for call in vault.calls("auth/aws/login"):
        encoded = (call.body or {})["iam_request_headers"]
        authorization = json.loads(base64.b64decode(encoded))["Authorization"][0]
        parts += [encoded, authorization, authorization.rpartition("Signature=")[2]]
    return parts


def botocore_signs_directly() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url="https://sts.amazonaws.com/", data="x")
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), "sts", "us-east-1").add_auth(
        request
    )


def test_botocore_debug_records_would_show_the_session_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    botocore_signs_directly()

    assert SESSION_TOKEN in everything_said(None, caplog, [])


def test_successful_login_says_no_secret_and_leaves_botocore_logging_on(
    aws_vault: FakeVault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    resolver = Resolver([URI])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        voice = resolver.get_auth("voice")
        resolver.reload()
    said = everything_said(None, caplog, caught) + repr(resolver) + repr(voice) + str(voice)
    caplog.clear()
    botocore_signs_directly()  # afterwards, on the same thread

    assert len(signed_parts(aws_vault)) == 3
    assert "signed sts:GetCallerIdentity for the us-east-1 STS scope" in said
    for canary in (*CANARIES, *signed_parts(aws_vault)):
        assert canary not in said
    assert SESSION_TOKEN in everything_said(None, caplog, [])


def vault_quotes_the_signed_request(vault: FakeVault, monkeypatch: pytest.MonkeyPatch) -> str:
    vault.aws_echo_status = 400
    return URI


def vault_fails_quoting_the_signed_request(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> str:
    vault.aws_echo_status = 500
    return URI


def sts_refuses_a_wrong_secret_key(vault: FakeVault, monkeypatch: pytest.MonkeyPatch) -> str:
    vault.add_aws_identity(ACCESS_KEY, "the-real-secret-key", BOUND, SESSION_TOKEN)
    return URI


def server_id_missing(vault: FakeVault, monkeypatch: pytest.MonkeyPatch) -> str:
    vault.configure_aws(iam_server_id_header_value="vault.prod")
    return URI


def credential_process_fails_printing_a_secret(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> str:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    config = Path.cwd() / "aws-config"
    command = f"import sys; print({PROCESS_SECRET!r}, file=sys.stderr); sys.exit(3)"
    config.write_text(f'[profile leaky]\ncredential_process = "{sys.executable}" -c "{command}"\n')
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "leaky")
    return URI


SCENARIOS = [
    vault_quotes_the_signed_request,
    vault_fails_quoting_the_signed_request,
    sts_refuses_a_wrong_secret_key,
    server_id_missing,
    credential_process_fails_printing_a_secret,
]


@pytest.mark.parametrize("setup", SCENARIOS, ids=lambda f: f.__name__)
def test_failed_aws_login_says_no_secret(
    aws_vault: FakeVault,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    no_backoff: list[float],
    setup: object,
) -> None:
    assert callable(setup)
    uri = setup(aws_vault, monkeypatch)
    caplog.set_level(logging.DEBUG)
    source = VaultProvider(parse_source(uri))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CredentialsError) as error:
            source.fetch()

    said = everything_said(error.value, caplog, caught) + repr(source)
    signed = signed_parts(aws_vault)
    assert bool(signed) == (setup is not credential_process_fails_printing_a_secret)
    for canary in (*CANARIES, *signed):
        assert canary not in said
    assert error.value.__cause__ is None
    assert error.value.__context__ is None
    assert parse_source(uri).uri in str(error.value)


@pytest.mark.parametrize("status", [400, 500])
def test_quoted_signed_request_is_redacted_not_dropped(
    aws_vault: FakeVault, no_backoff: list[float], status: int
) -> None:
    aws_vault.aws_echo_status = status

    with pytest.raises(CredentialsError) as error:
        VaultProvider(parse_source(URI)).fetch()

    assert f"({status}: refused [redacted] with token [redacted] in [redacted]" in str(error.value)


def test_credential_process_failure_is_named_by_its_type_only(
    aws_vault: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential_process_fails_printing_a_secret(aws_vault, monkeypatch)

    with pytest.raises(CredentialsError) as error:
        VaultProvider(parse_source(URI)).fetch()

    assert "auth=aws: the AWS credential chain failed (CredentialRetrievalError)" in str(
        error.value
    )
    assert aws_vault.calls("auth/") == []
