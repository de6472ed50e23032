"""The test server refuses what STS and Vault would refuse: it checks, not trusts, a login.

Each case signs a real request (botocore, through the plugin), changes one thing after
signing, and posts it with hvac; only the untouched request is accepted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import hvac
import hvac.exceptions
import pytest
from vault_sigv4 import Identity, StsRefusal, verify
from vault_testserver import FakeVault

from bandwidth_credentials_vault._aws_iam import sign_login

ACCESS_KEY = "AKIAVAULTSERVERTEST1"
SECRET_KEY = "server-test-secret-key"
BOUND = "arn:aws:iam::123456789012:user/ci"
Tamper = Callable[[dict[str, Any], dict[str, list[str]]], None]


def untouched(body: dict[str, Any], headers: dict[str, list[str]]) -> None:
    """Nothing changed."""


def body_changed(body: dict[str, Any], headers: dict[str, list[str]]) -> None:
    body["iam_request_body"] = base64.b64encode(
        b"Action=GetCallerIdentity&Version=2011-06-15&Extra=1"
    ).decode()


def date_changed(body: dict[str, Any], headers: dict[str, list[str]]) -> None:
    stamp = headers["X-Amz-Date"][0]
    headers["X-Amz-Date"] = [stamp[:-3] + ("00Z" if stamp[-3:] != "00Z" else "01Z")]


def host_changed(body: dict[str, Any], headers: dict[str, list[str]]) -> None:
    body["iam_request_url"] = base64.b64encode(b"https://sts.example.com/").decode()


def server_id_added_unsigned(body: dict[str, Any], headers: dict[str, list[str]]) -> None:
    headers["X-Vault-AWS-IAM-Server-ID"] = ["vault.prod"]


def signature_of_another_key(body: dict[str, Any], headers: dict[str, list[str]]) -> None:
    auth = headers["Authorization"][0]
    headers["Authorization"] = [auth[:-4] + ("0000" if auth[-4:] != "0000" else "1111")]


def post_signed(
    vault: FakeVault, monkeypatch: pytest.MonkeyPatch, tamper: Tamper, server_id: str | None
) -> tuple[dict[str, Any] | None, str]:
    """Sign a login, tamper with it, post it with hvac: (answer, refusal text)."""
    vault.add_aws_identity(ACCESS_KEY, SECRET_KEY, BOUND)
    vault.add_aws_role("ci", [BOUND], ["secret/data/*"])
    if server_id:
        vault.configure_aws(iam_server_id_header_value=server_id)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    body = dict(sign_login("ci", None, None, 10.0).body)
    headers = json.loads(base64.b64decode(body["iam_request_headers"]))
    tamper(body, headers)
    body["iam_request_headers"] = base64.b64encode(json.dumps(headers).encode()).decode()
    client = hvac.Client(url=vault.addr, token="", timeout=10)
    try:
        return client.login("/v1/auth/aws/login", json=body), ""
    except hvac.exceptions.InvalidRequest as exc:
        return None, str(exc)


def test_request_as_signed_is_accepted(
    fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer, refusal = post_signed(fake_env, monkeypatch, untouched, None)

    assert refusal == ""
    assert answer is not None
    assert answer["auth"]["client_token"] in fake_env.tokens
    assert fake_env.aws_logins[0]["arn"] == BOUND


@pytest.mark.parametrize(
    ("tamper", "server_id", "expected"),
    [
        (body_changed, None, "SignatureDoesNotMatch"),
        (date_changed, None, "SignatureDoesNotMatch"),
        (host_changed, None, "SignatureDoesNotMatch"),
        (signature_of_another_key, None, "SignatureDoesNotMatch"),
        (server_id_added_unsigned, "vault.prod", "vault header wasn't signed"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_request_changed_after_signing_is_refused(
    fake_env: FakeVault,
    monkeypatch: pytest.MonkeyPatch,
    tamper: Tamper,
    server_id: str | None,
    expected: str,
) -> None:
    answer, refusal = post_signed(fake_env, monkeypatch, tamper, server_id)

    assert answer is None
    assert expected in refusal
    assert fake_env.aws_logins == []


# AWS's worked example in "Create a signed AWS API request" / the SigV4 examples: IAM
# ListUsers on 2015-08-30 12:36:00 UTC with the documentation's example secret key.
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EXAMPLE_HEADERS = {
    "Content-Type": ["application/x-www-form-urlencoded; charset=utf-8"],
    "Host": ["iam.amazonaws.com"],
    "X-Amz-Date": ["20150830T123600Z"],
    "Authorization": [
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    ],
}


@pytest.mark.parametrize(("secret", "accepted"), [(EXAMPLE_SECRET, True), ("other", False)])
def test_verifier_agrees_with_aws_published_example(secret: str, accepted: bool) -> None:
    identities = {"AKIDEXAMPLE": Identity("arn:aws:iam::1:user/example", secret)}
    when = datetime(2015, 8, 30, 12, 36, tzinfo=timezone.utc)

    try:
        verify(
            "GET",
            "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
            b"",
            EXAMPLE_HEADERS,
            identities,
            "us-east-1",
            now=when,
            service="iam",
        )
        refused = ""
    except StsRefusal as refusal:
        refused = refusal.code

    assert refused == ("" if accepted else "SignatureDoesNotMatch")
