"""The Lambda example: its handler resolves on the first invocation (never during INIT)
through the extension, and its IAM policies grant one action on one secret, or reads under
one path and one KMS key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from aws_extension_stub import StubExtension

from bandwidth_credentials.testing import serve

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lambda"
EVENT = {
    "to": "+15551230000",
    "from": "+15559870000",
    "applicationId": "app-1",
    "answerUrl": "https://example.invalid/answer",
}


class _Voice(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str | None]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).calls.append((self.path, self.headers.get("Authorization")))
        body = b'{"callId": "c-1"}'
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def voice_api() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """A stand-in for the Voice API on 127.0.0.1 that records each request's path and
    Authorization header."""
    calls: ClassVar[list[tuple[str, str | None]]] = []
    handler = type("Voice", (_Voice,), {"calls": calls})
    with serve(handler) as server:
        yield f"{server.url}/api/v2/accounts/920012", calls


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BANDWIDTH_CREDENTIALS_SOURCES": "aws-lambda-ext:bandwidth/prod",
        "AWS_LAMBDA_FUNCTION_NAME": "bandwidth-example",
    }
    return subprocess.run(
        [sys.executable, "-W", "ignore::FutureWarning", "-c", code],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_handler_import_makes_no_request_to_the_extension(extension: StubExtension) -> None:
    extension.put("bandwidth/prod", json.dumps({"accountId": "920012"}))

    result = _run("import handler, sys; print('boto3' in sys.modules)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False"]
    assert extension.requests == []


def test_handler_resolves_on_the_first_invocation_and_reuses_it(
    extension: StubExtension, voice_api: tuple[str, list[tuple[str, str | None]]]
) -> None:
    base_url, calls = voice_api
    extension.put(
        "bandwidth/prod",
        json.dumps(
            {
                "accountId": "920012",
                "username": "api-user",
                "password": "pw",
                "voice": {"base_url": base_url},
            }
        ),
    )
    code = (
        "import json, sys, handler\n"
        f"event = {EVENT!r}\n"
        "for _ in range(2):\n"
        "    print(handler.handler(event, None)['statusCode'])\n"
        "print('boto3' in sys.modules)\n"
    )

    result = _run(code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["201", "201", "False"]
    assert len(extension.requests) == 1
    assert calls == [("/api/v2/accounts/920012/calls", "Basic YXBpLXVzZXI6cHc=")] * 2


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
