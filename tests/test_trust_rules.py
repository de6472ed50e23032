"""The rules that keep credentials where they belong and values as they were stored.

Each test reproduces one way the rules were broken: endpoints taken from another source,
look-alike variable names, values changed on the way, URLs and options echoed, untyped
crashes, secrets left reachable from an exception.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    CredentialNotFoundError,
    InvalidCredentialsError,
    Resolver,
    ServiceAuth,
    SourceError,
    parse_source,
)
from bandwidth_credentials.testing import check_no_leaks

from .helpers import MemoryProvider

CANARY = "canary-9d1f7e-DO-NOT-LEAK"
BWCREDS = str(Path(sys.executable).with_name("bwcreds"))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    return monkeypatch


# -- endpoints belong to their credentials ------------------------------------------------


def test_a_lower_dotenv_cannot_point_the_environments_secret_at_its_token_url(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("BW_CLIENT_ID", "cid")
    env.setenv("BW_CLIENT_SECRET", "secret")
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "BW_TOKEN_URL=https://attacker.example/token\n"
        "BW_VOICE_BASE_URL=https://attacker.example/voice\n"
        "BW_ENVIRONMENT=test\n"
    )

    resolver = Resolver(["env", f"dotenv:{dotenv}"])
    voice = resolver.get_auth("voice")
    notes = [text for _, text in resolver.resolve().notes]

    assert voice._bearer.token_url == "https://api.bandwidth.com/api/v1/oauth2/token"  # type: ignore[union-attr]
    assert voice.base_url == "https://voice.bandwidth.com/api/v2/accounts/920012"
    assert voice.environment == "prod"
    assert any("BW_TOKEN_URL" in note and "own source" in note for note in notes)


def test_endpoints_from_the_credentials_own_source_are_used(env: pytest.MonkeyPatch) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD", "pw")
    env.setenv("BW_ENVIRONMENT", "test")

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.base_url == "https://test.voice.bandwidth.com/api/v2/accounts/920012"


# -- exact names in the environment --------------------------------------------------------


def test_bitwardens_variables_are_not_bandwidths(env: pytest.MonkeyPatch) -> None:
    env.setenv("BW_CLIENTID", "user.1234")
    env.setenv("BW_CLIENTSECRET", CANARY)
    env.setenv("BW_SESSION", "session")
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD", "bitwarden-master-password")  # Bitwarden's, next to its own
    env.setenv("BANDWIDTH_PASSWORD", "pw")

    resolver = Resolver(["env"])
    voice = resolver.get_auth("voice")
    notes = [text for _, text in resolver.resolve().notes]

    assert voice.scheme == "basic"
    assert voice.password is not None
    assert voice.password.get_secret_value() == "pw"
    assert any("BW_CLIENTID" in note and "Bitwarden" in note for note in notes)
    assert any("BW_SESSION" in note for note in notes)
    assert any("BW_PASSWORD" in note and "master password" in note for note in notes)
    assert all(CANARY not in note for note in notes)


def test_check_names_a_typo_and_suggests_the_documented_name(env: pytest.MonkeyPatch) -> None:
    env.setenv("BW_USRNAME", "jdoe")
    env.setenv("BW_PASSWORD", "pw")

    with pytest.raises(CredentialNotFoundError) as caught:
        Resolver(["env"]).get_auth("voice")

    assert "did you mean BW_USERNAME?" in str(caught.value)


def test_not_found_lists_every_source_with_its_outcome(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(CredentialNotFoundError) as caught:
        Resolver(["env", "dotenv:.env?optional=true"]).get_auth("voice")

    message = str(caught.value)
    assert "env (read)" in message
    assert "dotenv:.env?optional=true (skipped:" in message
    assert caught.value.sources == ("env", "dotenv:.env?optional=true")


# -- values arrive as stored -------------------------------------------------------------


@pytest.mark.parametrize(
    "char",
    ["\u200b", "\u200d", "\u202e", "\ufeff", "\u2060"],
    ids=["zwsp", "zwj", "rlo", "bom", "wj"],
)
def test_an_invisible_format_character_in_a_credential_is_refused(
    env: pytest.MonkeyPatch, char: str
) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD", f"pass{char}word")

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["env"]).get_auth("voice")

    assert caught.value.key == "BW_PASSWORD"
    assert "invisible" in str(caught.value)


def test_dotenv_values_are_literal_unless_interpolation_is_asked_for(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("HOME_SECRET", "from-the-process")
    dotenv = tmp_path / "bw.env"
    dotenv.write_text("BW_USERNAME=jdoe\nBW_PASSWORD='Xy${Qz}9!w'\n")

    voice = Resolver([f"dotenv:{dotenv}", "env"]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == "Xy${Qz}9!w"


# -- nothing echoed that might be secret ---------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("BW_VOICE_BASE_URL", f"https://u:{CANARY}@voice.example/api"),
        ("BW_TOKEN_URL", f"https://u:{CANARY}@token.example/oauth2/token"),
        ("BW_API_URL", f"https://u:{CANARY}@api.example"),
    ],
)
def test_urls_with_user_info_are_refused_without_echoing_it(
    env: pytest.MonkeyPatch, variable: str, url: str
) -> None:
    env.setenv("BW_CLIENT_ID", "cid")
    env.setenv("BW_CLIENT_SECRET", "secret")
    env.setenv(variable, url)

    with pytest.raises(InvalidCredentialsError) as caught:
        check_no_leaks(lambda: Resolver(["env"]).get_auth("voice"), canaries=[CANARY])

    assert caught.value.key == variable
    assert "user info" in str(caught.value)


NOT_ASCII = "has a host name that is not ASCII"


@pytest.mark.parametrize(
    ("variable", "url", "problem"),
    [
        ("BW_VOICE_BASE_URL", "https://voice.example/api/v2", None),
        ("BW_VOICE_BASE_URL", "http://127.0.0.1:9/voice", None),
        ("BW_VOICE_BASE_URL", "https://voice.xn--bndwidth-16g.com/v2", None),  # IDNA form
        ("BW_VOICE_BASE_URL", "http://voice.example/api", "must use https"),
        ("BW_VOICE_BASE_URL", "https://voice.example/api?x=1", "query or fragment"),
        ("BW_VOICE_BASE_URL", "https://\uff45xample.com/v2", NOT_ASCII),  # fullwidth e
        ("BW_VOICE_BASE_URL", "https://voice.bandwidth\uff0ecom/v2", NOT_ASCII),  # fullwidth .
        ("BW_VOICE_BASE_URL", "https://voice.bandwidth\u3002com/v2", NOT_ASCII),  # ideographic
        ("BW_VOICE_BASE_URL", "https://voice.b\u0430ndwidth.com/v2", NOT_ASCII),  # Cyrillic a
        ("BW_VOICE_BASE_URL", "https://b\u00fccher.example/v2", NOT_ASCII),
        ("BW_TOKEN_URL", "https://\uff41pi.example/api/v1/oauth2/token", NOT_ASCII),
        ("BW_API_URL", "https://\uff41pi.example", NOT_ASCII),
        ("BW_VOICE_URL", "https://v\uff4fice.example", NOT_ASCII),
    ],
)
def test_configured_urls_pass_one_rule_that_every_http_client_agrees_with(
    env: pytest.MonkeyPatch, variable: str, url: str, problem: str | None
) -> None:
    import httpx
    import requests

    env.setenv("BW_ACCOUNT_ID", "920012")
    env.setenv("BW_CLIENT_ID", "cid")
    env.setenv("BW_CLIENT_SECRET", "secret")
    env.setenv(variable, url)

    outcome: object
    try:
        outcome = Resolver(["env"]).get_auth("voice")
    except InvalidCredentialsError as exc:
        outcome = exc

    if problem is not None:
        assert isinstance(outcome, InvalidCredentialsError)
        assert (outcome.source, outcome.key) == ("env", variable)
        assert problem in str(outcome)
    else:
        # Accepted: both HTTP clients take the URL as it is (no client refuses it later).
        assert not isinstance(outcome, Exception), outcome
        assert isinstance(outcome, ServiceAuth)
        requests.Request("GET", outcome.base_url).prepare()
        httpx.URL(outcome.base_url)


def test_source_option_values_are_never_echoed() -> None:
    uri = f"mem:a?version={CANARY}&optional=true"

    source = parse_source(uri)
    with pytest.raises(ConfigurationError) as caught:
        Resolver([f"mem:a?token={CANARY}"])

    assert CANARY not in source.uri
    assert source.uri == "mem:a?version=***&optional=true"
    assert CANARY not in str(caught.value)


def test_bwcreds_never_prints_an_option_value() -> None:
    result = subprocess.run(
        [BWCREDS, "check", "--sources", f"vault:secret/bw?token={CANARY}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert CANARY not in result.stdout + result.stderr
    assert "token" in result.stderr


def test_a_secret_pasted_into_a_file_variable_is_not_printed(env: pytest.MonkeyPatch) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD_FILE", CANARY)

    with pytest.raises(SourceError) as caught:
        check_no_leaks(lambda: Resolver(["env"]).get_auth("voice"), canaries=[CANARY])

    assert "BW_PASSWORD_FILE" in str(caught.value)


def test_a_comma_inside_an_option_says_how_to_write_a_list() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Resolver(["env?prefix=P1_,P2_"])

    assert "prefix=P1_&prefix=P2_" in str(caught.value)


def test_repeated_prefix_options_read_both_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP1_ACCOUNT_ID", "920012")
    monkeypatch.setenv("APP2_USERNAME", "jdoe")
    monkeypatch.setenv("APP2_PASSWORD", "pw")

    voice = Resolver(["env?prefix=APP1_&prefix=APP2_"]).get_auth("voice")

    assert voice.username == "jdoe"


def test_a_name_no_longer_prefix_reads_is_read_under_a_shorter_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")
    monkeypatch.setenv("BW_PASSWORD", "pw")
    monkeypatch.setenv("BW_VOICE_URL", "http://127.0.0.1:18081")  # no field under BW_VOICE_

    voice = Resolver(["env?prefix=BW_VOICE_&prefix=BW_"]).get_auth("voice")

    assert voice.base_url == "http://127.0.0.1:18081/api/v2/accounts/920012"


def test_a_name_both_prefixes_read_is_read_under_the_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")
    monkeypatch.setenv("BW_VOICE_PASSWORD", "pw")  # BW_VOICE_'s PASSWORD, not BW_'s voice one

    numbers = Resolver(["env?prefix=BW_VOICE_&prefix=BW_"]).get_auth("numbers")

    assert numbers.password is not None
    assert numbers.password.get_secret_value() == "pw"


# -- typed everything -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1",
        "https://h/a b",
        "https://voice.example:notaport/api",
        "https://" + "a" * 64 + ".example/api",
        "https://voice.example:0/api",
    ],
)
def test_a_bad_base_url_is_an_error_for_its_service_only(env: pytest.MonkeyPatch, url: str) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD", "pw")
    env.setenv("BW_VOICE_BASE_URL", url)
    resolver = Resolver(["env"])

    with pytest.raises(InvalidCredentialsError) as caught:
        resolver.get_auth("voice")

    assert caught.value.service == "voice"
    assert resolver.get_auth("numbers").username == "jdoe"


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e30"])
def test_numeric_options_must_be_finite_and_bounded(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Resolver([f"env?max_size={value}"])

    assert "max_size" in str(caught.value)


def test_an_unknown_environment_lists_the_accepted_values(env: pytest.MonkeyPatch) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD", "pw")
    env.setenv("BW_ENVIRONMENT", "staging")

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["env"]).get_auth("voice")

    assert "prod" in str(caught.value)
    assert "uat" in str(caught.value)


# -- errors built clean -------------------------------------------------------------------


def test_a_malformed_json_secret_leaves_no_document_reachable(tmp_path: Path) -> None:
    path = tmp_path / "bw.json"
    path.write_text('{"password": "' + CANARY + '", oops}')
    resolver = Resolver([f"file:{path}"])

    with pytest.raises(SourceError):
        check_no_leaks(lambda: resolver.get_auth("voice"), canaries=[CANARY])
    with pytest.raises(SourceError):
        check_no_leaks(lambda: resolver.get_auth("voice"), canaries=[CANARY])


def test_a_foreign_exception_from_a_provider_keeps_only_its_type() -> None:
    MemoryProvider.fail["a"] = json.JSONDecodeError("bad", '{"password": "' + CANARY, 5)

    with pytest.raises(SourceError) as caught:
        check_no_leaks(lambda: Resolver(["mem:a"]).get_auth("voice"), canaries=[CANARY])

    assert "JSONDecodeError" in str(caught.value)
    assert caught.value.__context__ is None


# -- found by attacking the library -------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["pw\udcff", "pw\x85x", "pw\u2028x", "pw\x9bx"],
    ids=["lone-surrogate", "nel", "line-separator", "c1-control"],
)
def test_undecodable_and_c1_characters_are_refused_naming_the_key(
    env: pytest.MonkeyPatch, value: str
) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD", value)

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["env"]).get_auth("voice")

    assert caught.value.key == "BW_PASSWORD"
    assert "pw" not in str(caught.value.args)


def test_a_static_token_with_whitespace_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("BW_ACCESS_TOKEN", f"ab {CANARY}")

    with pytest.raises(InvalidCredentialsError) as caught:
        check_no_leaks(lambda: Resolver(["env"]).get_auth("voice"), canaries=[CANARY])

    assert caught.value.key == "BW_ACCESS_TOKEN"


@pytest.mark.parametrize("suffix", [f"?k={CANARY}", f"#{CANARY}"])
def test_a_base_url_with_a_query_or_fragment_is_refused(
    env: pytest.MonkeyPatch, suffix: str
) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD", "pw")
    env.setenv("BW_VOICE_BASE_URL", "https://voice.example.com/x" + suffix)

    with pytest.raises(InvalidCredentialsError):
        check_no_leaks(lambda: Resolver(["env"]).get_auth("voice"), canaries=[CANARY])


def test_a_secret_that_looks_like_an_absolute_path_is_not_echoed(env: pytest.MonkeyPatch) -> None:
    env.setenv("BW_USERNAME", "jdoe")
    env.setenv("BW_PASSWORD_FILE", f"/Xy9+kQ2{CANARY}==")

    with pytest.raises(SourceError):
        check_no_leaks(lambda: Resolver(["env"]).get_auth("voice"), canaries=[CANARY])


def test_a_deeply_nested_token_payload_reads_as_no_claims() -> None:
    import base64

    from bandwidth_credentials._jwt import decode_claims

    payload = base64.urlsafe_b64encode(b"[" * 40000).decode().rstrip("=")

    assert decode_claims(f"e30.{payload}.sig") is None


def test_a_json_secret_file_giving_one_key_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bw.json"
    path.write_text(
        f'{{"accountId": "920012", "username": "jdoe", "password": "old", "password": "{CANARY}"}}'
    )

    with pytest.raises(SourceError) as caught:
        check_no_leaks(lambda: Resolver([f"file:{path}"]).get_auth("voice"), canaries=[CANARY])

    assert "'password' twice" in str(caught.value)
