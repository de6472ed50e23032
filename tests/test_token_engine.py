"""The token path on the one refresh engine: odd token answers, lifetimes, refused tokens,
account claims, the mismatch warning's memory, jitter after a SnapStart restore and a
background refresh that cannot start. Real HTTP to loopback servers throughout; time is
an injected clock wherever a rule is about time."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests

from bandwidth_credentials import (
    CredentialsError,
    Resolver,
    ServiceAuth,
    TokenError,
    _factory,
    _oauth,
    verify,
)
from bandwidth_credentials._jwt import loads
from bandwidth_credentials.testing import FakeClock

from .helpers import MemoryProvider
from .misbehaving import answer, json_body, misbehaving
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer, jwt, serve
from .test_cli import bwcreds
from .test_oauth_jwt import raw_jwt

# -- odd token answers: a TokenError from every entry point ------------------------------

DEEP = 100_000  # deeper than the JSON parser recurses


def _token_answer(**fields: Any) -> bytes:
    return json_body({"access_token": "opaque-token-7c", "token_type": "Bearer", **fields})


ODD_ANSWERS = {
    "expires_in of 401 digits": _token_answer(expires_in=int("9" * 401)),
    "expires_in superscript two": _token_answer(expires_in="²"),
    "expires_in true": _token_answer(expires_in=True),
    "deeply nested body": (
        b'{"access_token": "opaque-token-7c", "x": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    ),
    "JWT exp of 10**400": json_body(
        {"access_token": jwt({"accounts": ["920012"], "exp": 10**400}), "expires_in": 3600}
    ),
    "JWT exp before the year 1": json_body(
        {"access_token": jwt({"accounts": ["920012"], "exp": -(10**11)}), "expires_in": 3600}
    ),
    "JWT exp before the epoch": json_body(
        {"access_token": jwt({"accounts": ["920012"], "exp": -1.5}), "expires_in": 3600}
    ),
    "JWT exp of 5000 digits": _token_answer(access_token=raw_jwt(b"9" * 5000)),
    "JWT exp 'x'": _token_answer(access_token=jwt({"accounts": ["920012"], "exp": "x"})),
    "expires_in of 5000 digits": (
        b'{"access_token": "opaque-token-7c", "expires_in": ' + b"9" * 5000 + b"}"
    ),
}


def _headers(resolver: Resolver) -> object:
    return resolver.get_auth("voice").headers()


def _claims(resolver: Resolver) -> object:
    return resolver.get_auth("voice").token_claims()


ENTRY_POINTS: dict[str, tuple[Callable[[Resolver], object], bool]] = {
    "headers()": (_headers, True),
    "token_claims()": (_claims, True),
    "get_auth() discovering the account": (lambda r: r.get_auth("voice"), False),
}


def _client_env(monkeypatch: pytest.MonkeyPatch, token_url: str, account: bool) -> None:
    monkeypatch.setenv("BW_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("BW_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("BW_TOKEN_URL", token_url)
    if account:
        monkeypatch.setenv("BW_ACCOUNT_ID", "920012")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("odd", ODD_ANSWERS)
def test_an_odd_token_answer_is_a_token_error_from_every_entry_point(
    monkeypatch: pytest.MonkeyPatch, odd: str, entry: str
) -> None:
    call, with_account = ENTRY_POINTS[entry]
    with misbehaving(answer(200, ODD_ANSWERS[odd])) as server:
        _client_env(monkeypatch, server.url + "/token", with_account)

        with pytest.raises(CredentialsError) as caught:
            call(Resolver(["env"]))

    error = caught.value
    assert isinstance(error, TokenError), type(error)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert CLIENT_SECRET not in str(error)
    assert "opaque-token-7c" not in str(error)


def test_a_static_token_with_an_unreadable_exp_does_not_crash_check_online() -> None:
    token = jwt({"accounts": ["920012"], "exp": 10**400})

    result = bwcreds(
        "check",
        "--online",
        "voice",
        "--sources",
        "env",
        env={"BW_ACCOUNT_ID": "920012", "BW_ACCESS_TOKEN": token},
    )

    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1), result.stderr
    assert "exp claim is not a time" in result.stdout + result.stderr
    assert token not in result.stdout + result.stderr


# -- lifetimes -----------------------------------------------------------------------------


def manager(url: str, clock: FakeClock, wall: Callable[[], float] | None = None) -> Any:
    return _oauth.TokenManager(
        url, CLIENT_ID, CLIENT_SECRET, clock=clock, wall=wall or (lambda: 1_700_000_000.0)
    )


EPOCH = 1_700_000_000.0  # the wall clock reads this plus the fake clock's seconds

# How the token endpoint says how long its tokens live: (answer setup, lifetime in s, by
# the JWT exp alone). An expires_in below 30 s is cached 30 s (the documented minimum); a
# JWT exp is never served past.
LIFETIMES: dict[str, tuple[Callable[[TokenServer, float], None], float, bool]] = {
    "expires_in 0": (lambda server, wall: setattr(server, "expires_in", 0), 0.0, False),
    "expires_in -5": (lambda server, wall: setattr(server, "expires_in", -5), -5.0, False),
    'expires_in "0"': (lambda server, wall: setattr(server, "expires_in", "0"), 0.0, False),
    "expires_in 0.001": (
        lambda server, wall: setattr(server, "expires_in", 0.001),
        0.001,
        False,
    ),
    "expires_in 3": (lambda server, wall: setattr(server, "expires_in", 3), 3.0, False),
    "expires_in 40": (lambda server, wall: setattr(server, "expires_in", 40), 40.0, False),
    "no expires_in, JWT exp in 3 s": (
        lambda server, wall: (
            setattr(server, "mode", "no_expires"),
            setattr(server, "claims", {"accounts": ["920012"], "exp": wall + 3}),
        ),
        3.0,
        True,
    ),
    "no expires_in, JWT exp in 0.5 s": (
        lambda server, wall: (
            setattr(server, "mode", "no_expires"),
            setattr(server, "claims", {"accounts": ["920012"], "exp": wall + 0.5}),
        ),
        0.5,
        True,
    ),
}


def _shared_manager_token(
    monkeypatch: pytest.MonkeyPatch, server: TokenServer, clock: FakeClock
) -> Callable[[], str]:
    """``get_auth("voice").headers()``'s token: the shared manager, on ``clock``."""
    monkeypatch.setattr(_oauth, "clock", clock)
    monkeypatch.setattr(_oauth, "wall", lambda: EPOCH + clock(), raising=False)
    _client_env(monkeypatch, server.url, account=True)
    voice = Resolver(["env"]).get_auth("voice")
    return lambda: voice.headers()["Authorization"].removeprefix("Bearer ")


