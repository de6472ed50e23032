"""HashiCorp Vault KV source for bandwidth-credentials: ``vault:MOUNT/PATH``.

Installing this package registers the ``vault`` scheme under the entry-point group
``bandwidth_credentials.providers``::

    BANDWIDTH_CREDENTIALS_SOURCES=vault:secret/bandwidth/prod bwcreds check

Importing it is cheap: hvac (and requests) are imported when a provider first fetches.
"""

from __future__ import annotations

from ._provider import VaultInsecureWarning, VaultProvider

__all__ = ["VaultInsecureWarning", "VaultProvider"]
