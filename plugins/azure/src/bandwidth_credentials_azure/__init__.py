"""Azure Key Vault source for ``bandwidth_credentials``.

One scheme, registered under the entry-point group ``bandwidth_credentials.providers``:

- ``azure-kv:https://NAME.vault.azure.net/secrets/SECRET[/VERSION]`` (or the short
  ``azure-kv:NAME/SECRET[/VERSION]`` for the public cloud) reads one secret with the
  official ``azure-keyvault-secrets`` client and ``azure-identity``'s
  ``DefaultAzureCredential``
  (:class:`~bandwidth_credentials_azure.key_vault.KeyVaultProvider`).

Importing this package imports no Azure SDK: the provider module is loaded through its
entry point, and the SDK is imported on the first fetch.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
