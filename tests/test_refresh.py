"""Refresh, stale-while-revalidate, stale-if-error, backoff, invalidation and async sharing.

Deterministic: a fake clock, and background refreshes that run only when the test says.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    Fetched,
    Provider,
    Resolver,
    Source,
    SourceError,
    register_provider,
    unregister_provider,
)
from bandwidth_credentials import _default as bc_default
from bandwidth_credentials.testing import FakeClock

from .helpers import Background, MemoryProvider

VALUES = {"accountId": "920012", "username": "jdoe", "password": "pw"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def background() -> Background:
    return Background()


@pytest.fixture
def store() -> dict[str, object]:
    values: dict[str, object] = dict(VALUES)
    MemoryProvider.stores["a"] = values
    return values


def make(clock: FakeClock, background: Background, uri: str = "mem:a?ttl=60") -> Resolver:
    return Resolver([uri], clock=clock, spawn=background)


def down() -> None:
    MemoryProvider.fail["a"] = SourceError("source mem:a: store unavailable", source="mem:a")


def up() -> None:
    MemoryProvider.fail.pop("a", None)


def after_failed_refresh(clock: FakeClock, background: Background) -> Resolver:
    """A resolver (ttl 60 s, max_stale 600 s) whose first refresh, at 61 s, failed."""
    resolver = make(clock, background, "mem:a?ttl=60&max_stale=600")
    resolver.get_auth("voice")
    down()
    clock.now += 67  # past a 60 s TTL whatever its ±10% jitter
    resolver.get_auth("voice")
    background.run()
    return resolver


def test_expired_ttl_serves_current_while_one_background_refresh_runs(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = make(clock, background)
    first = resolver.get_auth("voice")
    store["username"] = "rotated"
    clock.now += 67  # past a 60 s TTL whatever its ±10% jitter

    during = [resolver.get_auth("voice") for _ in range(50)]
    assert all(auth is first for auth in during)
    assert len(background.pending) == 1
    background.run()

    assert resolver.get_auth("voice").username == "rotated"
    assert MemoryProvider.fetches == {"a": 2}


def test_env_like_sources_never_expire(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = make(clock, background, "mem:a")
    resolver.get_auth("voice")

    clock.now += 10**7
    resolver.get_auth("voice")

    assert background.pending == []
    assert MemoryProvider.fetches == {"a": 1}


def test_remote_providers_default_to_a_300_second_ttl(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    class RemoteMem(MemoryProvider):
        scheme = "remotemem"
        default_ttl = 300.0

    register_provider("remotemem", RemoteMem)
    try:
        resolver = make(clock, background, "remotemem:a")
        resolver.get_auth("voice")
        clock.now += 300 * 0.9 - 0.01  # deadlines carry up to ±10% jitter
        resolver.get_auth("voice")
        assert background.pending == []
        clock.now += 300 * 0.2
        resolver.get_auth("voice")
    finally:
        unregister_provider("remotemem")

    assert len(background.pending) == 1


def test_failed_refresh_serves_stale_within_max_stale_and_warns_once(
    clock: FakeClock,
    background: Background,
    store: dict[str, object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    resolver = make(clock, background, "mem:a?ttl=60&max_stale=600")
    first = resolver.get_auth("voice")
    down()
    clock.now += 67  # past a 60 s TTL whatever its ±10% jitter

    for _ in range(5):
        assert resolver.get_auth("voice") is first
        background.run()
        clock.now += 30

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "serving the last good credentials" in warnings[0].getMessage()


def test_past_max_stale_the_refresh_error_is_raised(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = after_failed_refresh(clock, background)

    clock.now = 1000 + 60 * 1.1 + 600  # the TTL deadline carries up to ±10% jitter
    with pytest.raises(SourceError) as caught:
        resolver.get_auth("voice")

    assert caught.value.source == "mem:a"


def test_recovers_when_the_store_comes_back(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = after_failed_refresh(clock, background)
    up()
    store["username"] = "back"

    clock.now += 5  # past the first backoff (at most 1.5 s)
    resolver.get_auth("voice")
    background.run()

    assert resolver.get_auth("voice").username == "back"


def test_failed_refreshes_back_off_exponentially_not_on_every_call(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = make(clock, background, "mem:a?ttl=60&max_stale=100000")
    resolver.get_auth("voice")
    down()
    clock.now += 67  # past a 60 s TTL whatever its ±10% jitter
    attempts: list[float] = []

    for _ in range(4000):  # 4000 calls, 0.5 s apart: 2000 s of traffic
        before = MemoryProvider.fetches["a"]
        resolver.get_auth("voice")
        background.run()
        if MemoryProvider.fetches["a"] != before:
            attempts.append(clock.now)
        clock.now += 0.5

    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert 5 <= len(attempts) <= 20
    assert gaps[-1] > gaps[0] * 4


def test_first_resolution_failure_is_not_retried_on_every_call(
    clock: FakeClock, background: Background
) -> None:
    down()
    resolver = make(clock, background)

    for _ in range(10):
        with pytest.raises(SourceError):
            resolver.get_auth("voice")

    assert MemoryProvider.fetches == {"a": 1}


def test_invalidate_makes_the_next_call_refresh_now(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = make(clock, background)
    first = resolver.get_auth("voice")
    store["password"] = "rotated"

    first.invalidate()
    second = resolver.get_auth("voice")

    assert second is not first
    assert second.password is not None
    assert second.password.get_secret_value() == "rotated"
    assert MemoryProvider.fetches == {"a": 2}
    assert background.pending == []


def test_invalidating_an_outdated_object_does_nothing(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = make(clock, background)
    old = resolver.get_auth("voice")
    old.invalidate()
    resolver.get_auth("voice")

    old.invalidate()
    resolver.get_auth("voice")

    assert MemoryProvider.fetches == {"a": 2}


def test_concurrent_invalidations_coalesce_into_one_fetch(store: dict[str, object]) -> None:
    resolver = Resolver(["mem:a"])
    seen = resolver.get_auth("voice")
    barrier = threading.Barrier(16)
    results: list[object] = []

    def client() -> None:
        barrier.wait()
        seen.invalidate()  # every client saw the same 401
        results.append(resolver.get_auth("voice"))

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(results) == 16
    assert MemoryProvider.fetches == {"a": 2}


def test_failed_refresh_after_invalidate_still_serves_within_bound(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = make(clock, background)
    first = resolver.get_auth("voice")
    down()

    first.invalidate()

    assert resolver.get_auth("voice") is first


def test_aget_auth_shares_the_cache_and_single_flight_with_sync_callers(
    store: dict[str, object],
) -> None:
    resolver = Resolver(["mem:a"])
    MemoryProvider.gate = gate = threading.Event()
    sync_results: list[object] = []
    threads = [
        threading.Thread(target=lambda: sync_results.append(resolver.get_auth("voice")))
        for _ in range(8)
    ]

    def fetching() -> bool:
        with MemoryProvider.counted:
            return MemoryProvider.counted.wait_for(lambda: MemoryProvider.fetches.get("a"), 5)

    async def main() -> list[object]:
        tasks = [asyncio.create_task(resolver.aget_auth("voice")) for _ in range(32)]
        assert await asyncio.to_thread(fetching)  # the first fetch is blocked at the gate
        for thread in threads:
            thread.start()
        ticks = 0
        ticked = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not gate.is_set():
                ticks += 1
                ticked.set()
                await asyncio.sleep(0.001)

        ticking = asyncio.create_task(ticker())
        await asyncio.wait_for(ticked.wait(), 5)
        gate.set()
        results = await asyncio.gather(*tasks)
        await ticking
        assert ticks > 0  # the event loop kept running while the fetch was blocked
        return list(results)

    async_results = asyncio.run(main())
    for thread in threads:
        thread.join(10)

    assert MemoryProvider.fetches == {"a": 1}
    everything = async_results + sync_results
    assert len(everything) == 40
    assert all(r is everything[0] for r in everything)


def test_module_level_aget_auth(store: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_SOURCES", "mem:a")

    auth = asyncio.run(bc_default.aget_auth("voice"))

    assert auth.username == "jdoe"


class VersionedProvider(Provider):
    """Changes generation when the test says; counts cheap checks and full fetches."""

    scheme = "versioned"
    check_interval = 5.0
    generation = 1
    checks = 0
    fetches = 0

    def __init__(self, source: Source) -> None:
        super().__init__(source)

    def current_version(self) -> str | None:
        VersionedProvider.checks += 1
        return str(VersionedProvider.generation)

    def fetch(self) -> Fetched:
        VersionedProvider.fetches += 1
        g = VersionedProvider.generation
        return Fetched({**VALUES, "username": f"user-{g}"}, version=str(g))


def test_change_checks_run_every_interval_and_refetch_only_on_change(
    clock: FakeClock, background: Background
) -> None:
    VersionedProvider.generation, VersionedProvider.checks, VersionedProvider.fetches = 1, 0, 0
    register_provider("versioned", VersionedProvider)
    try:
        resolver = make(clock, background, "versioned:x")
        first = resolver.get_auth("voice")
        for _ in range(100):
            resolver.get_auth("voice")
        assert VersionedProvider.checks == 0

        clock.now += 5
        resolver.get_auth("voice")
        background.run()
        unchanged = resolver.get_auth("voice")
        VersionedProvider.generation = 2
        clock.now += 5
        resolver.get_auth("voice")
        background.run()
        changed = resolver.get_auth("voice")
    finally:
        unregister_provider("versioned")

    assert unchanged is first
    assert VersionedProvider.checks == 2
    assert VersionedProvider.fetches == 2
    assert changed.username == "user-2"


def test_past_max_stale_a_recovered_store_is_read_again_at_once(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = after_failed_refresh(clock, background)
    up()
    store["username"] = "back"

    clock.now += 10_000
    auth = resolver.get_auth("voice")

    assert auth.username == "back"
    assert background.pending == []


def test_new_values_that_do_not_normalize_keep_failing_until_fixed(
    clock: FakeClock, background: Background, store: dict[str, object]
) -> None:
    resolver = make(clock, background, "mem:a?ttl=60&max_stale=600")
    first = resolver.get_auth("voice")
    store["BW_USERNAME"] = "someone-else"  # conflicts with "username" in the same source
    raised_at: list[float] = []

    for _ in range(160):  # a call every 5 s for 800 s
        clock.now += 5
        try:
            served = resolver.get_auth("voice")
            background.run()
            assert served is first
        except ConfigurationError:
            raised_at.append(clock.now - 1000)
    del store["BW_USERNAME"]
    clock.now += 400  # past any backoff
    fixed = resolver.get_auth("voice")

    assert raised_at  # the conflict surfaced instead of being papered over
    assert min(raised_at) >= 60 * 0.9 + 600  # served up to the bound (TTL jitter: ±10%)
    assert fixed.username == "jdoe"
    assert fixed is not first
