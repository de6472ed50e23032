"""``bwcreds check`` through the installed console script, against moto and the stub extension."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_extension_stub import StubExtension

from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
SECRET = {
    "accountId": "920012",
    "username": "jdoe",
    "password": CANARY_PASSWORD,
    "apiToken": "msg-token",
    "apiSecret": CANARY_SECRET,
}


def bwcreds(sources: str, *args: str) -> subprocess.CompletedProcess[str]:
    # Basic values in the secrets, on a day Bandwidth still accepted them.
    env = {
        **os.environ,
        "BANDWIDTH_CREDENTIALS_SOURCES": sources,
        "BANDWIDTH_CREDENTIALS_TODAY": "2026-11-30",
    }
    return subprocess.run(
        [BWCREDS, "check", *args], capture_output=True, text=True, env=env, timeout=60
    )


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    for canary in (CANARY_PASSWORD, CANARY_SECRET):
        assert canary not in result.stdout
        assert canary not in result.stderr


def test_check_reports_every_service_ready_from_secrets_manager(
    new_secret: Callable[..., Any],
) -> None:
    created = new_secret(SECRET)

    result = bwcreds(f"aws-sm:{created['Name']}", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ready"] is True
    assert {entry["service"] for entry in report["services"]} >= {
        "voice",
        "messaging",
        "numbers",
        "account",
    }
    assert all(entry["ready"] for entry in report["services"])
    voice = next(entry for entry in report["services"] if entry["service"] == "voice")
    assert voice["sources"]["password"] == [f"aws-sm:{created['Name']}", "password"]
    assert_clean(result)


def test_check_fails_naming_the_missing_secret_and_region() -> None:
    result = bwcreds("aws-sm:bandwidth/absent")

    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "bandwidth/absent" in output
    assert "us-east-1" in output


def test_check_through_the_lambda_extension(extension: StubExtension) -> None:
    extension.put("bandwidth/prod", json.dumps(SECRET))

    result = bwcreds("aws-lambda-ext:bandwidth/prod", "voice")

    assert result.returncode == 0, result.stderr
    assert "voice" in result.stdout
    assert_clean(result)