def _own_manager_token(
    monkeypatch: pytest.MonkeyPatch, server: TokenServer, clock: FakeClock
) -> Callable[[], str]:
    return manager(server.url, clock, lambda: EPOCH + clock()).token  # type: ignore[no-any-return]


TOKEN_PATHS = {"headers()": _shared_manager_token, "TokenManager.token()": _own_manager_token}


@pytest.mark.parametrize("path", TOKEN_PATHS)
@pytest.mark.parametrize("lifetime", LIFETIMES)
def test_a_token_is_served_for_its_lifetime_and_requested_at_most_once_per_interval(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, lifetime: str, path: str
) -> None:
    setup, seconds, by_exp = LIFETIMES[lifetime]
    cached = seconds if by_exp else max(seconds, _oauth.MIN_LIFETIME)
    clock = FakeClock(0.0)
    token = TOKEN_PATHS[path](monkeypatch, token_server, clock)
    requested: list[float] = []  # when each token was requested
    served: list[tuple[float, str]] = []
    refused: list[tuple[float, TokenError]] = []

    for step in range(240):  # a call every 0.25 s for 60 s
        clock.now = step * 0.25
        setup(token_server, EPOCH + clock.now)
        before = token_server.requests
        try:
            served.append((clock.now, token()))
        except TokenError as error:
            refused.append((clock.now, error))
        if token_server.requests > before:
            requested.append(clock.now)

    issued_at = {f"token-{n}": at for n, at in enumerate(requested, 1)}
    for at, value in served:
        name = value if value.startswith("token-") else _jti(value)
        assert at < issued_at[name] + cached, (at, name)  # never past its (cached) expiry
    # No storm, however short the lifetime: at most one request per interval, and with a
    # lifetime of 30 s or more, a refresh about halfway through at the soonest.
    assert all(b - a >= _oauth.MIN_INTERVAL for a, b in itertools.pairwise(requested))
    if cached >= _oauth.MIN_LIFETIME:
        assert len(requested) <= 5
        assert refused == []  # and always served
    for at, error in refused:  # only between an exp and the next allowed request
        last = max(r for r in requested if r <= at)
        assert last + seconds <= at < last + _oauth.MIN_INTERVAL
        assert error.retryable
        assert error.retry_after is not None
        assert 0 < error.retry_after <= _oauth.MIN_INTERVAL
        assert CLIENT_SECRET not in str(error)
        assert "token-" not in str(error)
    if lifetime == "no expires_in, JWT exp in 3 s":
        assert refused == []  # refreshed before each exp: every call served


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    claims = loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


