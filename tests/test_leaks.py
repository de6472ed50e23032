"""Canary secrets must never appear in any output: errors, causes, logs, warnings, reprs, CLI."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import pytest

from bandwidth_credentials import CredentialsError, Resolver, SourceError
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

from .helpers import MemoryProvider

CANARIES = (CANARY_PASSWORD, CANARY_SECRET, "canary-token-0d1e", "canary-client-secret-9f")
BWCREDS = str(Path(sys.executable).with_name("bwcreds"))


def assert_clean(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


def full_error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + repr(exc)


SCENARIOS: list[tuple[str, dict[str, object]]] = [
    (
        "account id is a user id",
        {"accountId": "u-" + CANARY_PASSWORD, "username": "j", "password": CANARY_PASSWORD},
    ),
    (
        "conflicting values",
        {
            "accountId": "1",
            "BW_PASSWORD": CANARY_PASSWORD,
            "password": CANARY_SECRET,
            "username": "j",
        },
    ),
    ("non-text value", {"accountId": "1", "username": "j", "password": [CANARY_PASSWORD]}),
    (
        "newline in value",
        {"accountId": "1", "username": "j", "password": CANARY_PASSWORD + "\n" + CANARY_SECRET},
    ),
    (
        "colon in username",
        {"accountId": "1", "username": CANARY_PASSWORD + ":x", "password": CANARY_SECRET},
    ),
    ("half pair", {"accountId": "1", "password": CANARY_PASSWORD, "apiSecret": CANARY_SECRET}),
    (
        "bad base url",
        {
            "accountId": "1",
            "username": "j",
            "password": "p",
            "voice_base_url": "http://" + CANARY_PASSWORD,
        },
    ),
    (
        "bad environment",
        {
            "accountId": "1",
            "client_id": "c",
            "client_secret": "canary-client-secret-9f",
            "environment": CANARY_SECRET,
        },
    ),
    (
        "messaging token only",
        {"accountId": "1", "apiToken": "canary-token-0d1e", "apiSecret": CANARY_SECRET},
    ),
    # Callback credentials (get_callback_auth(): verify, for_call's errors, check/explain).
    (
        "callback colon in username",
        {"callbackUsername": CANARY_PASSWORD + ":x", "callbackPassword": CANARY_SECRET},
    ),
    (
        "callback newline in password",
        {"callbackUsername": "u", "callbackPassword": CANARY_PASSWORD + "\n" + CANARY_SECRET},
    ),
    ("tfv secret too long", {"tfvWebhookSecret": CANARY_PASSWORD * 8}),
    ("previous webhook key alone", {"webhookPreviousSecret": CANARY_SECRET}),
    (
        "callback conflicting values",
        {
            "callbackUsername": "u",
            "callbackPassword": CANARY_PASSWORD,
            "BW_CALLBACK_PASSWORD": CANARY_SECRET,
        },
    ),
    (
        "callback half pair per application",
        {"salesCallbackPassword": CANARY_PASSWORD, "webhookSecret": CANARY_SECRET},
    ),
    (
        "callback credentials ready",
        {
            "callbackUsername": "u",
            "callbackPassword": CANARY_PASSWORD,
            "webhookSecret": CANARY_SECRET,
            "salesTfvWebhookSecret": "canary-token-0d1e-sixteen",
        },
    ),
]

# What a caller sends: the canaries in every callback header, to be refused unechoed.
_SENT = {
    "Authorization": "Basic " + base64.b64encode(f"u:{CANARY_SECRET}".encode()).decode(),
    "X-Bandwidth-Signature-SHA-256": base64.b64encode(CANARY_PASSWORD.encode()[:32]).decode(),
    "x-bandwidth-signature-hmac-sha256": "canary-client-secret-9f",
}


@pytest.mark.parametrize(("name", "values"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_no_canary_in_errors_logs_warnings_or_reprs(
    name: str, values: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    MemoryProvider.stores["a"] = values
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        resolver = Resolver(["mem:a"])
        for service in ("voice", "messaging", "numbers", "account"):
            try:
                auth = resolver.get_auth(service)
                texts += [repr(auth), str(auth), repr(auth.password), str(auth.provenance)]
            except CredentialsError as exc:
                texts.append(full_error_text(exc))
        try:
            resolution = resolver.resolve()
            texts += [repr(resolution.keys), repr(resolution.notes)]
        except CredentialsError as exc:
            texts.append(full_error_text(exc))
        for app in (None, "sales"):
            callbacks = resolver.get_callback_auth(app)
            texts.append(repr(callbacks))
            for headers in ({}, _SENT, {"Authorization": _SENT["Authorization"]}):
                try:
                    texts.append(repr(callbacks.verify(headers, b"{}")))
                except CredentialsError as exc:
                    texts.append(full_error_text(exc))

    texts += [record.getMessage() for record in caplog.records]
    texts += [str(w.message) for w in caught_warnings]
    texts.append(repr(resolver))
    assert_clean("\n".join(texts))


def test_no_canary_from_a_foreign_provider_exception() -> None:
    MemoryProvider.fail["a"] = ValueError(f"could not parse {CANARY_PASSWORD}")

    with pytest.raises(SourceError) as caught:
        Resolver(["mem:a"]).get_auth("voice")

    assert_clean(full_error_text(caught.value))


def _cli(*args: str, env: dict[str, str]) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    environ.update(env)
    result = subprocess.run(
        [BWCREDS, *args], capture_output=True, text=True, env=environ, check=False
    )
    return result.stdout + result.stderr


CLI_ENVS = [
    {
        "BW_ACCOUNT_ID": "920012",
        "BW_USERNAME": "jdoe",
        "BW_PASSWORD": CANARY_PASSWORD,
        "BW_API_TOKEN": "canary-token-0d1e",
        "BW_API_SECRET": CANARY_SECRET,
    },
    {"BW_ACCOUNT_ID": "u-1", "BW_USERNAME": "jdoe", "BW_PASSWORD": CANARY_PASSWORD},
    {"BW_ACCOUNT_ID": "1", "BW_PASSWORD": CANARY_PASSWORD, "BANDWIDTH_PASSWORD": CANARY_SECRET},
    {"BW_ACCOUNT_ID": "1", "BW_PASSWORD": CANARY_PASSWORD, "BW_VOICE_PASSWORD": CANARY_SECRET},
    {
        "BW_ACCOUNT_ID": "1",
        "BW_CLIENT_ID": "cid",
        "BW_CLIENT_SECRET": "canary-client-secret-9f",
        "BW_USERNAME": "u",
        "BW_PASSWORD": CANARY_PASSWORD,
    },
    {
        "BW_CALLBACK_USERNAME": "u",
        "BW_CALLBACK_PASSWORD": CANARY_PASSWORD,
        "BW_CALLBACK_PREVIOUS_USERNAME": "u",
        "BW_CALLBACK_PREVIOUS_PASSWORD": "canary-token-0d1e",
        "BW_SALES_WEBHOOK_SECRET": CANARY_SECRET,
        "BW_TFV_WEBHOOK_SECRET": "canary-client-secret-9f",
    },
    {"BW_CALLBACK_USERNAME": CANARY_SECRET + ":", "BW_CALLBACK_PASSWORD": CANARY_PASSWORD},
]


@pytest.mark.parametrize("env", CLI_ENVS)
@pytest.mark.parametrize(
    "args", [("check",), ("check", "--json"), ("explain",), ("explain", "--json")]
)
def test_no_canary_in_cli_output(env: dict[str, str], args: tuple[str, ...]) -> None:
    assert_clean(_cli(*args, env=env))
