"""Rotating client secrets through Bandwidth's Credentials API (``bwcreds rotate``'s engine).

:func:`rotate` runs a whole rotation against one source URI whose provider can write
(:meth:`Provider.store`): create a secret at Bandwidth, keep it in the store as pending,
prove it with a token, promote it, read it back. The pieces are public too, for rotation
functions that drive a store themselves (``bandwidth_credentials_aws.rotation`` for AWS
Secrets Manager's four steps):

- :func:`client_credentials` finds the client id and secret in one secret's values and
  resolves the token endpoint as the library would; the Credentials API's origin is the
  token endpoint's (``api.bandwidth.com``, ``test.api.bandwidth.com`` or ``BW_API_URL``).
- :func:`access_token`, :func:`create_client_secret`, :func:`with_new_secret`,
  :func:`expiry_after`, :func:`parse_duration`.

Facts from Bandwidth's Credential Management guide: ``POST
/api/v1/credentials/{clientId}/secrets`` with ``{"expirationDate": ...}`` answers the new
``clientSecret`` once; the caller needs the *Credential access* role; a client id holds at
most two active secrets. Bandwidth documents no call to list or delete secrets.

>>> from bandwidth_credentials.rotation import rotate, parse_duration
>>> rotate("vault:secret/bandwidth", expires_in=parse_duration("90d"))["rotated"]  # doctest: +SKIP
True
"""

from __future__ import annotations

from ._rotate import (
    STEPS,
    ClientCredentials,
    RotationError,
    access_token,
    admin_credentials,
    client_credentials,
    create_client_secret,
    expiry_after,
    parse_duration,
    rotate,
    with_new_secret,
)

__all__ = [
    "STEPS",
    "ClientCredentials",
    "RotationError",
    "access_token",
    "admin_credentials",
    "client_credentials",
    "create_client_secret",
    "expiry_after",
    "parse_duration",
    "rotate",
    "with_new_secret",
]
