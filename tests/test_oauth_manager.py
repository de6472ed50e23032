"""The token manager's concurrency, backoff, jitter, keying and lifecycle rules, against
a real loopback token endpoint; time is an injected clock wherever a rule is about time."""

from __future__ import annotations

import contextlib
import email.utils
import os
import threading
import time

import pytest

from bandwidth_credentials import Resolver, TokenError, _oauth
from bandwidth_credentials._jwt import TokenClaims
from bandwidth_credentials.testing import FakeClock, in_forked_child

from .helpers import MemoryProvider
from .misbehaving import answer, hang, json_body, misbehaving, retry_after
from .oauth_servers import CLIENT_ID as CLIENT
from .oauth_servers import CLIENT_SECRET as SECRET
from .oauth_servers import TokenServer

TOKEN_JSON = json_body({"access_token": "fresh-token", "token_type": "Bearer", "expires_in": 3600})


EPOCH = 1_700_000_000.0 - 1000.0  # the wall clock is the fake clock plus this


def wall(clock: FakeClock) -> float:
    """Epoch seconds that move with ``clock`` (for Retry-After dates and JWT ``exp``)."""
    return clock() + EPOCH


def manager(
    url: str, clock: FakeClock, rng: float = 0.5, secret: str = SECRET
) -> _oauth.TokenManager:
    return _oauth.TokenManager(
        url, CLIENT, secret, clock=clock, wall=lambda: wall(clock), rng=lambda: rng
    )


def wait_for_requests(server: TokenServer, count: int) -> None:
    """Wait (at most 5 s) until ``server`` has seen ``count`` requests, woken by each."""
    with server.arrived:
        assert server.arrived.wait_for(lambda: server.requests >= count, 5.0)


def test_a_slow_refresh_never_withholds_the_valid_token(token_server: TokenServer) -> None:
    clock = FakeClock()
    tokens = manager(token_server.url, clock)
    assert tokens.token() == "token-1"
    clock.advance(3600 - 300)  # inside the early-refresh window, still valid
    token_server.delay = 2.0
    refresher = threading.Thread(target=tokens.token)
    refresher.start()
    wait_for_requests(token_server, 2)

    started = time.monotonic()
    served = tokens.token()
    waited = time.monotonic() - started
    refresher.join(10)

    assert served == "token-1"
    assert waited < 0.2  # not the 2 s the refresh takes
    assert tokens.token() == "token-2"
    assert token_server.requests == 2


