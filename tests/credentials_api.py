"""The loopback Bandwidth (token endpoint and Credentials API) the rotation tests use; it
lives in the test kit (:mod:`bandwidth_credentials.testing`) because the public store
contract runs ``bwcreds rotate`` against it."""

from __future__ import annotations

from bandwidth_credentials.testing._credentials_api import (
    CREATED_CANARIES,
    CREDENTIAL_ACCESS,
    Bandwidth,
    Client,
    jwt,
    new_secret,
    serve_bandwidth,
)

__all__ = [
    "CREATED_CANARIES",
    "CREDENTIAL_ACCESS",
    "Bandwidth",
    "Client",
    "jwt",
    "new_secret",
    "serve_bandwidth",
]