def test_without_expires_in_the_jwt_exp_is_the_lifetime(token_server: TokenServer) -> None:
    wall = 1_700_000_000.0
    token_server.mode = "no_expires"
    token_server.claims = {"accounts": ["920012"], "exp": wall + 120}
    clock = FakeClock()
    tokens = manager(token_server.url, clock, lambda: wall)
    first = tokens.token()

    clock.advance(119)  # past any refresh time of a 120 s token, not yet expired
    second = tokens.token()

    assert first != second
    assert token_server.requests == 2


# -- tokens the API refuses --------------------------------------------------------------


class RefusingApi:
    """An API that refuses every request with 401 (a revoked client, a missing role)."""

    def __init__(self) -> None:
        self.seen = 0
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, handler: Any) -> tuple[int, bytes]:
        with self.lock:
            self.seen += 1
        return 401, b'{"error": "unauthorized"}'


@pytest.fixture
def refusing_api() -> Iterator[RefusingApi]:
    api = RefusingApi()
    with serve(api) as url:  # type: ignore[arg-type]
        api.url = url
        yield api


def _refused_setup(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, api: RefusingApi
) -> ServiceAuth:
    # Nothing comes due by itself (raising=False: the same test runs on older versions).
    monkeypatch.setattr(_oauth, "clock", FakeClock(), raising=False)
    MemoryProvider.stores["a"] = {
        "accountId": "920012",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "tokenUrl": token_server.url,
        "voiceBaseUrl": api.url + "/api/v2/accounts/920012",
    }
    return Resolver(["mem:a"]).get_auth("voice")


def _with_requests(voice: ServiceAuth) -> int:
    return requests.get(voice.url("calls"), auth=voice.requests_auth(), timeout=10).status_code


def _with_httpx(voice: ServiceAuth) -> int:
    return httpx.get(voice.url("calls"), auth=voice.httpx_auth(), timeout=10).status_code


def _with_httpx_async(voice: ServiceAuth) -> int:
    async def call() -> int:
        async with httpx.AsyncClient(auth=voice.httpx_auth(), timeout=10) as client:
            return (await client.get(voice.url("calls"))).status_code

    return asyncio.run(call())


ADAPTERS = {"requests": _with_requests, "httpx": _with_httpx, "httpx async": _with_httpx_async}


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_api_refusing_every_token_gets_one_new_token_per_window_sequentially(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    refusing_api: RefusingApi,
    adapter: str,
) -> None:
    voice = _refused_setup(monkeypatch, token_server, refusing_api)

    statuses = [ADAPTERS[adapter](voice) for _ in range(20)]

    assert statuses == [401] * 20
    assert token_server.requests == 2  # the first token and one replacement, not 21
    assert refusing_api.seen == 21  # one retry, with the replacement; then the 401 stands


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_api_refusing_every_token_gets_one_new_token_per_window_from_threads(
    monkeypatch: pytest.MonkeyPatch,
    token_server: TokenServer,
    refusing_api: RefusingApi,
    adapter: str,
) -> None:
    voice = _refused_setup(monkeypatch, token_server, refusing_api)
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def caller() -> None:
        barrier.wait(10)
        statuses.extend(ADAPTERS[adapter](voice) for _ in range(10))

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert statuses == [401] * 80
    assert token_server.requests <= 2  # not 38


def _bearer(auth: ServiceAuth) -> str:
    return auth.headers()["Authorization"].removeprefix("Bearer ")


