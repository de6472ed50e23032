"""The plugin as a whole: the provider contract, cheap imports, the missing-plugin hint."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping

import pytest
from azure_kv_testserver import KeyVaultServer

import bandwidth_credentials._registry as registry
from bandwidth_credentials import ConfigurationError, Resolver, parse_source
from bandwidth_credentials.testing import ProviderContract
from bandwidth_credentials_azure.key_vault import KeyVaultProvider


class TestKeyVaultContract(ProviderContract):
    """``azure-kv:`` passes every test a provider must pass, against the test vault."""

    scheme = "azure-kv"

    @pytest.fixture(autouse=True)
    def _vault(self, key_vault: KeyVaultServer, new_vault: Callable[[], str]) -> None:
        self.key_vault = key_vault
        self.vault = new_vault()

    def store(self, values: Mapping[str, str]) -> str:
        self.key_vault.put(self.vault, "bandwidth", dict(values))
        return f"azure-kv:https://{self.vault}.vault.azure.net/secrets/bandwidth"

    def missing_uri(self) -> str:
        return f"azure-kv:{self.vault}/does-not-exist"


def test_importing_the_plugin_and_building_a_resolver_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "import bandwidth_credentials_azure\n"
        "import bandwidth_credentials_azure.key_vault\n"
        "from bandwidth_credentials import Resolver\n"
        "Resolver(['azure-kv:myvault/bandwidth'])\n"
        "heavy = ('azure', 'msal', 'requests')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


def test_without_the_plugin_the_error_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not installed: no entry point, and the package does not import.
    found = {k: v for k, v in registry._discover().items() if k != "azure-kv"}
    monkeypatch.setattr(registry, "_entry_points", found)
    monkeypatch.setattr(registry, "_loaded", {})
    for name in [m for m in sys.modules if m.split(".")[0] == "bandwidth_credentials_azure"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "bandwidth_credentials_azure", None)

    with pytest.raises(ConfigurationError) as caught:
        Resolver(["azure-kv:myvault/bandwidth"])

    assert "pip install bandwidth-credentials-azure" in str(caught.value)


def test_a_missing_sdk_is_a_configuration_error_naming_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "azure.keyvault.secrets", None)
    provider = KeyVaultProvider(parse_source("azure-kv:myvault/bandwidth"))

    with pytest.raises(ConfigurationError) as caught:
        provider.fetch()

    assert "pip install bandwidth-credentials-azure" in str(caught.value)
    assert caught.value.__context__ is None
