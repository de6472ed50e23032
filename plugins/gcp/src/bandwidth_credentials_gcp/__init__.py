"""Google Cloud Secret Manager source for ``bandwidth_credentials``.

One scheme, registered under the entry-point group ``bandwidth_credentials.providers``:
``gcp-sm:projects/P/secrets/S`` reads a secret version with the official
``google-cloud-secret-manager`` client
(:class:`~bandwidth_credentials_gcp.secret_manager.SecretManagerProvider`).

Importing this package imports neither the Google client nor grpc nor requests: the
provider module is loaded through its entry point and imports the client on its first
fetch.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
