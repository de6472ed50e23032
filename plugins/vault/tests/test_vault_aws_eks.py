"""auth=aws with EKS-style web identity credentials, obtained from moto's STS.

botocore exchanges the projected service-account token for temporary keys with
AssumeRoleWithWebIdentity (moto's server mode on 127.0.0.1, reached through
``AWS_ENDPOINT_URL_STS``); the Vault test server then verifies the login signed with those
keys, looking them up in moto's STS. botocore logs that exchange at DEBUG (the request with
the web identity token, the answer with the keys), which must stay out of the logs.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from vault_leak_harness import everything_said
from vault_sigv4 import Identity, parse_authorization
from vault_testserver import FakeVault

from bandwidth_credentials import parse_source
from bandwidth_credentials_vault import VaultProvider

WEB_IDENTITY_TOKEN = "eyJcanary-web-identity-token-3a9d-DO-NOT-LEAK"
ROLE_ARN = "arn:aws:iam::123456789012:role/bw-pod"
URI = "vault:secret/bandwidth/prod?auth=aws&role=bw-app"


@pytest.fixture(scope="module")
def moto_sts() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def moto_identity(access_key: str) -> Identity | None:
    """The temporary keys moto's STS issued under this access key id, if any."""
    from moto.sts.models import sts_backends

    for regions in sts_backends.values():
        for backend in regions.values():
            for role in backend.assumed_roles:
                if role.access_key_id == access_key:
                    return Identity(role.arn, role.secret_access_key, role.session_token)
    return None


@pytest.fixture
def eks_pod(
    fake_env: FakeVault, moto_sts: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> FakeVault:
    token_file = tmp_path / "eks-token"
    token_file.write_text(WEB_IDENTITY_TOKEN)
    for name, value in {
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file),
        "AWS_ROLE_ARN": ROLE_ARN,
        "AWS_ROLE_SESSION_NAME": "bw-pod-7d9f",
        "AWS_ENDPOINT_URL_STS": moto_sts,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    fake_env.put("secret", "bandwidth/prod", {"accountId": "920012"})
    fake_env.add_aws_role("bw-app", [ROLE_ARN], ["secret/data/bandwidth/prod"])
    fake_env.aws_identity_lookup = moto_identity
    return fake_env


def test_web_identity_credentials_log_in_and_say_no_secret(
    eks_pod: FakeVault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = VaultProvider(parse_source(URI))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fetched = source.fetch()
    said = everything_said(None, caplog, caught)

    assert dict(fetched.values) == {"accountId": "920012"}
    [login] = eks_pod.aws_logins
    assert login["arn"] == "arn:aws:sts::123456789012:assumed-role/bw-pod/bw-pod-7d9f"
    scope = parse_authorization(login["headers"]["Authorization"][0])
    assert scope is not None
    issued = eks_pod.aws_identities[scope.access_key]
    assert "credentials from assume-role-with-web-identity" in said
    for secret in (WEB_IDENTITY_TOKEN, issued.secret_key, issued.session_token or "-"):
        assert secret not in said
