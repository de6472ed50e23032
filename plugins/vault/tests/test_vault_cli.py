"""The installed pieces end to end: the ``bwcreds`` console script and a cheap import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from vault_backends import Backend

from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

BWCREDS = Path(sys.executable).with_name("bwcreds")
VALUES = {
    "accountId": "920012",
    "username": "jdoe",
    "password": CANARY_PASSWORD,
    "apiToken": "tok",
    "apiSecret": CANARY_SECRET,
}


def bwcreds(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BWCREDS), *args],
        # Basic values in the secret, on a day Bandwidth still accepted them.
        env={**os.environ, "BANDWIDTH_CREDENTIALS_TODAY": "2026-11-30", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def stored(vault_env: Backend) -> tuple[Backend, str, str]:
    path = vault_env.fresh()
    vault_env.put(vault_env.kv2, path, {"password": "older"})
    vault_env.put(vault_env.kv2, path, VALUES)
    token = vault_env.token([f"{vault_env.kv2}/data/{path}"])
    return vault_env, f"vault:{vault_env.kv2}/{path}", token


def test_bwcreds_check_reads_credentials_from_vault(stored: tuple[Backend, str, str]) -> None:
    backend, uri, token = stored
    env = {"VAULT_ADDR": backend.addr, "VAULT_TOKEN": token}
    env["BANDWIDTH_CREDENTIALS_SOURCES"] = uri

    result = bwcreds("check", "--json", env=env)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ready"] is True
    assert report["sources"] == [uri]
    voice = next(s for s in report["services"] if s["service"] == "voice")
    assert voice["sources"]["password"] == [uri, "password"]
    assert CANARY_PASSWORD not in result.stdout + result.stderr
    assert CANARY_SECRET not in result.stdout + result.stderr


def test_bwcreds_explain_shows_the_kv_version_read(stored: tuple[Backend, str, str]) -> None:
    backend, uri, token = stored
    env = {"VAULT_ADDR": backend.addr, "VAULT_TOKEN": token}

    result = bwcreds("explain", "--sources", uri, env=env)

    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["voice", "password", uri, "password", "2"] in rows
    assert CANARY_PASSWORD not in result.stdout + result.stderr


def test_bwcreds_check_reports_a_denied_read_without_secrets(
    stored: tuple[Backend, str, str],
) -> None:
    backend, uri, _ = stored
    other = backend.token([f"{backend.kv2}/data/elsewhere"])
    env = {"VAULT_ADDR": backend.addr, "VAULT_TOKEN": other}

    result = bwcreds("check", "--sources", uri, env=env)

    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "permission denied" in output
    assert uri in output
    assert other not in output
    assert CANARY_PASSWORD not in output


def test_importing_the_plugin_and_building_a_resolver_does_not_import_hvac() -> None:
    code = (
        "import sys\n"
        "import bandwidth_credentials_vault\n"
        "from bandwidth_credentials import Resolver\n"
        "Resolver(['vault:secret/bandwidth/prod?auth=kubernetes&role=app'])\n"
        "heavy = ('hvac', 'requests', 'urllib3', 'ssl', 'bandwidth_credentials._http')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
