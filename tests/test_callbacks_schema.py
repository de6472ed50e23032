"""Callback credentials follow the API credentials' rules: documented names only in the
environment and ``.env`` (both prefixes, per application), loose keys in stores, one source
per group, a previous value only beside its current one, values as stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bandwidth_credentials import (
    CallbackAuthError,
    ConfigurationError,
    CredentialNotFoundError,
    Resolver,
)
from bandwidth_credentials._keys import SCHEMA, classify_key, env_field

from .callback_kit import OLD_PASSWORD, PASSWORD, USER, basic
from .helpers import MemoryProvider


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BW_CALLBACK_USERNAME", (None, "callback_username")),
        ("BANDWIDTH_CALLBACK_PASSWORD", (None, "callback_password")),
        ("bw_callback_password", (None, "callback_password")),
        ("BW_CALLBACK_PREVIOUS_USERNAME", (None, "callback_previous_username")),
        ("BW_CALLBACK_PREVIOUS_PASSWORD", (None, "callback_previous_password")),
        ("BW_WEBHOOK_SECRET", (None, "webhook_secret")),
        ("BW_WEBHOOK_PREVIOUS_SECRET", (None, "webhook_previous_secret")),
        ("BW_TFV_WEBHOOK_SECRET", (None, "tfv_webhook_secret")),
        ("BANDWIDTH_TFV_WEBHOOK_PREVIOUS_SECRET", (None, "tfv_webhook_previous_secret")),
        ("BW_SALES_CALLBACK_USERNAME", ("sales", "callback_username")),
        ("BW_SALES_CALLBACK_PREVIOUS_PASSWORD", ("sales", "callback_previous_password")),
        ("BANDWIDTH_SALES_EU_TFV_WEBHOOK_SECRET", ("saleseu", "tfv_webhook_secret")),
        ("BW_VOICE_WEBHOOK_SECRET", ("voice", "webhook_secret")),
        ("BW_CALLS_CALLBACK_PASSWORD", ("calls", "callback_password")),
        # not documented names: loose spellings belong to stores only
        ("BW_CALLBACKUSERNAME", None),
        ("BW_CALLBACK_USER", None),
        ("BW_WEBHOOKSECRET", None),
        ("BW_PREVIOUS_CALLBACK_PASSWORD", ("previous", "callback_password")),
        ("BW__CALLBACK_USERNAME", None),
        ("BW_SALES-EU_CALLBACK_USERNAME", None),
        # case-insensitive in ASCII only: letters that upper-case to an ASCII one
        # (long s, dotless i) do not make a documented name
        ("BW_CALLBACK_U\u017fERNAME", None),
        ("BW_SALES_CALLBACK_PA\u017f\u017fWORD", None),
        ("BANDW\u0131DTH_CALLBACK_PASSWORD", None),
        ("BW_TFV_WEBHOOK_\u017fECRET", None),
        ("BW_PA\u017f\u017fWORD", None),
        ("BW_CL\u0131ENT_ID", None),
    ],
)
def test_environment_names(name: str, expected: tuple[str | None, str] | None) -> None:
    assert env_field(name) == expected


def test_every_documented_name_is_its_own_spelling() -> None:
    for name in (
        "BW_CALLBACK_USERNAME",
        "BW_TFV_WEBHOOK_PREVIOUS_SECRET",
        "BW_SALES_WEBHOOK_SECRET",
    ):
        assert SCHEMA.env_name(name) == name
        assert SCHEMA.env_name("BANDWIDTH" + name[2:]) == name


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("callbackUsername", (None, "callback_username")),
        ("callback_password", (None, "callback_password")),
        ("callback-previous-password", (None, "callback_previous_password")),
        ("previousCallbackPassword", (None, "callback_previous_password")),
        ("webhookSecret", (None, "webhook_secret")),
        ("webhook_previous_secret", (None, "webhook_previous_secret")),
        ("tfvWebhookSecret", (None, "tfv_webhook_secret")),
        ("TFV_WEBHOOK_PREVIOUS_SECRET", (None, "tfv_webhook_previous_secret")),
        ("salesCallbackUsername", ("sales", "callback_username")),
        ("sales_tfv_webhook_secret", ("sales", "tfv_webhook_secret")),
        ("BW_SALES_WEBHOOK_SECRET", ("sales", "webhook_secret")),
        ("voice_password", ("voice", "password")),  # API credentials unchanged
        # the prefix is ignored however the key is cased: bandwidthCallbackUsername is
        # BANDWIDTH_CALLBACK_USERNAME, not the application "bandwidth"
        ("bandwidthCallbackUsername", (None, "callback_username")),
        ("bwWebhookSecret", (None, "webhook_secret")),
        ("bandwidthSalesCallbackPassword", ("sales", "callback_password")),
        ("bwTfvWebhookPreviousSecret", (None, "tfv_webhook_previous_secret")),
        ("bandwidthAccountId", (None, "account_id")),
        ("bwVoicePassword", ("voice", "password")),
    ],
)
def test_store_keys_are_loosely_matched(key: str, expected: tuple[str | None, str]) -> None:
    assert classify_key(key) == expected


def test_dotenv_takes_only_documented_names(tmp_path: Path) -> None:
    env_file = tmp_path / "callbacks.env"
    env_file.write_text(
        "BW_CALLBACK_USERNAME=bw\nBW_CALLBACKPASSWORD=loose-is-not-read\nBW_CALLBACK_PASSWORD=pw\n"
        "BW_CALLBACK_PA\u017f\u017fWORD=look-alike-is-not-read\n",
        encoding="utf-8",
    )

    auth = Resolver([f"dotenv:{env_file}"]).get_callback_auth()

    assert auth.for_call() == {"username": "bw", "password": "pw"}


def test_the_environment_takes_no_look_alike_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_CALLBACK_U\u017fERNAME", "look-alike")
    monkeypatch.setenv("BW_CALLBACK_PA\u017f\u017fWORD", "look-alike-is-not-read")

    with pytest.raises(CredentialNotFoundError):
        Resolver(["env"]).get_callback_auth().for_call()


def test_a_file_variable_names_the_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "webhook"
    secret.write_text("key-from-a-file\n")
    monkeypatch.setenv("BW_WEBHOOK_SECRET_FILE", str(secret))
    from .callback_kit import subscription_signature

    auth = Resolver(["env"]).get_callback_auth()

    signed = {"X-Bandwidth-Signature-SHA-256": subscription_signature(b"{}", "key-from-a-file")}
    assert auth.verify(signed, b"{}").scheme == "subscriptions"


def test_a_pair_is_never_combined_across_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    MemoryProvider.stores["vault"] = {"callbackPassword": PASSWORD}

    resolver = Resolver(["env", "mem:vault"])
    with pytest.raises(CredentialNotFoundError) as caught:
        resolver.get_callback_auth().verify({"Authorization": basic()}, b"")

    assert "half pair" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_the_pair_comes_whole_from_the_first_source_holding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    MemoryProvider.stores["vault"] = {"callbackUsername": "other", "callbackPassword": "other-pw"}

    auth = Resolver(["mem:vault", "env"]).get_callback_auth()

    assert auth.for_call() == {"username": "other", "password": "other-pw"}


def test_a_previous_value_in_another_source_is_ignored_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    MemoryProvider.stores["old"] = {
        "callbackPreviousUsername": USER,
        "callbackPreviousPassword": OLD_PASSWORD,
    }
    resolver = Resolver(["env", "mem:old"])

    with pytest.raises(CallbackAuthError, match="does not match"):
        resolver.get_callback_auth().verify({"Authorization": basic(password=OLD_PASSWORD)}, b"")

    notes = [text for scope, text in resolver.resolve().notes if scope == "callbacks"]
    assert any("previous value is taken only from" in note for note in notes)


def test_an_application_uses_its_own_names_before_the_shared_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)
    monkeypatch.setenv("BW_SALES_CALLBACK_USERNAME", "sales")
    monkeypatch.setenv("BW_SALES_CALLBACK_PASSWORD", "sales-password")
    resolver = Resolver(["env"])

    assert resolver.get_callback_auth("SALES").for_call()["username"] == "sales"
    assert resolver.get_callback_auth().for_call()["username"] == USER
    assert resolver.get_callback_auth("support").for_call()["username"] == USER


def test_callback_fields_are_no_api_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_CALLBACK_USERNAME", USER)
    monkeypatch.setenv("BW_CALLBACK_PASSWORD", PASSWORD)

    with pytest.raises(CredentialNotFoundError) as caught:
        Resolver(["env"]).get_auth("voice")

    assert "callback" not in str(caught.value)


# -- reserved application names: a name ending in "previous" or "tfv" reads two ways ------

_SHARED_BASIC = {"BW_CALLBACK_USERNAME": USER, "BW_CALLBACK_PASSWORD": PASSWORD}


@pytest.mark.parametrize(
    ("where", "values", "outcome"),
    [
        # the environment: documented names only, and no application named *previous/*tfv
        ("env", {"BW_PREVIOUS_CALLBACK_PASSWORD": OLD_PASSWORD}, "previous"),
        ("env", {"BW_SALES_PREVIOUS_CALLBACK_PASSWORD": OLD_PASSWORD}, "salesprevious"),
        ("env", {"BW_TFV_CALLBACK_USERNAME": USER}, "tfv"),
        ("env", {"BANDWIDTH_SALES_TFV_CALLBACK_PASSWORD": PASSWORD}, "salestfv"),
        ("env", {"BW_TFV_WEBHOOK_SECRET": "tfv-shared-secret-1234"}, (None, "tfv")),
        ("env", {"BW_SALES_TFV_WEBHOOK_SECRET": "tfv-shared-secret-1234"}, ("sales", "tfv")),
        ("env", {"BW_TFV2_WEBHOOK_SECRET": "webhook-key"}, ("tfv2", "subscriptions")),
        ("env", {"BW_PREVIOUSLY_WEBHOOK_SECRET": "webhook-key"}, ("previously", "subscriptions")),
        # stores: loose keys, the same rule
        ("store", {"tfvCallbackUsername": USER}, "tfv"),
        ("store", {"salesTfvCallbackPassword": PASSWORD}, "salestfv"),
        ("store", {"sales_previous_callback_username": USER}, None),  # sales' previous user
        ("store", {"tfvWebhookSecret": "tfv-shared-secret-1234"}, (None, "tfv")),
        ("store", {"salesTfvWebhookSecret": "tfv-shared-secret-1234"}, ("sales", "tfv")),
    ],
)
def test_reserved_application_names_in_keys(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    where: str,
    values: dict[str, str],
    outcome: object,
) -> None:
    for name, value in _SHARED_BASIC.items():
        monkeypatch.setenv(name, value)
    if where == "env":
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        sources = ["env"]
    else:
        store = tmp_path / "callbacks.json"
        store.write_text(json.dumps(values))
        sources = ["env", f"file:{store}"]
    resolver = Resolver(sources)

    if isinstance(outcome, str):
        with pytest.raises(ConfigurationError) as caught:
            resolver.resolve()
        text = str(caught.value)
        assert f"names application {outcome!r}" in text
        assert "reserved" in text
        assert next(iter(values)) in text  # the key, never the value
        assert not any(value in text for value in values.values())
        return
    callbacks = resolver.resolve().callbacks
    if outcome is not None:
        app, scheme = outcome  # type: ignore[misc]
        assert scheme in callbacks[app].schemes
    else:
        assert callbacks["sales"].provenance  # read, as sales' own half pair, no error


@pytest.mark.parametrize(
    ("app", "refused"),
    [
        ("previous", True),
        ("tfv", True),
        ("Sales-TFV", True),
        ("sales_previous", True),
        ("PREVIOUS", True),
        ("tfv2", False),
        ("previously", False),
        ("tfvsales", False),
        ("sales", False),
    ],
)
def test_reserved_application_names_asked_for(
    monkeypatch: pytest.MonkeyPatch, app: str, refused: bool
) -> None:
    for name, value in _SHARED_BASIC.items():
        monkeypatch.setenv(name, value)
    resolver = Resolver(["env"])

    if refused:
        with pytest.raises(ConfigurationError) as caught:
            resolver.get_callback_auth(app)
        assert repr(app) in str(caught.value)
        assert "reserved" in str(caught.value)
    else:
        assert resolver.get_callback_auth(app).verify({"Authorization": basic()}, b"{}").app
