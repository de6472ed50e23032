"""Several accounts, one credential: ``get_auth(service, account_id=...)`` against a
loopback token endpoint issuing JWTs whose ``accounts`` claim lists several."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable

import pytest

from bandwidth_credentials import (
    CredentialNotFoundError,
    InvalidCredentialsError,
    Resolver,
    TokenError,
    configure,
    get_auth,
)
from bandwidth_credentials import aget_auth as module_aget_auth
from bandwidth_credentials._factory import ACCOUNT_ARGUMENT
from bandwidth_credentials.testing import BASIC_DEPRECATION_FILTER, reset

from .oauth_servers import CLIENT_ID, CLIENT_SECRET, ApiServer, TokenServer, jwt

TWO = {"accounts": ["920012", "920013"], "roles": ["HTTP Voice"], "express": False}


def oauth(monkeypatch: pytest.MonkeyPatch, server: TokenServer, **extra: str) -> None:
    for name, value in {
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": server.url,
        **extra,
    }.items():
        monkeypatch.setenv(name, value)


def test_another_account_of_the_token_with_one_token_manager(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    resolver = Resolver(["env"])

    configured = resolver.get_auth("voice")
    other = resolver.get_auth("voice", account_id="920013")
    headers = (configured.headers(), other.headers(), resolver.get_auth("sms", "920013").headers())

    assert configured.account_id == "920012"
    assert other.account_id == "920013"
    assert other.base_url == "https://voice.bandwidth.com/api/v2/accounts/920013"
    assert other.url("calls") == "https://voice.bandwidth.com/api/v2/accounts/920013/calls"
    assert other.provenance["account_id"].source == ACCOUNT_ARGUMENT
    assert (
        headers[0]
        == headers[1]
        == headers[2]
        == {"Authorization": "Bearer " + token_server.issued[0]}
    )
    assert token_server.requests == 1  # one token manager serves every account


def test_an_account_the_token_does_not_list_names_both_and_the_listed_ones(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO

    with pytest.raises(CredentialNotFoundError) as caught:
        Resolver(["env"]).get_auth("voice", account_id="777")

    message = str(caught.value)
    assert message.startswith("the voice API cannot use account 777: ")
    assert "account 777 is not among the accounts of the access token" in message
    assert "missing" not in message  # the account was given, not missing
    assert f"for client {CLIENT_ID} (920012, 920013)" in message
    assert caught.value.service == "voice"
    assert caught.value.missing == ("account_id",)
    assert CLIENT_SECRET not in message
    assert token_server.issued[0] not in message


def test_a_token_listing_thousands_of_accounts_is_still_checked(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    # 6,000 accounts: a JWT of about 130 KiB, under the 1 MiB cap on a token answer.
    many = [str(9_000_000 + n) for n in range(6000)]
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID=many[0])
    token_server.claims = {**TWO, "accounts": many}
    resolver = Resolver(["env"])

    listed = resolver.get_auth("voice", account_id=many[-1])
    with pytest.raises(CredentialNotFoundError) as caught:
        resolver.get_auth("voice", account_id="777")

    assert len(token_server.issued[0]) > 64 << 10
    assert listed.account_id == many[-1]
    assert "account 777 is not among the accounts of the access token" in str(caught.value)
    assert f"({', '.join(many[:10])} and 5990 more)" in str(caught.value)
    assert token_server.issued[0] not in str(caught.value)


def test_without_a_configured_account_the_caller_chooses_among_several(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server)
    token_server.claims = TWO
    resolver = Resolver(["env"])

    with pytest.raises(CredentialNotFoundError, match="lists accounts 920012, 920013"):
        resolver.get_auth("voice")
    chosen = resolver.get_auth("voice", account_id="920013")

    assert chosen.base_url.endswith("/accounts/920013")
    assert chosen.headers() == {"Authorization": "Bearer " + token_server.issued[0]}
    assert token_server.requests == 1


def test_the_configured_account_asked_for_is_the_configured_object(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    resolver = Resolver(["env"])

    assert resolver.get_auth("voice", "920012") is resolver.get_auth("voice")
    assert token_server.requests == 0  # nothing to check: it is the configured account


def test_per_account_objects_are_cached_and_follow_their_account(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    resolver = Resolver(["env"])

    first = resolver.get_auth("voice", account_id="920013")
    again = resolver.get_auth("voice", account_id="920013")

    assert again is first
    assert first.current() is first  # not the configured account's object
    assert resolver.get_auth_nowait("voice", "920013") is first
    assert asyncio.run(resolver.aget_auth("voice", account_id="920013")) is first


def test_the_cache_of_accounts_is_bounded(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="1")
    token_server.claims = {"roles": ["HTTP Voice"]}  # no accounts claim: nothing to check
    resolver = Resolver(["env"])

    for account in range(1000, 1600):
        resolver.get_auth("voice", account_id=str(account))

    assert 0 < len(resolver._cached.accounts) <= 256  # accounts kept per resolution
    assert resolver.get_auth("voice", "1599").account_id == "1599"


@pytest.mark.parametrize("account", ["u-123", "92 0012", "", "../920012"])
def test_an_account_id_that_is_not_numeric_is_refused(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, account: str
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["env"]).get_auth("voice", account_id=account)

    assert caught.value.field == "account_id"
    assert token_server.requests == 0


def test_a_failing_token_endpoint_is_a_token_error(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.mode = "401"

    with pytest.raises(TokenError) as caught:
        Resolver(["env"]).get_auth("voice", account_id="920013")

    assert caught.value.status == 401
    assert CLIENT_SECRET not in str(caught.value)


@pytest.mark.filterwarnings(BASIC_DEPRECATION_FILTER)
def test_basic_credentials_take_any_account_with_nothing_to_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "u", "BW_PASSWORD": "p"}.items():
        monkeypatch.setenv(name, value)
    resolver = Resolver(["env"])

    other = resolver.get_auth("numbers", account_id="5500")

    assert other.base_url == "https://dashboard.bandwidth.com/api/accounts/5500"
    assert other.headers() == resolver.get_auth("numbers").headers()
    assert other.token_claims() is None


@pytest.mark.parametrize(
    ("accounts", "account", "ok"),
    [(["1", "2"], "2", True), (["1", "2"], "3", False), ([], "3", True)],
)
def test_a_static_token_is_checked_against_its_own_claim(
    monkeypatch: pytest.MonkeyPatch, accounts: list[str], account: str, ok: bool
) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "1")
    monkeypatch.setenv("BW_ACCESS_TOKEN", jwt({"accounts": accounts}))
    resolver = Resolver(["env"])

    if ok:
        assert resolver.get_auth("voice", account).account_id == account
    else:
        with pytest.raises(CredentialNotFoundError, match="static access token"):
            resolver.get_auth("voice", account)


#: Credentials of every kind with no account id anywhere, and whether the account a
#: caller names is checked (and against what): the caller's account is taken the same way.
NO_CONFIGURED_ACCOUNT = {
    "oauth": ({"BW_CLIENT_ID": CLIENT_ID, "BW_CLIENT_SECRET": CLIENT_SECRET}, True),
    "static-jwt": ({"BW_ACCESS_TOKEN": jwt({"accounts": ["920012"]})}, True),
    "static-opaque": ({"BW_ACCESS_TOKEN": "opaque-static-token-7c"}, False),
    "basic": ({"BW_USERNAME": "u", "BW_PASSWORD": "p"}, False),
}


@pytest.mark.filterwarnings(BASIC_DEPRECATION_FILTER)
@pytest.mark.parametrize(
    ("values", "checked"), NO_CONFIGURED_ACCOUNT.values(), ids=NO_CONFIGURED_ACCOUNT.keys()
)
def test_without_a_configured_account_every_kind_takes_the_callers(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    values: dict[str, str],
    checked: bool,
) -> None:
    token_server.claims = {"accounts": ["920012"], "roles": [], "express": False}
    for name, value in {**values, "BW_TOKEN_URL": token_server.url}.items():
        monkeypatch.setenv(name, value)
    resolver = Resolver(["env"])

    chosen = resolver.get_auth("voice", account_id="920012")

    assert chosen.account_id == "920012"
    assert chosen.base_url == "https://voice.bandwidth.com/api/v2/accounts/920012"
    if checked:
        with pytest.raises(CredentialNotFoundError, match="920099") as caught:
            resolver.get_auth("voice", account_id="920099")
        assert "920012" in str(caught.value)
    else:
        assert resolver.get_auth("voice", account_id="920099").account_id == "920099"


def test_the_module_functions_take_the_account_too(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    reset()
    configure(["env"])
    try:
        voice = get_auth("voice", account_id="920013")
        again = get_auth("voice", "920013")
        from_async = asyncio.run(module_aget_auth("voice", account_id="920013"))
    finally:
        reset()

    assert voice.account_id == "920013"
    assert again is voice
    assert from_async is voice


def test_a_401_to_another_account_renews_the_token_and_keeps_the_account(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, api_server: ApiServer
) -> None:
    httpx = pytest.importorskip("httpx")
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012", BW_API_URL=api_server.url)
    token_server.claims = TWO
    other = Resolver(["env"]).get_auth("lookup", account_id="920013")

    response = httpx.get(other.url("tnlookup"), auth=other.httpx_auth(), timeout=10)

    assert response.status_code == 200
    assert api_server.seen == [
        "Bearer " + token_server.issued[0],
        "Bearer " + token_server.issued[1],
    ]
    assert response.request.url.path == "/v2/accounts/920013/tnlookup"


# Values that are not Bandwidth account ids, whichever way they arrive: BW_ACCOUNT_ID,
# get_auth()/aget_auth() and every command's --account-id follow one rule (and no message
# quotes them: they may carry escape sequences, or be a megabyte long).
NOT_ACCOUNT_IDS = {
    "path": "../x",
    "fragment": "1#f",
    "arabic-indic-digits": "\u0669\u0662\u0660\u0660\u0661\u0662",
    "escape-sequence": "\x1b[31m920012",
    "fullwidth-digits": "\uff19\uff12\uff10\uff10\uff11\uff12",
    "a-hundred-thousand-digits": "9" * 100_000,
}


@pytest.mark.parametrize("value", NOT_ACCOUNT_IDS.values(), ids=NOT_ACCOUNT_IDS.keys())
def test_one_account_id_rule_for_every_entry_point(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, value: str
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    resolver = Resolver(["env"])
    refusals: list[InvalidCredentialsError] = []
    entry_points: list[Callable[[], object]] = [
        lambda: resolver.get_auth("voice", account_id=value),
        lambda: asyncio.run(resolver.aget_auth("voice", account_id=value)),
        lambda: get_auth("voice", account_id=value),
        lambda: asyncio.run(module_aget_auth("voice", account_id=value)),
    ]

    for ask in entry_points:
        reset()
        configure(["env"])
        with pytest.raises(InvalidCredentialsError) as caught:
            ask()
        refusals.append(caught.value)
    reset()
    monkeypatch.setenv("BW_ACCOUNT_ID", value)
    with pytest.raises(InvalidCredentialsError) as configured:
        Resolver(["env"]).get_auth("voice")
    refusals.append(configured.value)
    reset()

    for refusal in refusals:
        assert refusal.field == "account_id"
        assert value not in str(refusal)
        assert len(str(refusal)) < 400
    assert token_server.requests == 0


def test_a_million_digit_account_id_is_refused_without_being_quoted(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO

    with pytest.raises(InvalidCredentialsError) as caught:
        Resolver(["env"]).get_auth("voice", account_id="9" * 10**6)

    assert len(str(caught.value)) < 400
    assert token_server.requests == 0


# Spellings BW_ACCOUNT_ID accepts, as a source reads them (surrounding whitespace dropped,
# a JSON number as its digits): get_auth() takes them the same way.
SPELLINGS = {"spaces": " 920013 ", "newline": "920013\n", "number": 920013}


@pytest.mark.parametrize("value", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_an_account_id_is_read_as_a_source_reads_bw_account_id(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, value: object
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    resolver = Resolver(["env"])
    reset()
    configure(["env"])
    try:
        chosen = [
            resolver.get_auth("voice", account_id=value),  # type: ignore[arg-type]
            asyncio.run(resolver.aget_auth("voice", account_id=value)),  # type: ignore[arg-type]
            get_auth("voice", account_id=value),  # type: ignore[arg-type]
            asyncio.run(module_aget_auth("voice", account_id=value)),  # type: ignore[arg-type]
        ]
    finally:
        reset()

    for auth in chosen:
        assert auth.account_id == "920013"
        assert auth.url("calls") == "https://voice.bandwidth.com/api/v2/accounts/920013/calls"
    assert token_server.requests == 1


def test_the_configured_account_in_another_spelling_is_the_configured_auth(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    resolver = Resolver(["env"])

    assert resolver.get_auth("voice", account_id=" 920012") is resolver.get_auth("voice")


@pytest.mark.parametrize("value", [True, 920013.0, b"920013", ["920013"]])
def test_an_account_id_that_is_not_text_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, value: object
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = TWO
    resolver = Resolver(["env"])
    resolver.get_auth("voice")  # something cached: the lookup paths are taken
    reset()
    configure(["env"])
    refusals: list[InvalidCredentialsError] = []
    entry_points: list[Callable[[], object]] = [
        lambda: resolver.get_auth("voice", account_id=value),  # type: ignore[arg-type]
        lambda: asyncio.run(resolver.aget_auth("voice", account_id=value)),  # type: ignore[arg-type]
        lambda: get_auth("voice", account_id=value),  # type: ignore[arg-type]
        lambda: get_auth("voice", account_id=value),  # type: ignore[arg-type]
        lambda: asyncio.run(module_aget_auth("voice", account_id=value)),  # type: ignore[arg-type]
    ]
    try:
        for ask in entry_points:
            with pytest.raises(InvalidCredentialsError) as caught:
                ask()
            refusals.append(caught.value)
    finally:
        reset()

    for refusal in refusals:
        assert refusal.field == "account_id"
        assert f"not {type(value).__name__}" in str(refusal)
    assert token_server.requests == 0


def test_an_accounts_claim_entry_too_long_for_an_account_id_is_not_quoted(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    oauth(monkeypatch, token_server, BW_ACCOUNT_ID="920012")
    token_server.claims = {"accounts": ["920012", "7" * 5000, "920013"]}

    with pytest.raises(CredentialNotFoundError) as caught:
        Resolver(["env"]).get_auth("voice", account_id="777")

    assert "(920012, 920013)" in str(caught.value)
    assert "7" * 100 not in str(caught.value)


def test_a_401_report_while_other_threads_add_accounts_is_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # invalidate(seen) looks for ``seen`` among the per-account objects while other
    # threads add accounts: switching threads as often as possible, it looked through
    # the live dict and raised RuntimeError (dictionary changed size) within 0.1 s.
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_ACCESS_TOKEN", "static-token-not-a-jwt")
    resolver = Resolver(["env"])
    stop = threading.Event()
    failures: list[BaseException] = []

    def add_accounts() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            resolver.get_auth("voice", account_id=str(1000 + number % 5000))

    worker = threading.Thread(target=add_accounts)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    worker.start()
    try:
        ends = time.monotonic() + 1.0
        while time.monotonic() < ends:
            seen = resolver.get_auth("voice", account_id="5")
            try:
                resolver.invalidate(seen)
            except RuntimeError as exc:
                failures.append(exc)
                break
    finally:
        stop.set()
        worker.join(10)
        sys.setswitchinterval(interval)

    assert failures == []
    assert not worker.is_alive()
