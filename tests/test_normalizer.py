from __future__ import annotations

from collections.abc import Mapping

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    CredentialNotFoundError,
    Fetched,
    InvalidCredentialsError,
    parse_source,
)
from bandwidth_credentials._normalizer import (
    Resolution,
    ServiceCredentials,
    classify_key,
    normalize,
)

BASE = {"accountId": "920012"}


def run(*sources: tuple[str, Mapping[str, object]]) -> Resolution:
    return normalize([(parse_source(uri), Fetched(values=values)) for uri, values in sources])


def chosen(resolution: Resolution, service: str) -> ServiceCredentials:
    outcome = resolution.services[service]
    assert not isinstance(outcome, Exception), outcome
    return outcome[0]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("accountId", (None, "account_id")),
        ("account_id", (None, "account_id")),
        ("ACCOUNT_ID", (None, "account_id")),
        ("BW_ACCOUNT_ID", (None, "account_id")),
        ("BANDWIDTH_ACCOUNT_ID", (None, "account_id")),
        ("bw_account_id", (None, "account_id")),
        ("account-id", (None, "account_id")),
        ("username", (None, "username")),
        ("BW_USERNAME", (None, "username")),
        ("password", (None, "password")),
        ("BANDWIDTH_PASSWORD", (None, "password")),
        ("apiToken", (None, "api_token")),
        ("api_token", (None, "api_token")),
        ("BW_API_TOKEN", (None, "api_token")),
        ("apiSecret", (None, "api_secret")),
        ("BW_API_SECRET", (None, "api_secret")),
        ("clientId", (None, "client_id")),
        ("client_id", (None, "client_id")),
        ("BW_CLIENT_ID", (None, "client_id")),
        ("clientSecret", (None, "client_secret")),
        ("BW_CLIENT_SECRET", (None, "client_secret")),
        ("BW_TOKEN_URL", (None, "token_url")),
        ("tokenUrl", (None, "token_url")),
        ("BW_ACCESS_TOKEN", (None, "access_token")),
        ("BW_ENVIRONMENT", (None, "environment")),
        ("BW_VOICE_USERNAME", ("voice", "username")),
        ("BW_VOICE_PASSWORD", ("voice", "password")),
        ("voice_username", ("voice", "username")),
        ("voiceUsername", ("voice", "username")),
        ("BW_MESSAGING_API_TOKEN", ("messaging", "api_token")),
        ("numbers_password", ("numbers", "password")),
        ("account_username", ("account", "username")),
        ("account_management_username", ("account", "username")),
        ("BW_VOICE_BASE_URL", ("voice", "base_url")),
        ("BW_BASE_URL", (None, None)),
        ("USERNAMES", (None, None)),
        ("BW_SESSION", (None, None)),
        ("database_url", (None, None)),
    ],
)
def test_classify_key(key: str, expected: tuple[str | None, str | None]) -> None:
    assert classify_key(key) == expected


def test_custom_prefix_is_stripped_when_the_source_declares_it() -> None:
    assert classify_key("MYAPP_USERNAME", ("MYAPP_",)) == (None, "username")
    assert classify_key("MYAPP_USERNAME") == (None, None)


