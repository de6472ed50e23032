"""The HTTP Basic ``Authorization`` value (RFC 7617), built in one place.

Used for API user and Messaging token credentials (``ServiceAuth``), for OAuth client
authentication at the token endpoint (RFC 6749 §2.3.1; Bandwidth's SDKs send the id and
secret as given, not form-encoded) and for a proxy's ``Proxy-Authorization``.

>>> basic_authorization("user", "pass")
'Basic dXNlcjpwYXNz'
"""

from __future__ import annotations

import binascii

__all__ = ["basic_authorization"]


def basic_authorization(user: str, password: str) -> str:
    """``"Basic " + base64(user ":" password)``, UTF-8 encoded; never raises for ``str``
    input (base64 through :mod:`binascii`: no ``base64`` import at start-up)."""
    pair = f"{user}:{password}".encode()
    return "Basic " + binascii.b2a_base64(pair, newline=False).decode("ascii")
