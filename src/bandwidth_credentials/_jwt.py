"""What a Bandwidth access token says about itself: its JWT payload, read unverified.

Bandwidth's OAuth access tokens are JWTs (RFC 7519) whose payload lists ``accounts``
(the account ids the credential may use), ``roles`` and ``express`` (a Build account,
voice only), besides the registered ``exp`` claim. The signature is not checked: the
API checks it, and here the claims only inform (account discovery, ``check --online``),
never grant anything.

Malformed ``accounts``, ``roles`` and ``express`` read as absent (they only inform).
``exp`` is different, since the token's lifetime may be read from it; one rule: absent or
``null`` is no expiry known; anything else that is not a JSON number of epoch seconds
from 0 (the epoch) to :data:`MAX_EXP` (a string such as ``"x"`` or ``"1796558400"``, a
boolean, a list, a number too long to read such as one of 5,000 digits, ``1e999``,
``NaN``, 10**400) makes the token unreadable: a :class:`TokenError`. No payload is "not a
JWT" because of a number in it: JSON is read by :func:`loads`, which keeps an integer too
long to read as a :class:`LongNumber` instead of failing (Python refuses to convert more
than 4,300 digits).

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

__all__ = ["MAX_EXP", "LongNumber", "TokenClaims", "decode_claims", "loads"]

#: The longest token whose claims are read: a token answer's own cap (``_http``, 1 MiB), so
#: every token the endpoint can send is read (6,000 accounts make about 130 KiB).
MAX_TOKEN_LENGTH = 1 << 20
#: The latest ``exp`` read as a time: 9999-12-31T23:59:59Z (epoch seconds).
MAX_EXP = 253402300799


#: Digits beyond which a JSON integer is kept as its text (:class:`LongNumber`): far more
#: than any claim, lifetime or account id has, far fewer than Python converts (4,300).
LONG_DIGITS = 100


class LongNumber(str):
    """A JSON integer too long to convert (its digits as text): never a time or a count,
    still shown as the digits it is where a claim's text is shown (an account id)."""

    __slots__ = ()


def _integer(text: str) -> int | LongNumber:
    return int(text) if len(text) <= LONG_DIGITS else LongNumber(text)


def loads(raw: bytes | str) -> Any:
    """JSON as the token path reads it (the token endpoint's answer, a JWT payload):
    ``None`` when it is not JSON (not UTF-8, malformed, nested deeper than the parser
    recurses); an integer of more than :data:`LONG_DIGITS` digits is a
    :class:`LongNumber`. Never raises.

    >>> loads(b'{"exp": 1796558400}')
    {'exp': 1796558400}
    >>> type(loads(b"9" * 5000)).__name__
    'LongNumber'
    """
    try:
        return json.loads(raw, parse_int=_integer)
    except (ValueError, RecursionError):
        # Also UnicodeDecodeError and JSONDecodeError (both ValueErrors).
        return None


def _time(value: Any) -> float | None:
    """``exp`` as epoch seconds, or ``None`` when it is no time (see the module doc)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # LongNumber is a str: too long to be a time
    # 0 to MAX_EXP: an instant every reader (an ISO 8601 date, a datetime) can show.
    if isinstance(value, int):
        return float(value) if 0 <= value <= MAX_EXP else None  # float(10**400) overflows
    return value if math.isfinite(value) and 0 <= value <= MAX_EXP else None


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
    except (binascii.Error, ValueError):
        return None  # not base64url: a token that is not a plain JWT has no claims
    return loads(raw)


def decode_claims(token: str, *, client_id: str = "", token_url: str = "") -> TokenClaims | None:
    """The claims of ``token``, or ``None`` when it is not a JWT with a JSON object
    payload. Malformed ``accounts``/``roles``/``express`` read as absent; an ``exp`` that
    is present and not ``null`` but no time raises :class:`TokenError` (see the module
    doc; ``client_id``/``token_url`` name where the token came from; the token is never in
    the error)."""
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
    expires_at = None if exp is None else _time(exp)
    if expires_at is None and exp is not None:
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