# The ways a caller reports that the API refused its token: each is one refusal, acted on
# at most once per window.
REFUSALS: dict[str, Callable[[ServiceAuth], None]] = {
    "invalidate()": lambda auth: auth.invalidate(),
    "invalidate(None)": lambda auth: auth.invalidate(None),
    "invalidate(the refused header)": lambda auth: auth.invalidate(auth.headers()["Authorization"]),
    "invalidate(the refused token)": lambda auth: auth.invalidate(_bearer(auth)),
    "current().invalidate()": lambda auth: auth.current().invalidate(),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_refusal_however_reported_replaces_the_token_at_most_once_per_window(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, refusal: str
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(_oauth, "clock", clock)
    _client_env(monkeypatch, token_server.url, account=True)
    voice = Resolver(["env"]).get_auth("voice")
    first = _bearer(voice)

    seen = set()
    for _ in range(20):  # an API refusing every token, 20 requests in a row
        REFUSALS[refusal](voice)
        seen.add(_bearer(voice))
    within = token_server.requests
    clock.advance(_oauth.BACKOFF_CAP)  # longer than any refusal window
    REFUSALS[refusal](voice)
    after = _bearer(voice)

    assert first == "token-1"
    assert within == 2  # the first token and one replacement, not 21
    assert seen == {"token-2"}
    assert after == "token-3"
    assert token_server.requests == 3


def test_a_refused_token_is_replaced_again_after_the_window(token_server: TokenServer) -> None:
    clock = FakeClock()
    tokens = manager(token_server.url, clock)
    first = tokens.token()
    tokens.invalidate(first)
    second = tokens.token()
    tokens.invalidate(second)  # within the window: the refusal is the caller's answer
    kept = tokens.token()

    clock.advance(_oauth.BACKOFF_CAP)
    tokens.invalidate(kept)
    third = tokens.token()

    assert (first, second, kept, third) == ("token-1", "token-2", "token-2", "token-3")


# -- the accounts claim --------------------------------------------------------------------

BAD_ACCOUNTS = ["../../oauth2/token?x=", "1#frag", "u-abc123", "\x1b[31m920012\x1b[0m", "920 012"]


@pytest.mark.parametrize("account", BAD_ACCOUNTS)
def test_a_discovered_account_passes_the_account_id_rule(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, account: str
) -> None:
    token_server.claims = {"accounts": [account]}
    _client_env(monkeypatch, token_server.url, account=False)

    with pytest.raises(TokenError) as caught:
        Resolver(["env"]).get_auth("voice")

    message = str(caught.value)
    assert "accounts claim" in message
    assert account not in message
    assert "\x1b" not in message
    assert token_server.issued[0] not in message


def test_the_mismatch_warning_and_check_show_only_account_ids_of_the_claim(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, caplog: pytest.LogCaptureFixture
) -> None:
    _client_env(monkeypatch, token_server.url, account=False)
    monkeypatch.setenv("BW_ACCOUNT_ID", "7777777")
    token_server.claims = {"accounts": ["\x1b[2J../x", "920012"]}
    caplog.set_level(logging.WARNING, logger="bandwidth_credentials")
    resolver = Resolver(["env"])

    resolver.get_auth("voice").headers()
    (checked,) = verify(["voice"], resolver=resolver)

    warned = [r.getMessage() for r in caplog.records if "not among" in r.getMessage()]
    assert len(warned) == 1
    for text in (warned[0], checked.detail):
        assert "(920012)" in text
        assert "\x1b" not in text
        assert "../x" not in text


def test_the_mismatch_warning_is_once_per_account_and_client_with_bounded_memory(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(_oauth, "clock", clock)
    _client_env(monkeypatch, token_server.url, account=False)
    monkeypatch.setenv("BW_ACCOUNT_ID", "7777777")
    caplog.set_level(logging.WARNING, logger="bandwidth_credentials")
    voice = Resolver(["env"]).get_auth("voice")

    for n in range(3000):  # every token lists another account
        token_server.claims = {"accounts": [str(100000 + n)]}
        voice.invalidate()
        voice.headers()
        clock.advance(_oauth.BACKOFF_CAP)  # past the refusal window: each is acted on

    warned = [r for r in caplog.records if "not among" in r.getMessage()]
    assert token_server.requests == 3000
    assert len(warned) == 1
    assert len(_factory._warned) == 1


# -- jitter after a SnapStart restore --------------------------------------------------------


def test_environments_restored_from_one_snapshot_refresh_at_different_times(
    token_server: TokenServer,
) -> None:
    refresh_times = set()

    for _ in range(6):  # six environments restored from one snapshot: same `random` state
        random.seed(20261206)
        clock = FakeClock()
        tokens = manager(token_server.url, clock)
        tokens.token()
        refresh_times.add(_refresh_time(tokens, clock))

    assert len(refresh_times) == 6


def _refresh_time(tokens: Any, clock: FakeClock) -> float:
    """When ``tokens`` stops serving its token without a request (found by bisection:
    ``cached_token()`` never does I/O)."""
    start, low, high = clock.now, clock.now, clock.now + 3600
    for _ in range(50):
        clock.now = (low + high) / 2
        if tokens.cached_token() is None:
            high = clock.now
        else:
            low = clock.now
    clock.now = start
    return round(high - start, 6)


# -- a background refresh that cannot start ------------------------------------------------


def test_a_background_refresh_that_cannot_start_runs_inline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    MemoryProvider.stores["a"] = {"accountId": "920012", "accessToken": "t"}
    clock = FakeClock()
    resolver = Resolver(["mem:a?ttl=60&max_stale=120"], clock=clock, inline=False)
    resolver.get_auth("voice")
    start = threading.Thread.start
    failing = [True]

    def cannot_start(self: threading.Thread) -> None:
        if failing[0]:
            raise RuntimeError("can't start new thread")
        start(self)

    monkeypatch.setattr(threading.Thread, "start", cannot_start)
    clock.advance(70)  # due: a background refresh would start now
    MemoryProvider.stores["a"] = {"accountId": "920013", "accessToken": "t"}
    refreshed = resolver.get_auth("voice")
    clock.advance(500)  # past max_stale
    failing[0] = False
    outcome: list[object] = []
    caller = threading.Thread(target=lambda: outcome.append(resolver.get_auth("voice")))
    caller.start()
    caller.join(10)

    assert refreshed.account_id == "920013"
    assert MemoryProvider.fetches["a"] == 3
    assert not caller.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], ServiceAuth)


def test_the_mismatch_memory_is_cleared_by_reset() -> None:
    from bandwidth_credentials.testing import reset

    _factory._warned.add(("1", "c"))

    reset()

    assert not _factory._warned


# -- the bearer source's cached header under concurrent refreshes ---------------------------


class ScriptedClock(FakeClock):
    """A FakeClock whose readings in a named thread follow a script (each entry a
    function giving the reading), then ``now`` like everyone else's."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: dict[str, list[Callable[[], float]]] = {}

    def __call__(self) -> float:
        script = self.scripts.get(threading.current_thread().name)
        return script.pop(0)() if script else self.now


class PauseOnWarning(logging.Handler):
    """Holds the thread named ``name`` in its first warning until ``go`` is set."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.WARNING)
        self.name_, self.paused, self.go = name, threading.Event(), threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread().name == self.name_ and not self.paused.is_set():
            self.paused.set()
            self.go.wait(10)


def test_the_cached_header_is_the_current_tokens_whatever_the_interleaving(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    clock = ScriptedClock()
    monkeypatch.setattr(_oauth, "clock", clock)
    _client_env(monkeypatch, token_server.url, account=False)
    monkeypatch.setenv("BW_ACCOUNT_ID", "7777777")  # not in the claim: each check warns
    token_server.claims = {"accounts": ["920012"]}
    voice = Resolver(["env"]).get_auth("voice")
    voice.headers()  # token 1, checked
    due = _oauth.token_source(voice._bearer._credentials).current.due_at  # type: ignore[union-attr]
    clock.now = due + 1  # token 1 is due (not expired): the next caller refreshes it
    _factory._warned.clear()
    handler = PauseOnWarning("refresher")
    logging.getLogger("bandwidth_credentials").addHandler(handler)
    reader_read, reader_go = threading.Event(), threading.Event()

    def reader_pauses() -> float:  # read token 1 (not yet due for this reader), then wait
        reader_read.set()
        reader_go.wait(10)
        return due - 1

    # The reader passes the lookup path (due), reads token 1 in the manager and is held
    # there; the refresher then gets token 2 and is held inside its account check; the
    # reader hands out token 1; the refresher finishes.
    clock.scripts["reader"] = [lambda: due + 1, reader_pauses]
    reader = threading.Thread(target=voice.headers, name="reader", daemon=True)
    refresher = threading.Thread(target=voice.headers, name="refresher", daemon=True)
    try:
        reader.start()
        assert reader_read.wait(10)
        refresher.start()
        assert handler.paused.wait(10)
        reader_go.set()
        reader.join(10)
        handler.go.set()
        refresher.join(10)
    finally:
        handler.go.set()
        reader_go.set()
        logging.getLogger("bandwidth_credentials").removeHandler(handler)

    assert token_server.requests == 2
    assert voice.headers()["Authorization"] == "Bearer " + token_server.issued[-1]