@pytest.mark.parametrize(
    "values",
    [
        {"accountId": "920012", "username": "jdoe", "password": "pw"},
        {"account_id": "920012", "username": "jdoe", "password": "pw"},
        {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"},
        {
            "BANDWIDTH_ACCOUNT_ID": "920012",
            "BANDWIDTH_USERNAME": "jdoe",
            "BANDWIDTH_PASSWORD": "pw",
        },
        {"AccountId": "920012", "UserName": "jdoe", "PassWord": "pw"},
        {"accountId": 920012, "username": "jdoe", "password": "pw"},
    ],
)
def test_every_spelling_gives_the_same_credentials(values: Mapping[str, object]) -> None:
    voice = chosen(run(("mem:a", values)), "voice")

    assert voice.account_id == "920012"
    assert voice.username == "jdoe"
    assert voice.password is not None
    assert voice.password.get_secret_value() == "pw"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  pw  ", "pw"),
        ("pw\n", "pw"),
        ("\tpw\r\n", "pw"),
        ("p w", "p w"),
        ("pässwörd-ünïcode-密码", "pässwörd-ünïcode-密码"),
    ],
)
def test_values_are_trimmed_and_unicode_kept(raw: str, expected: str) -> None:
    voice = chosen(run(("mem:a", {**BASE, "username": "jdoe", "password": raw})), "voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == expected


def test_empty_value_counts_as_absent_and_is_reported() -> None:
    resolution = run(("mem:a", {**BASE, "username": "jdoe", "password": "  "}))

    error = resolution.services["voice"]

    assert isinstance(error, CredentialNotFoundError)
    assert "password" in str(error)
    assert any(r.key == "password" and "empty" in r.status for r in resolution.keys)


def test_null_value_counts_as_absent() -> None:
    resolution = run(("mem:a", {**BASE, "username": "jdoe", "password": None}))

    assert isinstance(resolution.services["voice"], CredentialNotFoundError)


@pytest.mark.parametrize("bad", [True, 1.5, ["x"]])
def test_non_text_value_is_rejected_naming_the_key(bad: object) -> None:
    with pytest.raises(InvalidCredentialsError) as caught:
        run(("mem:a", {**BASE, "username": "jdoe", "password": bad}))

    assert "'password'" in str(caught.value)
    assert caught.value.source == "mem:a"


def test_two_keys_with_different_values_in_one_source_is_an_error_naming_both() -> None:
    with pytest.raises(ConfigurationError) as caught:
        run(("env", {"BW_USERNAME": "jdoe", "BANDWIDTH_USERNAME": "other", **BASE}))

    message = str(caught.value)
    assert "BW_USERNAME" in message
    assert "BANDWIDTH_USERNAME" in message
    assert "jdoe" not in message
    assert "other" not in message


def test_two_keys_with_the_same_value_in_one_source_are_fine() -> None:
    resolution = run(
        ("env", {**BASE, "BW_USERNAME": "jdoe", "BANDWIDTH_USERNAME": " jdoe ", "BW_PASSWORD": "p"})
    )

    assert chosen(resolution, "voice").username == "jdoe"


def test_pair_is_taken_whole_from_the_highest_source_holding_all_of_it() -> None:
    resolution = run(
        ("mem:high", {"username": "half-user"}),
        ("mem:low", {**BASE, "username": "low-user", "password": "low-pw"}),
    )

    voice = chosen(resolution, "voice")

    assert voice.username == "low-user"
    assert voice.password is not None
    assert voice.password.get_secret_value() == "low-pw"
    assert any("half pair" in note and "mem:high" in note for _, note in resolution.notes)


def test_half_pairs_in_two_sources_are_never_combined() -> None:
    resolution = run(
        ("mem:a", {**BASE, "username": "jdoe"}),
        ("mem:b", {"password": "pw"}),
    )

    error = resolution.services["voice"]

    assert isinstance(error, CredentialNotFoundError)
    assert "one of client_id+client_secret, access_token" in str(error)
    assert "mem:a" in str(error)
    assert "half pair" in str(error)


def test_higher_precedence_source_wins_for_a_complete_pair() -> None:
    resolution = run(
        ("mem:high", {"username": "high", "password": "high-pw"}),
        ("mem:low", {**BASE, "username": "low", "password": "low-pw"}),
    )

    voice = chosen(resolution, "voice")
    _, provenance = resolution.services["voice"]  # type: ignore[misc]

    assert voice.username == "high"
    assert provenance["username"].source == "mem:high"
    assert provenance["account_id"].source == "mem:low"


def test_per_service_override_gives_a_service_its_own_api_user() -> None:
    resolution = run(
        (
            "env",
            {
                **BASE,
                "BW_USERNAME": "shared",
                "BW_PASSWORD": "shared-pw",
                "BW_VOICE_USERNAME": "voice-only",
                "BW_VOICE_PASSWORD": "voice-pw",
            },
        )
    )

    assert chosen(resolution, "voice").username == "voice-only"
    assert chosen(resolution, "numbers").username == "shared"
    assert chosen(resolution, "account").username == "shared"


def test_nested_service_object_in_a_store() -> None:
    resolution = run(
        (
            "mem:a",
            {
                **BASE,
                "username": "shared",
                "password": "pw",
                "voice": {"username": "nested-voice", "password": "npw"},
            },
        )
    )

    voice = chosen(resolution, "voice")
    _, provenance = resolution.services["voice"]  # type: ignore[misc]

    assert voice.username == "nested-voice"
    assert provenance["username"].key == "voice.username"
    assert chosen(resolution, "numbers").username == "shared"


def test_higher_source_general_pair_beats_lower_source_service_pair() -> None:
    resolution = run(
        ("env", {**BASE, "BW_USERNAME": "env-user", "BW_PASSWORD": "p"}),
        ("mem:store", {"voice_username": "store-voice", "voice_password": "p2"}),
    )

    assert chosen(resolution, "voice").username == "env-user"


def test_messaging_prefers_its_token_pair() -> None:
    resolution = run(
        ("mem:a", {**BASE, "username": "jdoe", "password": "pw", "apiToken": "t", "apiSecret": "s"})
    )

    messaging = chosen(resolution, "messaging")

    assert messaging.kind == "messaging_token"
    assert messaging.username == "t"
    assert messaging.password is not None
    assert messaging.password.get_secret_value() == "s"
    assert resolution.notes == ()


def test_messaging_falls_back_to_the_api_user() -> None:
    resolution = run(("mem:a", {**BASE, "username": "jdoe", "password": "pw"}))

    messaging = chosen(resolution, "messaging")

    assert messaging.kind == "api_user"
    assert messaging.username == "jdoe"


def test_messaging_token_does_not_serve_voice() -> None:
    resolution = run(("mem:a", {**BASE, "apiToken": "t", "apiSecret": "s"}))

    assert chosen(resolution, "messaging").kind == "messaging_token"
    error = resolution.services["voice"]
    assert isinstance(error, CredentialNotFoundError)
    assert error.service == "voice"


def test_missing_account_id_is_named() -> None:
    resolution = run(("mem:a", {"username": "jdoe", "password": "pw"}))

    error = resolution.services["voice"]

    assert isinstance(error, CredentialNotFoundError)
    assert error.missing[0] == "account_id"
    assert error.sources == ("mem:a",)


@pytest.mark.parametrize(
    ("account", "explanation"),
    [
        ("u-3fa0d8c4", "user id"),
        ("abc", "digits only"),
        ("9200 12", "digits only"),
        ("٩٢٠٠١٢", "digits only"),  # Arabic-Indic digits are not an account id
        ("-920012", "digits only"),
    ],
)
def test_account_id_must_be_digits(account: str, explanation: str) -> None:
    resolution = run(("mem:a", {"accountId": account, "username": "jdoe", "password": "pw"}))

    error = resolution.services["voice"]

    assert isinstance(error, InvalidCredentialsError)
    assert explanation in str(error)
    assert "accountId" in str(error)
    assert error.field == "account_id"
    assert error.source == "mem:a"


def test_username_with_colon_is_rejected() -> None:
    resolution = run(("mem:a", {**BASE, "username": "j:doe", "password": "pw"}))

    error = resolution.services["voice"]

    assert isinstance(error, InvalidCredentialsError)
    assert "':'" in str(error)


def test_newline_inside_a_value_is_rejected() -> None:
    resolution = run(("mem:a", {**BASE, "username": "jdoe", "password": "p\nw"}))

    error = resolution.services["voice"]

    assert isinstance(error, InvalidCredentialsError)
    assert "control character" in str(error)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://voice.example.test/api", True),
        ("http://127.0.0.1:8080/api", True),
        ("http://localhost:9/api", True),
        ("http://[::1]:9/api", True),
        ("http://voice.example.test/api", False),
        ("ftp://x/y", False),
        ("not a url", False),
    ],
)
def test_base_url_override_must_be_https_except_loopback(url: str, ok: bool) -> None:
    resolution = run(
        ("mem:a", {**BASE, "username": "jdoe", "password": "pw", "voice_base_url": url})
    )

    outcome = resolution.services["voice"]

    if ok:
        assert not isinstance(outcome, Exception)
        assert outcome[0].base_url == url.rstrip("/")
    else:
        assert isinstance(outcome, InvalidCredentialsError)
        assert outcome.field == "base_url"


def test_unrecognized_keys_are_reported_not_fatal() -> None:
    resolution = run(("mem:a", {**BASE, "username": "jdoe", "password": "pw", "colour": "x"}))

    assert any(r.key == "colour" and r.status == "unrecognized" for r in resolution.keys)


def test_base_url_inside_a_nested_service_object() -> None:
    resolution = run(
        (
            "mem:a",
            {
                **BASE,
                "username": "u",
                "password": "p",
                "voice": {"base_url": "http://127.0.0.1:9/api"},
            },
        )
    )

    assert chosen(resolution, "voice").base_url == "http://127.0.0.1:9/api"
    assert chosen(resolution, "numbers").base_url.startswith("https://dashboard.bandwidth.com")
