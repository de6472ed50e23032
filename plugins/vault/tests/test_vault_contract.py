"""The core's provider contract, run against the test server and (opt-in) a real Vault."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from vault_backends import Backend

from bandwidth_credentials.testing import ProviderContract


class TestVaultContract(ProviderContract):
    """``vault:`` passes every test a provider must pass."""

    scheme = "vault"

    @pytest.fixture(autouse=True)
    def _vault(self, vault_env: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
        self.backend = vault_env
        self.prefix = vault_env.fresh("")
        token = vault_env.token([f"{vault_env.kv2}/data/{self.prefix}*"])
        monkeypatch.setenv("VAULT_TOKEN", token)

    def store(self, values: Mapping[str, str]) -> str:
        path = self.prefix + "bandwidth"
        self.backend.put(self.backend.kv2, path, values)
        return f"vault:{self.backend.kv2}/{path}"

    def missing_uri(self) -> str:
        return f"vault:{self.backend.kv2}/{self.prefix}absent"
