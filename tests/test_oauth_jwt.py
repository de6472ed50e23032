"""Reading an access token's JWT claims (unverified; they only inform)."""

from __future__ import annotations

import base64
import json

import pytest

from bandwidth_credentials._jwt import TokenClaims, decode_claims

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
        ({"exp": "soon"}, TokenClaims((), (), False, None)),
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
