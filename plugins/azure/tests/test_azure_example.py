"""The Azure example: its role assignments grant one read role on one vault, and the
app setting it documents works through ``bwcreds check`` against the test vault."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from azure_kv_testserver import KeyVaultServer

from bandwidth_credentials.testing import CANARY_PASSWORD

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "azure"
BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
SECRETS_USER_ROLE_ID = "4633458b-17de-408a-b874-0445c86b69e6"


def test_the_cli_script_assigns_secrets_user_at_one_vault_scope() -> None:
    script = (EXAMPLE / "grant-secrets-user.sh").read_text()

    [command] = re.findall(r"^az role assignment create.*?(?<!\\)\n", script, re.M | re.S)

    assert '--role "Key Vault Secrets User"' in command
    assert '--scope "$VAULT_ID"' in command
    assert 'VAULT_ID=$(az keyvault show --name "$VAULT" --query id' in script
    assert "--resource-group" not in command
    assert "--subscription" not in command


def test_the_bicep_file_assigns_secrets_user_on_the_vault_only() -> None:
    bicep = (EXAMPLE / "grant-secrets-user.bicep").read_text()

    assignments = re.findall(
        r"^resource \w+ 'Microsoft\.Authorization/roleAssignments@", bicep, re.M
    )

    assert len(assignments) == 1
    assert f"'{SECRETS_USER_ROLE_ID}'" in bicep
    assert re.search(r"^\s+scope: vault$", bicep, re.M)
    assert "Microsoft.KeyVault/vaults@" in bicep


def test_the_documented_app_setting_passes_bwcreds_check(
    key_vault: KeyVaultServer, vault: str
) -> None:
    key_vault.put(
        vault,
        "bandwidth",
        {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD},
    )
    env = {
        **os.environ,
        "BANDWIDTH_CREDENTIALS_SOURCES": f"azure-kv:{vault}/bandwidth",
        "BANDWIDTH_CREDENTIALS_TODAY": "2026-11-30",  # Basic values, still accepted that day
    }

    result = subprocess.run(
        [BWCREDS, "check", "--json"], capture_output=True, text=True, env=env, timeout=60
    )

    assert result.returncode == 0, result.stderr
    voice = next(s for s in json.loads(result.stdout)["services"] if s["service"] == "voice")
    assert voice["ready"] is True
    assert voice["sources"]["password"][0] == f"azure-kv:{vault}/bandwidth"
    assert CANARY_PASSWORD not in result.stdout + result.stderr
    assert "azure-kv:bw-prod/bandwidth" in (EXAMPLE / "README.md").read_text()
