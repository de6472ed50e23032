"""What a Lambda cold start through the extension may not load: the import budget of
``aws-lambda-ext:`` (AWS bills the init phase, so every module on this path is paid for on
every cold start; see bench/aws_cold_start.py for the figures).

``json``, ``urllib.parse`` and what they load (``re``, ``enum``, ``functools``,
``ipaddress``, ``warnings``) are needed: the answer is JSON and the core's bounded client
parses URLs. Everything listed below is not.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_extension_stub import StubExtension
from aws_settings import REGION, SESSION_TOKEN

from bandwidth_credentials import parse_source
from bandwidth_credentials_aws.lambda_extension import LambdaExtensionProvider

NOT_LOADED = (
    # The point of the extension: no SDK, and none of the other AWS schemes' modules.
    "boto3",
    "botocore",
    "bandwidth_credentials_aws.secrets_manager",
    "bandwidth_credentials_aws.parameter_store",
    "bandwidth_credentials_aws._boto",
    "bandwidth_credentials_aws._redact",
    "bandwidth_credentials_aws._transport",
    # Built-in and project schemes resolve without reading entry points.
    "importlib",
    "importlib.metadata",
    "email",
    "zipfile",
    # logging (with traceback, string, textwrap, contextlib), typing, threading.
    "logging",
    "traceback",
    "string",
    "textwrap",
    "contextlib",
    "typing",
    "threading",
    # dataclasses (with inspect, ast, dis, copy), hashlib, base64 (with struct).
    "dataclasses",
    "inspect",
    "ast",
    "dis",
    "copy",
    "hashlib",
    "base64",
    "struct",
    # The extension is plain HTTP on loopback: no TLS, no proxy machinery.
    "ssl",
    "urllib.request",
    "http.client",
)

# Prints the credentials read and every module the import and the first get_auth() loaded.
# flush: stdout is a pipe, and CI does not set PYTHONUNBUFFERED.
CODE = (
    "import sys\n"
    "before = set(sys.modules)\n"
    "from bandwidth_credentials import get_auth\n"
    "voice = get_auth('voice')\n"
    "print(voice.account_id, voice.username, flush=True)\n"
    "print(' '.join(sorted(set(sys.modules) - before)), flush=True)\n"
)

VOICE = {"accountId": "920012", "username": "lambda-user", "password": "lambda-password"}


def lambda_env(source: str, port: int) -> dict[str, str]:
    """The variables Lambda sets for a function with the extension layer, and no others of
    AWS's or this library's (no endpoint, no keys: nothing could reach an SDK)."""
    prefixes = ("BW_", "BANDWIDTH_", "AWS_", "PARAMETERS_SECRETS_", "PYTHONWARNINGS")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(prefixes)}
    env.update(
        {
            "BANDWIDTH_CREDENTIALS_SOURCES": source,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_REGION": REGION,
        }
    )
    return env


@pytest.mark.parametrize(
    ("store", "source"),
    [
        ("secret", "aws-lambda-ext:bandwidth/prod"),
        ("parameter", "aws-lambda-ext:ssm:/bandwidth/prod/credentials"),
    ],
)
def test_a_cold_start_through_the_extension_stays_within_its_import_budget(
    extension: StubExtension, tmp_path: Path, store: str, source: str
) -> None:
    if store == "secret":
        extension.put("bandwidth/prod", json.dumps(VOICE))
    else:
        extension.put_parameter("/bandwidth/prod/credentials", json.dumps(VOICE))

    result = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        env=lambda_env(source, extension.port),
        cwd=str(tmp_path),
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    read, modules = result.stdout.splitlines()[-2:]
    assert read == "920012 lambda-user"
    assert len(extension.requests) == 1
    loaded = set(modules.split())
    assert "bandwidth_credentials_aws.lambda_extension" in loaded
    assert sorted(name for name in NOT_LOADED if name in loaded) == []


def test_the_fallback_notice_still_reaches_the_library_logger(
    new_secret: Callable[..., dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    created = new_secret(VOICE)
    caplog.set_level(logging.INFO, logger="bandwidth_credentials")
    # No AWS_SESSION_TOKEN here (outside Lambda), so no extension can be asked.
    provider = LambdaExtensionProvider(
        parse_source(f"aws-lambda-ext:{created['Name']}?fallback=sdk")
    )

    fetched = provider.fetch()

    assert fetched.values["username"] == "lambda-user"
    [record] = [r for r in caplog.records if r.name == "bandwidth_credentials"]
    assert record.levelno == logging.INFO
    assert "AWS_SESSION_TOKEN is not set" in record.getMessage()
    assert "reading with the AWS SDK" in record.getMessage()
    # Attributed to the provider's code, as a module-level logger's record would be.
    assert (record.module, record.funcName) == ("lambda_extension", "fetch")
