"""The Lambda example: its handler resolves at init through the extension, and its IAM
policies grant one action on one secret, or reads under one path and one KMS key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aws_extension_stub import StubExtension

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lambda"


def test_handler_resolves_voice_credentials_at_import(extension: StubExtension) -> None:
    extension.put(
        "bandwidth/prod",
        json.dumps({"accountId": "920012", "username": "api-user", "password": "pw"}),
    )
    env = {**os.environ, "BANDWIDTH_CREDENTIALS_SOURCES": "aws-lambda-ext:bandwidth/prod"}
    code = "import handler, sys; print(handler.VOICE.url('calls')); print('boto3' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=EXAMPLE, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "https://voice.bandwidth.com/api/v2/accounts/920012/calls",
        "False",
    ]
    assert len(extension.requests) == 1


def test_iam_policy_grants_get_secret_value_on_one_secret_only() -> None:
    policy = json.loads((EXAMPLE / "iam-policy.json").read_text())

    [statement] = policy["Statement"]

    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert isinstance(statement["Resource"], str)
    assert statement["Resource"].startswith("arn:aws:secretsmanager:")
    assert ":secret:bandwidth/prod-" in statement["Resource"]
    assert "*" not in statement["Resource"]


def test_parameter_store_policy_grants_reads_under_one_path_and_one_key_via_ssm() -> None:
    policy = json.loads((EXAMPLE / "iam-policy-ssm.json").read_text())

    read, decrypt = policy["Statement"]

    assert read["Effect"] == decrypt["Effect"] == "Allow"
    assert sorted(read["Action"]) == [
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
    ]
    # GetParametersByPath is authorized on the path itself, the reads on what is under it.
    assert read["Resource"] == [
        "arn:aws:ssm:us-east-1:123456789012:parameter/bandwidth/prod",
        "arn:aws:ssm:us-east-1:123456789012:parameter/bandwidth/prod/*",
    ]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert "*" not in decrypt["Resource"]
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}
