"""What a Bandwidth access token says about itself: its JWT payload, read unverified.

Bandwidth's OAuth access tokens are JWTs (RFC 7519) whose payload lists ``accounts``
(the account ids the credential may use), ``roles`` and ``express`` (a Build account,
voice only), besides the registered ``exp`` claim. The signature is not checked: the
API checks it, and here the claims only inform (account discovery, ``check --online``),
never grant anything.

>>> claims = decode_claims(token)                              # doctest: +SKIP
>>> claims.accounts, claims.express                            # doctest: +SKIP
(('920012',), False)
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from ._results import TokenClaims

__all__ = ["TokenClaims", "decode_claims"]

MAX_TOKEN_LENGTH = 64 << 10


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        return ()
    items = (v for v in value if isinstance(v, (str, int)) and not isinstance(v, bool))
    return tuple(str(v) for v in items)


def _payload(token: str) -> Any:
    parts = token.split(".")
    if len(parts) != 3 or len(token) > MAX_TOKEN_LENGTH:
        return None
    segment = parts[1]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        # Also UnicodeDecodeError, JSONDecodeError, and a payload nested deeper than the
        # parser recurses: claims only inform, a token that is not a plain JWT has none.
        return None


def decode_claims(token: str) -> TokenClaims | None:
    """The claims of ``token``, or ``None`` when it is not a JWT with a JSON object
    payload. Malformed individual claims read as absent, never as an error."""
    payload = _payload(token)
    if not isinstance(payload, dict):
        return None
    exp = payload.get("exp")
    expires_at = None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and math.isfinite(exp):
        expires_at = float(exp)
    express = payload.get("express")
    return TokenClaims(
        accounts=_strings(payload.get("accounts")),
        roles=_strings(payload.get("roles")),
        express=express is True or (isinstance(express, str) and express.lower() == "true"),
        expires_at=expires_at,
    )
