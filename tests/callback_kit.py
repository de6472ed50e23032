"""Callback requests built as Bandwidth sends them, and the refusal table every path passes.

Facts from Bandwidth's developer docs: voice and messaging callbacks are JSON POSTs with
``Authorization: Basic base64(user:password)`` (RFC 7235) when the application has
callback credentials; Subscriptions 2.0 webhooks carry ``X-Bandwidth-Signature-SHA-256``,
the base64 HMAC-SHA-256 of the body bytes; Toll-Free Verification webhooks carry
``x-bandwidth-signature-hmac-sha256`` (spelled in lowercase), the lowercase hex
HMAC-SHA-256 of the body with the subscription's ``sharedSecretKey``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import NamedTuple

from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

USER = "bw-callbacks"
PASSWORD = CANARY_PASSWORD  # the harness watches for it everywhere
OLD_PASSWORD = "old-callback-pw-5c1e"
WEBHOOK_SECRET = CANARY_SECRET
OLD_WEBHOOK_SECRET = "old-webhook-key-77aa"
TFV_SECRET = "tfv-shared-secret-3b9d4e"  # 16-64 printable ASCII
OLD_TFV_SECRET = "old-tfv-shared-secret-0a"
SECRETS = (PASSWORD, OLD_PASSWORD, WEBHOOK_SECRET, OLD_WEBHOOK_SECRET, TFV_SECRET, OLD_TFV_SECRET)

#: Every callback variable, current and previous (the shared names).
ENV = {
    "BW_CALLBACK_USERNAME": USER,
    "BW_CALLBACK_PASSWORD": PASSWORD,
    "BW_CALLBACK_PREVIOUS_USERNAME": USER,
    "BW_CALLBACK_PREVIOUS_PASSWORD": OLD_PASSWORD,
    "BW_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "BW_WEBHOOK_PREVIOUS_SECRET": OLD_WEBHOOK_SECRET,
    "BW_TFV_WEBHOOK_SECRET": TFV_SECRET,
    "BW_TFV_WEBHOOK_PREVIOUS_SECRET": OLD_TFV_SECRET,
}

# Bodies as Bandwidth sends them: compact JSON for voice (BXML callbacks), the
# Subscriptions 2.0 body with its own spacing, the TFV webhook; the HMAC covers the exact
# bytes, so a re-serialized body (other spacing or key order) would not verify.
VOICE_BODY = (
    b'{"eventType":"answer","eventTime":"2026-12-06T20:15:31.147Z","accountId":"920012",'
    b'"applicationId":"04e88489-df02-4e34-a0ee-27a91849555f","from":"+19195554321",'
    b'"to":"+19195551234","direction":"outbound","callId":"c-95ac8d6e-1a31c52e-b38f-4198",'
    b'"callUrl":"https://voice.bandwidth.com/api/v2/accounts/920012/calls/c-95ac8d6e",'
    b'"startTime":"2026-12-06T20:15:28.117Z","answerTime":"2026-12-06T20:15:31.121Z"}'
)
SUBSCRIPTION_BODY = (
    b'{\n  "eventType": "ORDER_CHANGE",\n  "accountId": "920012",\n'
    b'  "orderId": "0d0c1f3b-8bd4-4c4c-9f4b-2f8b5a1e7c11",\n  "orderType": "portins",\n'
    b'  "status": "COMPLETE",\n  "message": "Caf\xc3\xa9 \xe2\x80\x94 done"\n}'
)
TFV_BODY = (
    b'{"accountId":"920012","phoneNumber":"+18005551234","status":"VERIFIED",'
    b'"internalTicketNumber":"acde070d-8c4c-4f0d-9d8a-162843c10333"}'
)


def basic(user: str = USER, password: str = PASSWORD, scheme: str = "Basic") -> str:
    return f"{scheme} " + base64.b64encode(f"{user}:{password}".encode()).decode()


def subscription_signature(body: bytes, key: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def tfv_signature(body: bytes, key: str = TFV_SECRET) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


class Sent(NamedTuple):
    """One request: header lines in order (names spelled as sent), the body."""

    name: str
    headers: list[tuple[str, str]]
    body: bytes


def voice_callback(password: str = PASSWORD) -> Sent:
    return Sent(
        "basic",
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("User-Agent", "BandwidthAPI/v2"),
            ("Authorization", basic(password=password)),
        ],
        VOICE_BODY,
    )


def subscription_webhook(key: str = WEBHOOK_SECRET) -> Sent:
    return Sent(
        "subscriptions",
        [
            ("Content-Type", "application/json"),
            ("X-Bandwidth-Signature-SHA-256", subscription_signature(SUBSCRIPTION_BODY, key)),
        ],
        SUBSCRIPTION_BODY,
    )


def tfv_webhook(key: str = TFV_SECRET) -> Sent:
    return Sent(
        "tfv",
        [
            ("content-type", "application/json"),
            ("x-bandwidth-signature-hmac-sha256", tfv_signature(TFV_BODY, key)),
        ],
        TFV_BODY,
    )


#: Requests that must be accepted (scheme reported, previous value matched).
ACCEPTED = [
    (voice_callback(), "basic", False),
    (voice_callback(OLD_PASSWORD), "basic", True),
    (subscription_webhook(), "subscriptions", False),
    (subscription_webhook(OLD_WEBHOOK_SECRET), "subscriptions", True),
    (tfv_webhook(), "tfv", False),
    (tfv_webhook(OLD_TFV_SECRET), "tfv", True),
]

_SIG = "X-Bandwidth-Signature-SHA-256"
_TFV = "x-bandwidth-signature-hmac-sha256"
_JSON = ("Content-Type", "application/json")
_TEN_MIB = b"{" + b" " * (10 * 1024 * 1024) + b"}"


class Refused(NamedTuple):
    name: str
    headers: list[tuple[str, str | bytes]]
    body: bytes
    status: int
    reason: str


#: Malformed or wrong requests: every path answers each with this status, no echo.
REFUSED = [
    Refused("no credentials", [_JSON], VOICE_BODY, 401, "missing"),
    Refused(
        "duplicate Authorization",
        [_JSON, ("Authorization", basic()), ("Authorization", basic())],
        VOICE_BODY,
        401,
        "duplicate",
    ),
    Refused(
        "Bearer scheme", [("Authorization", "Bearer " + PASSWORD)], VOICE_BODY, 401, "malformed"
    ),
    Refused(
        "bad base64", [("Authorization", "Basic %%%%" + PASSWORD)], VOICE_BODY, 401, "malformed"
    ),
    Refused(
        "wrong password",
        [("Authorization", basic(password="nope-nope-nope"))],
        VOICE_BODY,
        401,
        "mismatch",
    ),
    Refused("wrong user", [("Authorization", basic(user="someone"))], VOICE_BODY, 401, "mismatch"),
    Refused(
        "oversized Authorization",
        [("Authorization", "Basic " + "QUFB" * 1200)],
        VOICE_BODY,
        401,
        "malformed",
    ),
    Refused(
        "non-ASCII Authorization",
        [("Authorization", ("Basic " + PASSWORD + "\xe9").encode("latin-1"))],
        VOICE_BODY,
        401,
        "malformed",
    ),
    Refused("signature not base64", [(_SIG, "%" * 44)], SUBSCRIPTION_BODY, 403, "malformed"),
    Refused("signature too short", [(_SIG, "AAAA")], SUBSCRIPTION_BODY, 403, "malformed"),
    Refused("oversized signature", [(_SIG, "QUFB" * 2048)], SUBSCRIPTION_BODY, 403, "malformed"),
    Refused("oversized hex", [(_TFV, "ab" * 4096)], TFV_BODY, 403, "malformed"),
    Refused(
        "signature of another body",
        [(_SIG, subscription_signature(SUBSCRIPTION_BODY + b" "))],
        SUBSCRIPTION_BODY,
        403,
        "mismatch",
    ),
    Refused(
        "re-serialized body",
        [(_SIG, subscription_signature(SUBSCRIPTION_BODY))],
        b'{"eventType":"ORDER_CHANGE"}',
        403,
        "mismatch",
    ),
    Refused(
        "duplicate signature",
        [(_SIG, subscription_signature(SUBSCRIPTION_BODY))] * 2,
        SUBSCRIPTION_BODY,
        403,
        "duplicate",
    ),
    Refused(
        "hex of wrong length", [(_TFV, tfv_signature(TFV_BODY)[:63])], TFV_BODY, 403, "malformed"
    ),
    Refused("hex not hex", [(_TFV, "zz" * 32)], TFV_BODY, 403, "malformed"),
    Refused(
        "non-ASCII signature",
        [(_TFV, ("\xe9" * 64).encode("latin-1"))],
        TFV_BODY,
        403,
        "malformed",
    ),
    Refused("empty body", [(_TFV, tfv_signature(b""))], b"", 403, "empty-body"),
    Refused(
        "right Basic, wrong signature",
        [("Authorization", basic()), (_SIG, subscription_signature(b"other"))],
        SUBSCRIPTION_BODY,
        403,
        "mismatch",
    ),
    Refused("10 MiB body", [("Authorization", basic())], _TEN_MIB, 413, "too-large"),
]


def sent_values(case: Refused | Sent) -> list[str]:
    """What a request carried that must never be echoed (at least 8 characters)."""
    values = []
    for _, value in case.headers:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if len(text) >= 8 and text != "application/json":
            values.append(text)
    return values
