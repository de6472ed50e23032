"""What a Bandwidth access token says about itself: its JWT payload, read unverified.

Bandwidth's OAuth access tokens are JWTs (RFC 7519) whose payload lists ``accounts``
(the account ids the credential may use), ``roles`` and ``express`` (a Build account,
voice only), besides the registered ``exp`` claim. The signature is not checked: the
API checks it, and here the claims only inform (account discovery, ``check --online``),
never grant anything.

Malformed individual claims read as absent, except ``exp``: a number that is no time
(before the epoch, beyond :data:`MAX_EXP`, or not finite) makes the token unreadable, a
:class:`TokenError`, since the token's lifetime may be read from it.

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

from ._errors import TokenError
from ._results import TokenClaims

__all__ = ["MAX_EXP", "TokenClaims", "decode_claims"]

MAX_TOKEN_LENGTH = 64 << 10
#: The latest ``exp`` read as a time: 9999-12-31T23:59:59Z (epoch seconds).
MAX_EXP = 253402300799


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


def decode_claims(token: str, *, client_id: str = "", token_url: str = "") -> TokenClaims | None:
    """The claims of ``token``, or ``None`` when it is not a JWT with a JSON object
    payload. Malformed individual claims read as absent; an ``exp`` that is a number but
    no time raises :class:`TokenError` (``client_id``/``token_url`` name where the token
    came from; the token is never in the error)."""
    payload = _payload(token)
    # Neither the token nor its payload stays a local of a frame that may raise: error
    # trackers (Sentry's include_local_variables) record every frame's locals.
    del token
    if not isinstance(payload, dict):
        return None
    exp = payload.get("exp")
    accounts, roles = _strings(payload.get("accounts")), _strings(payload.get("roles"))
    express = payload.get("express")
    del payload
    expires_at = None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        # 0 to MAX_EXP: an instant every reader (an ISO 8601 date, a datetime) can show.
        if isinstance(exp, float) and math.isfinite(exp) and 0 <= exp <= MAX_EXP:
            expires_at = exp
        elif isinstance(exp, int) and 0 <= exp <= MAX_EXP:
            expires_at = float(exp)  # checked first: float(10**400) would overflow
        else:
            where = f" from {token_url}" if token_url else ""
            whose = f" for client {client_id}" if client_id else ""
            raise TokenError(
                f"the access token{whose}{where} is unreadable: its exp claim is not a time",
                client_id=client_id,
                token_url=token_url,
            )
    return TokenClaims(
        accounts=accounts,
        roles=roles,
        express=express is True or (isinstance(express, str) and express.lower() == "true"),
        expires_at=expires_at,
    )
