"""``?auth=aws``: a SigV4-signed sts:GetCallerIdentity, verified by the test server."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from vault_sigv4 import parse_authorization
from vault_testserver import FakeVault

from bandwidth_credentials import (
    ConfigurationError,
    SourceAuthenticationError,
    parse_source,
)
from bandwidth_credentials.testing import FakeClock
from bandwidth_credentials_vault import VaultProvider

CREDS = {"accountId": "920012", "username": "jdoe", "password": "pw"}
READ = ["secret/data/bandwidth/prod"]
URI = "vault:secret/bandwidth/prod?auth=aws&role=bw-app"
ACCESS_KEY = "AKIAVAULTTESTKEY0001"
SECRET_KEY = "canary-aws-secret-key-7c1e5d20-DO-NOT-LEAK"
SESSION_TOKEN = "canary-aws-session-token-4b8a9e61-DO-NOT-LEAK"
ARN = "arn:aws:sts::123456789012:assumed-role/bw-lambda/bw-fn"
BOUND = "arn:aws:iam::123456789012:role/bw-lambda"


@pytest.fixture
def aws_env(fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeVault:
    """A Vault with an aws mount and a role; AWS credentials in the environment only."""
    fake_env.put("secret", "bandwidth/prod", CREDS)
    fake_env.add_aws_identity(ACCESS_KEY, SECRET_KEY, ARN, session_token=SESSION_TOKEN)
    fake_env.add_aws_role("bw-app", [BOUND], READ)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    isolate_aws_files(monkeypatch, tmp_path)
    return fake_env


def isolate_aws_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ~/.aws files, and no EC2 metadata endpoint (it is not on loopback)."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def provider(uri: str = URI) -> tuple[VaultProvider, FakeClock]:
    made = VaultProvider(parse_source(uri))
    clock = FakeClock()
    made._clock = clock
    return made, clock


def sent_request(vault: FakeVault, index: int = 0, mount: str = "aws") -> dict[str, Any]:
    """The signed request inside the index-th login, decoded."""
    body = vault.calls(f"auth/{mount}/login")[index].body or {}
    headers = json.loads(base64.b64decode(body["iam_request_headers"]))
    return {
        "role": body.get("role"),
        "method": body["iam_http_request_method"],
        "url": base64.b64decode(body["iam_request_url"]).decode(),
        "body": base64.b64decode(body["iam_request_body"]).decode(),
        "headers": {name: values[0] for name, values in headers.items()},
        "scope": parse_authorization(headers["Authorization"][0]),
    }


# -- signing and logging in ---------------------------------------------------------


def test_login_signs_for_the_global_sts_endpoint_even_with_aws_region_set(
    aws_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    fetched = provider()[0].fetch()

    assert dict(fetched.values) == CREDS
    sent = sent_request(aws_env)
    assert sent["method"] == "POST"
    assert sent["url"] == "https://sts.amazonaws.com/"
    assert sent["body"] == "Action=GetCallerIdentity&Version=2011-06-15"
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert sent["role"] == "bw-app"
    assert sent["scope"].region == "us-east-1"
    assert sent["scope"].service == "sts"
    assert aws_env.aws_logins[0]["region"] == "us-east-1"  # verified by recomputing it
    assert [c.token for c in aws_env.calls("auth/aws/login")] == [None]


@pytest.mark.parametrize("how", ["option", "env"])
def test_regional_endpoint_is_signed_for_its_region(
    aws_env: FakeVault, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    aws_env.configure_aws(use_sts_region_from_client=True)
    uri = URI + "&region=eu-west-1" if how == "option" else URI
    if how == "env":
        monkeypatch.setenv("VAULT_STS_ENDPOINT_REGION", "eu-west-1")

    fetched = provider(uri)[0].fetch()

    assert dict(fetched.values) == CREDS
    sent = sent_request(aws_env)
    assert sent["url"] == "https://sts.eu-west-1.amazonaws.com/"
    assert sent["scope"].region == "eu-west-1"
    assert aws_env.aws_logins[0]["region"] == "eu-west-1"


def test_mount_with_a_matching_sts_region_accepts_the_regional_signature(
    aws_env: FakeVault,
) -> None:
    aws_env.configure_aws(sts_region="ap-southeast-2")

    fetched = provider(URI + "&region=ap-southeast-2")[0].fetch()

    assert dict(fetched.values) == CREDS


@pytest.mark.parametrize(
    ("mount_config", "option", "expected_hint"),
    [
        ({}, "&region=eu-west-1", "needs use_sts_region_from_client=true, or sts_endpoint"),
        ({"sts_region": "eu-west-1"}, "", "set ?region= or VAULT_STS_ENDPOINT_REGION"),
    ],
)
def test_scope_for_another_region_than_the_mount_calls_is_refused_with_a_hint(
    aws_env: FakeVault, mount_config: dict[str, Any], option: str, expected_hint: str
) -> None:
    aws_env.configure_aws(**mount_config)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(URI + option)[0].fetch()

    message = str(caught.value)
    assert "auth/aws/login failed (400: STS refused the signed request: SignatureDoesNotMatch)" in (
        message
    )
    assert expected_hint in message
    assert "auth=aws" in message


@pytest.mark.parametrize("how", ["option", "env"])
def test_server_id_header_is_sent_and_signed(
    aws_env: FakeVault, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    aws_env.configure_aws(iam_server_id_header_value="vault.example.com")
    uri = URI + "&header_value=vault.example.com" if how == "option" else URI
    if how == "env":
        monkeypatch.setenv("VAULT_IAM_SERVER_ID", "vault.example.com")

    fetched = provider(uri)[0].fetch()

    assert dict(fetched.values) == CREDS
    sent = sent_request(aws_env)
    assert sent["headers"]["X-Vault-AWS-IAM-Server-ID"] == "vault.example.com"
    assert "x-vault-aws-iam-server-id" in sent["scope"].signed_headers


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("", 'missing header "X-Vault-AWS-IAM-Server-ID"'),
        ("&header_value=vault.dev", 'expected "vault.prod" but got "vault.dev"'),
    ],
)
def test_server_id_the_mount_requires_is_checked(
    aws_env: FakeVault, option: str, expected: str
) -> None:
    aws_env.configure_aws(iam_server_id_header_value="vault.prod")

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(URI + option)[0].fetch()

    assert expected in str(caught.value)
    assert ("set ?header_value= or VAULT_IAM_SERVER_ID" in str(caught.value)) == (not option)


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("AWS_SECRET_ACCESS_KEY", "wrong-secret-key", "SignatureDoesNotMatch"),
        ("AWS_SESSION_TOKEN", "wrong-session-token", "InvalidClientTokenId"),
        ("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000", "InvalidClientTokenId"),
    ],
)
def test_wrong_aws_credentials_are_refused(
    aws_env: FakeVault, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, code: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider()[0].fetch()

    assert f"STS refused the signed request: {code}" in str(caught.value)
    assert aws_env.aws_logins == []
    assert aws_env.calls("secret/") == []


def test_long_term_keys_without_a_session_token_sign_too(
    aws_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_env.add_aws_identity("AKIAUSERKEY000000001", "user-secret", BOUND.replace("role", "user"))
    aws_env.add_aws_role("ci", ["arn:aws:iam::123456789012:user/*"], READ)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSERKEY000000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "user-secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN")

    fetched = provider(URI.replace("bw-app", "ci"))[0].fetch()

    assert dict(fetched.values) == CREDS
    assert "X-Amz-Security-Token" not in sent_request(aws_env)["headers"]


def test_without_a_role_vault_uses_the_principals_friendly_name_on_a_custom_mount(
    aws_env: FakeVault,
) -> None:
    aws_env.add_aws_role("bw-lambda", [BOUND], READ, mount="aws-prod")

    fetched = provider("vault:secret/bandwidth/prod?auth=aws&mount=aws-prod")[0].fetch()

    assert dict(fetched.values) == CREDS
    assert sent_request(aws_env, mount="aws-prod")["role"] is None
    assert aws_env.calls("auth/aws/login") == []
    assert len(aws_env.calls("auth/aws-prod/login")) == 1


def test_principal_not_bound_to_the_role_is_refused(aws_env: FakeVault) -> None:
    aws_env.add_aws_role("other", ["arn:aws:iam::123456789012:role/other"], READ)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider(URI.replace("bw-app", "other"))[0].fetch()

    assert f'IAM Principal "{BOUND}" does not belong to the role "other"' in str(caught.value)


def test_no_aws_credentials_is_an_authentication_error_before_any_login(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_env.configure_aws()
    isolate_aws_files(monkeypatch, tmp_path)

    with pytest.raises(SourceAuthenticationError) as caught:
        provider()[0].fetch()

    assert "auth=aws: no AWS credentials found" in str(caught.value)
    assert fake_env.calls("auth/") == []


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("vault:secret/bw?auth=aws&region=eu_west", "option 'region' must be an AWS region name"),
        ("vault:secret/bw?auth=aws&region=sts.evil.example", "must be an AWS region name"),
        ("vault:secret/bw?auth=jwt&header_value=x", "'header_value' does not apply to auth=jwt"),
        ("vault:secret/bw?region=eu-west-1", "option 'region' does not apply to auth=token"),
        ("vault:secret/bw?auth=aws&header_value=a%0Ab", "'header_value' holds a control"),
    ],
)
def test_bad_aws_options_are_configuration_errors(uri: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        VaultProvider(parse_source(uri))

    assert expected in str(caught.value)
    assert caught.value.source == parse_source(uri).uri


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("VAULT_STS_ENDPOINT_REGION", "sts.evil.example", "must be an AWS region name"),
        ("VAULT_IAM_SERVER_ID", "vault\x01prod", "must be printable text"),
    ],
)
def test_bad_aws_variable_is_a_configuration_error(
    aws_env: FakeVault, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError) as caught:
        provider()[0].fetch()

    assert f"{variable} {expected}" in str(caught.value)
    assert aws_env.calls("auth/") == []


# -- the token's lifetime --------------------------------------------------------------


def test_expiring_token_means_a_freshly_signed_login(aws_env: FakeVault) -> None:
    aws_env.add_aws_role("short", [BOUND], READ, ttl=900, renewable=False)
    source, clock = provider(URI.replace("bw-app", "short"))
    source.fetch()
    clock.now += 800

    source.fetch()

    assert len(aws_env.aws_logins) == 2
    assert len({c.token for c in aws_env.calls("secret/data/")}) == 2


def test_revoked_token_means_one_new_login(aws_env: FakeVault) -> None:
    source, _ = provider()
    source.fetch()
    aws_env.revoke(aws_env.calls("secret/data/")[0].token or "")

    fetched = source.fetch()

    assert dict(fetched.values) == CREDS
    assert len(aws_env.calls("auth/aws/login")) == 2


# -- imports ----------------------------------------------------------------------------


def test_botocore_is_imported_on_the_first_aws_login_only(
    aws_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", aws_env.issue_token(READ))
    code = (
        "import sys\n"
        "from bandwidth_credentials import parse_source\n"
        "from bandwidth_credentials_vault import VaultProvider\n"
        f"aws = VaultProvider(parse_source({URI!r}))\n"
        "seen = ['botocore' in sys.modules]\n"
        "VaultProvider(parse_source('vault:secret/bandwidth/prod')).fetch()\n"
        "seen.append('botocore' in sys.modules)\n"
        "aws.fetch()\n"
        "seen.append('botocore' in sys.modules)\n"
        "print(seen)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[False, False, True]"
    assert len(aws_env.aws_logins) == 1


# -- the README's setup ------------------------------------------------------------------


def test_readme_role_setup_admits_a_lambda_assuming_that_role(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    role = re.search(r"vault write auth/aws/role/(\S+) auth_type=iam", readme)
    bound = re.search(r"bound_iam_principal_arn=(\S+)", readme)
    uri = re.search(r"BANDWIDTH_CREDENTIALS_SOURCES='(vault:[^']+auth=aws[^']*)'", readme)
    assert role is not None
    assert bound is not None
    assert uri is not None
    fake_env.put("secret", "bandwidth/prod", CREDS)
    fake_env.add_aws_role(role[1], [bound[1]], READ)
    session_arn = bound[1].replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
    fake_env.add_aws_identity(ACCESS_KEY, SECRET_KEY, session_arn + "/bw-fn", SESSION_TOKEN)
    for name, value in (
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN),
    ):
        monkeypatch.setenv(name, value)
    isolate_aws_files(monkeypatch, tmp_path)

    fetched = VaultProvider(parse_source(uri[1])).fetch()

    assert dict(fetched.values) == CREDS
