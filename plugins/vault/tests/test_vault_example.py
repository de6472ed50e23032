"""examples/vault: the least-privilege policy really is enough, and no more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from vault_testserver import FakeVault

from bandwidth_credentials import SourceAccessDeniedError, parse_source
from bandwidth_credentials_vault import VaultProvider

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "vault"
STANZA = re.compile(r'^path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}', re.M)


def policy_paths() -> dict[str, list[str]]:
    text = (EXAMPLE / "bandwidth-read.hcl").read_text()
    return {
        path: [c.strip().strip('"') for c in caps.split(",") if c.strip()]
        for path, caps in STANZA.findall(text)
    }


def test_policy_grants_read_on_one_path_only() -> None:
    assert policy_paths() == {"secret/data/bandwidth/prod": ["read"]}


def test_readme_uses_the_policy_and_the_uri_it_grants() -> None:
    readme = (EXAMPLE / "README.md").read_text()

    assert "vault policy write bandwidth-read examples/vault/bandwidth-read.hcl" in readme
    assert "BANDWIDTH_CREDENTIALS_SOURCES=vault:secret/bandwidth/prod" in readme
    assert "vault kv put -mount=secret bandwidth/prod" in readme


@pytest.fixture
def policy_token(fake_env: FakeVault, monkeypatch: pytest.MonkeyPatch) -> FakeVault:
    fake_env.put("secret", "bandwidth/prod", {"accountId": "920012"})
    fake_env.put("secret", "bandwidth/staging", {"accountId": "920013"})
    monkeypatch.setenv("VAULT_TOKEN", fake_env.issue_token(list(policy_paths())))
    return fake_env


def test_a_token_with_the_policy_reads_the_secret(policy_token: FakeVault) -> None:
    fetched = VaultProvider(parse_source("vault:secret/bandwidth/prod")).fetch()

    assert dict(fetched.values) == {"accountId": "920012"}


def test_a_token_with_the_policy_reads_nothing_else(policy_token: FakeVault) -> None:
    with pytest.raises(SourceAccessDeniedError) as caught:
        VaultProvider(parse_source("vault:secret/bandwidth/staging")).fetch()

    assert "reading secret/data/bandwidth/staging" in str(caught.value)