def test_early_refresh_calls_make_one_request(token_server: TokenServer) -> None:
    clock = FakeClock()
    tokens = manager(token_server.url, clock)
    tokens.token()
    clock.advance(3600 - 300)
    token_server.delay = 0.3

    threads = [threading.Thread(target=tokens.token) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert token_server.requests == 2


@pytest.mark.parametrize("behaviour", ["503", "hang"])
def test_endpoint_down_8_cold_callers_share_one_bounded_refresh(
    monkeypatch: pytest.MonkeyPatch, behaviour: str
) -> None:
    monkeypatch.setattr(_oauth, "TIMEOUT", 0.5)
    script = hang() if behaviour == "hang" else answer(503, b'{"error": "unavailable"}')
    outcomes: list[BaseException | str] = []
    barrier = threading.Barrier(8)

    with misbehaving(script) as server:
        tokens = _oauth.TokenManager(server.url + "/token", CLIENT, SECRET)

        def caller() -> None:
            barrier.wait()
            try:
                outcomes.append(tokens.token())
            except TokenError as exc:
                outcomes.append(exc)

        started = time.monotonic()
        threads = [threading.Thread(target=caller) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        elapsed = time.monotonic() - started
        again_started = time.monotonic()
        with pytest.raises(TokenError):
            tokens.token()  # inside the backoff window: no new request
        again = time.monotonic() - again_started
        requests = len(server.requests)

    assert len(outcomes) == 8
    assert all(isinstance(o, TokenError) and o.retryable for o in outcomes)
    assert requests == _oauth.ATTEMPTS  # one refresh for all eight, not one each
    assert elapsed < _oauth.ATTEMPTS * 0.5 + 1.5
    assert again < 0.1


def test_failures_are_retried_once_per_growing_backoff_window() -> None:
    clock = FakeClock()
    with misbehaving(answer(500, b"{}")) as server:
        tokens = manager(server.url, clock, rng=1.0)  # no jitter shortening the window
        seen = []
        for step in (0.0, 0.5, 0.6, 0.5, 1.0, 1.0, 1.0, 1.0):
            clock.advance(step)
            with pytest.raises(TokenError):
                tokens.token()
            seen.append(len(server.requests))

    # windows of 1 s then 2 s then 4 s (BACKOFF_BASE doubling), ATTEMPTS requests each
    per = _oauth.ATTEMPTS
    assert seen == [per, per, 2 * per, 2 * per, 2 * per, 3 * per, 3 * per, 3 * per]


@pytest.mark.parametrize(
    ("value", "honoured"),
    [
        ("30", 30.0),
        ("3600", _oauth.BACKOFF_CAP),  # capped
        ("date", 45.0),
    ],
)
def test_retry_after_is_honoured_up_to_the_cap(value: str, honoured: float) -> None:
    clock = FakeClock()
    if value == "date":
        value = email.utils.formatdate(wall(clock) + 45, usegmt=True)
    with misbehaving(retry_after(429, value), answer(200, TOKEN_JSON)) as server:
        tokens = manager(server.url, clock)
        with pytest.raises(TokenError) as first:
            tokens.token()
        clock.advance(honoured - 1)
        with pytest.raises(TokenError):
            tokens.token()
        before = len(server.requests)
        clock.advance(1.01)
        token = tokens.token()
        after = len(server.requests)

    assert first.value.status == 429
    assert first.value.retryable
    assert "retry after" in str(first.value)
    assert before == 1  # no retry inside the window, not even within one refresh
    assert token == "fresh-token"
    assert after == 2


@pytest.mark.parametrize(("rng", "refresh_after"), [(0.0, 3600 - 324), (0.999, 3600 - 395.9)])
def test_early_refresh_time_carries_ten_percent_jitter(
    token_server: TokenServer, rng: float, refresh_after: float
) -> None:
    clock = FakeClock()
    tokens = manager(token_server.url, clock, rng=rng)
    tokens.token()

    clock.advance(refresh_after - 0.2)
    kept = tokens.token()
    clock.advance(0.4)
    renewed = tokens.token()

    assert (kept, renewed) == ("token-1", "token-2")


def test_cached_token_never_waits(token_server: TokenServer) -> None:
    clock = FakeClock()
    tokens = manager(token_server.url, clock)
    cold = tokens.cached_token()
    tokens.token()
    warm = tokens.cached_token()
    clock.advance(3600 - 100)  # refresh due, nothing in flight
    due = tokens.cached_token()
    clock.advance(200)
    expired = tokens.cached_token()

    assert (cold, warm, due, expired) == (None, "token-1", None, None)
    assert token_server.requests == 1


def test_two_secrets_for_one_client_id_keep_their_own_tokens(
    token_server: TokenServer,
) -> None:
    token_server.also_accept = {"second-secret"}
    first = _oauth.token_manager(token_server.url, CLIENT, SECRET)
    second = _oauth.token_manager(token_server.url, CLIENT, "second-secret")

    seen = [first.token(), second.token(), first.token(), second.token()]

    assert first is not second
    assert _oauth.token_manager(token_server.url, CLIENT, SECRET) is first
    assert seen == ["token-1", "token-2", "token-1", "token-2"]
    assert token_server.requests == 2
    assert "<client secret digest>" in repr(_oauth._managers)  # no bytes of it printed


def test_two_resolvers_with_different_secrets_do_not_evict_each_other(
    token_server: TokenServer,
) -> None:
    token_server.also_accept = {"second-secret"}
    for name, secret in (("a", SECRET), ("b", "second-secret")):
        MemoryProvider.stores[name] = {
            "accountId": "920012",
            "clientId": CLIENT,
            "clientSecret": secret,
            "tokenUrl": token_server.url,
        }
    one, two = Resolver(["mem:a"]), Resolver(["mem:b"])

    seen = [r.get_auth("voice").headers()["Authorization"] for r in (one, two, one, two)]

    assert seen == ["Bearer token-1", "Bearer token-2", "Bearer token-1", "Bearer token-2"]
    assert token_server.requests == 2


def test_claims_of_a_jwt_access_token(token_server: TokenServer) -> None:
    token_server.claims = {"accounts": ["920012", 9900], "roles": ["voice"], "express": True}
    token_server.claims["exp"] = 1_900_000_000
    tokens = _oauth.TokenManager(token_server.url, CLIENT, SECRET)

    claims = tokens.claims()

    assert claims == TokenClaims(("920012", "9900"), ("voice",), True, 1_900_000_000.0)
    assert token_server.requests == 1


def test_claims_of_an_opaque_token_are_none(token_server: TokenServer) -> None:
    assert _oauth.TokenManager(token_server.url, CLIENT, SECRET).claims() is None


def test_invalidate_all_drops_every_cached_token(token_server: TokenServer) -> None:
    tokens = _oauth.token_manager(token_server.url, CLIENT, SECRET)
    tokens.token()

    _oauth.invalidate_all()

    assert tokens.cached_token() is None
    assert tokens.token() == "token-2"


def quietly(tokens: _oauth.TokenManager) -> None:
    with contextlib.suppress(TokenError):  # the parent's own outcome does not matter here
        tokens.token()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_during_a_token_request_gets_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_oauth, "TIMEOUT", 5.0)
    with misbehaving(hang(), answer(200, TOKEN_JSON)) as server:
        tokens = _oauth.token_manager(server.url + "/token", CLIENT, SECRET)
        parent = threading.Thread(target=quietly, args=(tokens,))
        parent.start()
        assert server.arrived.wait(5.0)  # the parent's request hangs over there

        def child() -> bool:  # what the lifecycle hook runs, then a token of its own
            _oauth.reset_after_fork()
            started = time.monotonic()
            return tokens.token() == "fresh-token" and time.monotonic() - started < 3

        outcome = in_forked_child(child, timeout=20)
        server.stop.set()
        parent.join(10)

    assert outcome == "True"


def rotated_out(url: str) -> _oauth.TokenManager:
    """The manager of SECRET, held (as an old auth object holds it) after more rotations
    of the client's secret than the shared table keeps managers for."""
    old = _oauth.token_manager(url, CLIENT, SECRET)
    for number in range(_oauth.PER_CLIENT):
        _oauth.token_manager(url, CLIENT, f"rotated-secret-{number}")
    assert all(manager is not old for manager in _oauth._managers.values())
    return old


def test_a_snapstart_restore_drops_the_token_of_a_manager_rotated_out(
    token_server: TokenServer,
) -> None:
    from bandwidth_credentials import _lifecycle

    old = rotated_out(token_server.url)
    old.token()

    _lifecycle.restored()

    assert old.cached_token() is None
    assert old.token() == "token-2"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_during_a_request_of_a_manager_rotated_out_gets_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_oauth, "TIMEOUT", 5.0)
    with misbehaving(hang(), answer(200, TOKEN_JSON)) as server:
        old = rotated_out(server.url + "/token")
        parent = threading.Thread(target=quietly, args=(old,))
        parent.start()
        assert server.arrived.wait(5.0)  # the parent's request hangs over there

        def child() -> bool:  # the at-fork hook alone has reset the manager
            started = time.monotonic()
            return old.token() == "fresh-token" and time.monotonic() - started < 3

        outcome = in_forked_child(child, timeout=20)
        server.stop.set()
        parent.join(10)

    assert outcome == "True"
