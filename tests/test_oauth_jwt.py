"""Reading an access token's JWT claims (unverified; they only inform)."""

from __future__ import annotations

import base64
import json

import pytest

from bandwidth_credentials import TokenError
from bandwidth_credentials._jwt import MAX_EXP, TokenClaims, decode_claims

from .oauth_servers import jwt


def segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (
            {"accounts": ["920012"], "roles": ["voice", "messaging"], "express": False, "exp": 5},
            TokenClaims(("920012",), ("voice", "messaging"), False, 5.0),
        ),
        ({"accounts": [920012, 9900]}, TokenClaims(("920012", "9900"), (), False, None)),
        ({"accounts": "920012", "express": True}, TokenClaims(("920012",), (), True, None)),
        ({"express": "true"}, TokenClaims((), (), True, None)),
        ({"accounts": [None, True, {"x": 1}], "roles": 7}, TokenClaims((), ("7",), False, None)),
        ({"exp": None}, TokenClaims((), (), False, None)),
        ({}, TokenClaims((), (), False, None)),
    ],
)
def test_claims_are_read_from_the_payload(claims: dict[str, object], expected: TokenClaims) -> None:
    assert decode_claims(jwt(claims)) == expected


@pytest.mark.parametrize(
    "token",
    [
        "opaque-token",
        "a.b",
        "a.b.c.d",
        f"x.{segment(b'[1, 2]')}.s",  # not an object
        f"x.{segment(b'not json')}.s",
        f"x.{segment(bytes([0xFF, 0xFE]))}.s",  # not UTF-8
        "x.***.s",  # not base64url
        f"x.{segment(json.dumps({'accounts': ['1']}).encode()) * 5000}.s",  # too long
    ],
)
def test_anything_else_is_no_claims(token: str) -> None:
    assert decode_claims(token) is None


def raw_jwt(exp: bytes) -> str:
    """A JWT whose payload's ``exp`` is ``exp`` as written (``json.dumps`` cannot write
    5,000 digits: Python refuses to convert them)."""
    payload = b'{"accounts": ["920012"], "exp": ' + exp + b"}"
    return f"{segment(b'{}')}.{segment(payload)}.sig"


# One rule for exp: absent or null is no expiry; anything that is not a JSON number of
# epoch seconds from 0 to MAX_EXP makes the token unreadable, whatever its type or size
# (before the epoch is no token's expiry, and before the year 1 no date can show it).
READABLE_EXP = [
    pytest.param(b"1796558400", 1796558400.0, id="integer"),
    pytest.param(b"1796558400.5", 1796558400.5, id="fraction"),
    pytest.param(b"0", 0.0, id="the-epoch"),
    pytest.param(str(MAX_EXP).encode(), float(MAX_EXP), id="9999-12-31"),
    pytest.param(b"null", None, id="null"),
]
UNREADABLE_EXP = [
    pytest.param(b'"x"', id="text"),
    pytest.param(b'"1796558400"', id="digits-as-text"),
    pytest.param(b'""', id="empty-text"),
    pytest.param(b"true", id="true"),
    pytest.param(b"[1796558400]", id="list"),
    pytest.param(b'{"t": 1}', id="object"),
    pytest.param(str(MAX_EXP + 1).encode(), id="beyond-9999"),
    pytest.param(b"1" + b"0" * 400, id="10**400"),
    pytest.param(b"9" * 5000, id="5000-digits"),
    pytest.param(b"-" + b"9" * 5000, id="minus-5000-digits"),
    pytest.param(b"1e999", id="infinite"),
    pytest.param(b"NaN", id="nan"),
    pytest.param(b"-5", id="negative"),
    pytest.param(b"-100000000000", id="before-the-year-1"),
]


@pytest.mark.parametrize(("exp", "expected"), READABLE_EXP)
def test_an_exp_that_is_a_time_is_read(exp: bytes, expected: float | None) -> None:
    claims = decode_claims(raw_jwt(exp))

    assert claims is not None
    assert claims.expires_at == expected
    assert claims.accounts == ("920012",)


@pytest.mark.parametrize("exp", UNREADABLE_EXP)
def test_any_other_exp_makes_the_token_unreadable(exp: bytes) -> None:
    token = raw_jwt(exp)

    with pytest.raises(TokenError, match="exp claim is not a time") as caught:
        decode_claims(token, client_id="CLI-1", token_url="https://t.example/token")

    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert token not in str(caught.value)
    assert "client CLI-1" in str(caught.value)


def test_a_long_integer_in_another_claim_is_still_its_digits() -> None:
    payload = b'{"accounts": [' + b"9" * 5000 + b"]}"

    claims = decode_claims(f"{segment(b'{}')}.{segment(payload)}.sig")

    assert claims is not None
    assert claims.accounts == ("9" * 5000,)  # the account-id rule then refuses it, named
