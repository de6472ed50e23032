"""The Lambda example: its handler resolves at init through the extension, and its IAM
policy grants one action on one secret."""

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
