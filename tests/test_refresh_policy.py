"""The refresh policy's rules, driven by an injected clock and spawner."""

from __future__ import annotations

import logging
import threading

import pytest

from bandwidth_credentials import Fetched, Provider, Resolver, SourceError, register_provider
from bandwidth_credentials import unregister_provider as unregister
from bandwidth_credentials._refresh import JITTER, jittered
from bandwidth_credentials.testing import FakeClock

from .helpers import Background, MemoryProvider

VALUES = {"accountId": "920012", "username": "jdoe", "password": "pw"}


@pytest.fixture
def store() -> dict[str, object]:
    values: dict[str, object] = dict(VALUES)
    MemoryProvider.stores["a"] = values
    return values


def test_an_invalidation_during_a_background_refresh_is_not_lost(store: dict[str, object]) -> None:
    clock, background = FakeClock(), Background()
    resolver = Resolver(["mem:a?ttl=60"], clock=clock, spawn=background)
    seen = resolver.get_auth("voice")
    clock.now += 60 * (1 + JITTER) + 1
    resolver.get_auth("voice")  # starts a background refresh (not run yet)
    (refresh,) = background.pending
    fetched_before = MemoryProvider.fetches["a"]

    # The refresh fetches, then an invalidation lands before it commits.
    original = MemoryProvider.fetch

    def fetch_then_invalidate(self: MemoryProvider) -> Fetched:
        result = original(self)
        resolver.invalidate(seen)
        return result

    MemoryProvider.fetch = fetch_then_invalidate  # type: ignore[method-assign]
    try:
        refresh()
    finally:
        MemoryProvider.fetch = original  # type: ignore[method-assign]
    store["username"] = "after-the-401"
    voice = resolver.get_auth("voice")

    assert MemoryProvider.fetches["a"] == fetched_before + 2  # the refresh, then one more
    assert voice.username == "after-the-401"


def test_every_caller_gets_its_own_exception_without_a_context(store: dict[str, object]) -> None:
    MemoryProvider.fail["a"] = SourceError("source mem:a: down", source="mem:a")
    resolver = Resolver(["mem:a"])
    caught: list[BaseException] = []

    for _ in range(2):
        try:
            resolver.get_auth("voice")
        except SourceError as exc:
            caught.append(exc)

    first, second = caught
    assert first is not second
    assert first.__context__ is None
    assert first.__cause__ is None
    assert second.__context__ is None
    assert second.__cause__ is None
    assert MemoryProvider.fetches["a"] == 1  # the second was within the backoff window


def test_a_keyboard_interrupt_in_a_fetch_stays_in_its_thread(store: dict[str, object]) -> None:
    MemoryProvider.fail["a"] = KeyboardInterrupt()  # type: ignore[assignment]
    resolver = Resolver(["mem:a"])

    with pytest.raises(KeyboardInterrupt):
        resolver.get_auth("voice")
    del MemoryProvider.fail["a"]
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(resolver.get_auth("voice")))
    thread.start()
    thread.join(10)

    assert len(other) == 1  # nothing recorded: the next caller fetched afresh
    assert MemoryProvider.fetches["a"] == 2


class _FlakyCheck(MemoryProvider):
    """A source whose change check fails (its storage went away)."""

    scheme = "flaky"
    check_interval = 5.0

    def current_version(self) -> str | None:
        raise RuntimeError("the check failed near 'hunter2'")


def test_an_optional_source_failing_its_change_check_does_not_fail_the_refresh(
    store: dict[str, object],
) -> None:
    register_provider("flaky", _FlakyCheck)
    try:
        clock, _background = FakeClock(), Background()
        resolver = Resolver(
            ["mem:a", "flaky:b?optional=true"], clock=clock, spawn=lambda work: work()
        )
        first = resolver.get_auth("voice")
        clock.now += 6

        voice = resolver.get_auth("voice")
    finally:
        unregister("flaky")

    assert voice.username == first.username == "jdoe"


def test_ttl_deadlines_carry_jitter_within_ten_percent() -> None:
    deadlines = [jittered(300.0) for _ in range(200)]

    assert all(300 * (1 - JITTER) <= d <= 300 * (1 + JITTER) for d in deadlines)
    assert max(deadlines) - min(deadlines) > 300 * JITTER  # spread, not one value


def test_a_fleet_of_resolvers_does_not_refresh_in_lockstep(store: dict[str, object]) -> None:
    clocks = [FakeClock() for _ in range(20)]
    resolvers = [Resolver(["mem:a?ttl=300"], clock=c, spawn=Background()) for c in clocks]
    for resolver in resolvers:
        resolver.get_auth("voice")
    due = []

    for clock, resolver in zip(clocks, resolvers, strict=True):
        clock.now += 300 * (1 - JITTER) - 1
        while (
            resolver._policy.snapshot is not None and clock.now < resolver._policy.snapshot.due_at
        ):
            clock.now += 1
        due.append(clock.now)

    assert len(set(due)) > 5


def test_a_provider_returning_a_wrong_type_is_a_source_error() -> None:
    class Broken(Provider):
        scheme = "broken"

        def fetch(self) -> Fetched:
            return {"username": "x"}  # type: ignore[return-value]

    register_provider("broken", Broken)
    try:
        with pytest.raises(SourceError) as caught:
            Resolver(["broken:x"]).get_auth("voice")
    finally:
        unregister("broken")

    assert "returned a dict" in str(caught.value)


def test_invalidations_while_the_store_is_failing_respect_the_backoff(
    store: dict[str, object],
) -> None:
    clock = FakeClock()
    resolver = Resolver(["mem:a?ttl=60"], clock=clock, spawn=lambda work: work())
    first = resolver.get_auth("voice")
    MemoryProvider.fail["a"] = SourceError("source mem:a: down", source="mem:a", retry_after=30)
    first.invalidate()
    resolver.get_auth("voice")  # the invalidated refresh fails: stale values served
    fetched = MemoryProvider.fetches["a"]

    for _ in range(50):  # a 401 handler in a loop
        resolver.get_auth("voice").invalidate()
        resolver.get_auth("voice")
    during = MemoryProvider.fetches["a"]
    del MemoryProvider.fail["a"]
    store["username"] = "recovered"
    clock.now += 31  # past Retry-After
    resolver.get_auth("voice")  # starts the refresh (run at once here)
    after = resolver.get_auth("voice")

    assert during == fetched  # nothing fetched inside the window the store asked for
    assert after.username == "recovered"  # the invalidation was kept for the next attempt


class _InterruptOnWarning(logging.Handler):
    """Raises KeyboardInterrupt from the first warning record: a Ctrl-C landing while the
    refresh policy records a failure."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    def emit(self, record: logging.LogRecord) -> None:
        if self.armed and record.levelno >= logging.WARNING:
            self.armed = False
            raise KeyboardInterrupt


def test_an_interrupt_while_a_failure_is_recorded_leaves_no_one_waiting(
    store: dict[str, object],
) -> None:
    clock = FakeClock()
    resolver = Resolver(["mem:a?ttl=60"], clock=clock, inline=True)
    resolver.get_auth("voice")
    handler = _InterruptOnWarning()
    logging.getLogger("bandwidth_credentials").addHandler(handler)
    MemoryProvider.fail["a"] = SourceError("source mem:a: down", source="mem:a")
    clock.now += 100  # due: the refresh fails and its warning is interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            resolver.get_auth("voice")
    finally:
        logging.getLogger("bandwidth_credentials").removeHandler(handler)
    del MemoryProvider.fail["a"]
    clock.now += 100_000  # past the stale bound: every caller must fetch again
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(resolver.get_auth("voice")), daemon=True)

    thread.start()
    thread.join(10)

    assert not thread.is_alive()
    assert len(got) == 1


def test_the_backoff_never_exceeds_its_cap(store: dict[str, object]) -> None:
    from bandwidth_credentials._refresh import BACKOFF_CAP

    clock = FakeClock()
    resolver = Resolver(["mem:a"], clock=clock, inline=True)
    MemoryProvider.fail["a"] = SourceError("source mem:a: down", source="mem:a")
    for _ in range(10):  # 2**10 s is far past the cap: every window is the capped one
        clock.now += 10_000
        with pytest.raises(SourceError):
            resolver.get_auth("voice")
    fetches = MemoryProvider.fetches["a"]

    for attempt in range(1, 21):  # jitter is random: many tries, each just past the cap
        clock.now += BACKOFF_CAP + 0.001
        with pytest.raises(SourceError):
            resolver.get_auth("voice")

        assert MemoryProvider.fetches["a"] == fetches + attempt


def test_windows_at_the_cap_are_spread_below_it(store: dict[str, object]) -> None:
    from bandwidth_credentials._refresh import BACKOFF_CAP

    clock = FakeClock()
    resolver = Resolver(["mem:a"], clock=clock, inline=True)
    MemoryProvider.fail["a"] = SourceError("source mem:a: down", source="mem:a")
    for _ in range(10):  # far past the cap
        clock.now += 10_000
        with pytest.raises(SourceError):
            resolver.get_auth("voice")
    windows = []

    for _ in range(12):  # the wait before each next fetch, to 1 s
        fetches, waited = MemoryProvider.fetches["a"], 0
        while MemoryProvider.fetches["a"] == fetches:
            clock.now += 1
            waited += 1
            with pytest.raises(SourceError):
                resolver.get_auth("voice")
        windows.append(waited)

    assert all(BACKOFF_CAP / 2 <= w <= BACKOFF_CAP + 1 for w in windows)
    assert sum(w >= BACKOFF_CAP for w in windows) <= 2  # spread, not piled on the cap


def _interrupted_start(work: object) -> None:
    raise KeyboardInterrupt  # Ctrl-C while Thread.start() waits for the new thread


def test_an_interrupt_while_a_background_refresh_starts_leaves_no_one_waiting(
    store: dict[str, object],
) -> None:
    clock = FakeClock()
    resolver = Resolver(["mem:a?ttl=60&max_stale=120"], clock=clock, spawn=_interrupted_start)
    resolver.get_auth("voice")
    clock.now += 70  # due: this caller starts the background refresh, and is interrupted
    with pytest.raises(KeyboardInterrupt):
        resolver.get_auth("voice")
    clock.now += 500  # past the stale bound: every caller must fetch again
    store["username"] = "after-the-interrupt"
    got: list[object] = []
    callers = [
        threading.Thread(target=lambda: got.append(resolver.get_auth("voice").username)),
        threading.Thread(target=lambda: got.append(resolver.reload())),
    ]

    for caller in callers:
        caller.daemon = True
        caller.start()
    for caller in callers:
        caller.join(10)

    assert not any(caller.is_alive() for caller in callers)
    assert sorted(got, key=str) == [None, "after-the-interrupt"]


def test_a_caller_waits_for_another_callers_refresh_boundedly(
    store: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bandwidth_credentials import SourceUnavailableError, _resolver

    monkeypatch.setattr(_resolver, "REFRESH_WAIT", 0.2)
    clock, background = FakeClock(), Background()
    resolver = Resolver(["mem:a?ttl=60&max_stale=120"], clock=clock, spawn=background)
    resolver.get_auth("voice")
    clock.now += 70
    resolver.get_auth("voice")  # starts a background refresh that never gets to run
    clock.now += 500  # past the stale bound: callers must join that refresh
    got: list[object] = []

    def caller() -> None:
        try:
            resolver.get_auth("voice")
        except SourceUnavailableError as exc:
            got.append(exc)

    thread = threading.Thread(target=caller, daemon=True)
    thread.start()
    thread.join(10)

    assert not thread.is_alive()
    (error,) = got
    assert error.source == "mem:a?ttl=60&max_stale=120"
    assert "gave up waiting" in str(error)


# -- how long a caller waits for another caller's refresh: from the sources' worst cases ----


@pytest.mark.parametrize(
    ("uris", "longest"),
    [
        pytest.param(["env", "dotenv:.env?optional=true"], 0.0, id="local"),
        pytest.param(["band:?timeout=300"], 300.0, id="band-keychain"),
        pytest.param(["vault:secret/bw?timeout=100"], 100.0, id="vault"),
        pytest.param(["aws-sm:bw?read_timeout=100"], 100.0, id="aws-sm"),
        pytest.param(["aws-ssm:/bw/prod?connect_timeout=100"], 100.0, id="aws-ssm"),
        pytest.param(["aws-lambda-ext:bw?timeout=100"], 100.0, id="aws-lambda-ext"),
        pytest.param(["gcp-sm:projects/p/secrets/bw?timeout=100"], 100.0, id="gcp-sm"),
        pytest.param(["azure-kv:bw-vault/bw?timeout=100"], 100.0, id="azure"),
        pytest.param(
            ["env", "vault:secret/bw?timeout=100", "aws-sm:bw?read_timeout=100"],
            200.0,
            id="several-add-up",
        ),
    ],
)
def test_a_caller_waits_for_a_refresh_as_long_as_the_sources_may_take(
    monkeypatch: pytest.MonkeyPatch, uris: list[str], longest: float
) -> None:
    from bandwidth_credentials._resolver import REFRESH_WAIT

    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_REGION", "us-east-1")

    wait = Resolver(uris).refresh_wait

    # A ?timeout= of 100 s is one attempt; each source's worst case covers every attempt
    # of a change check and of a fetch, so the wait outlasts them, and stays finite.
    assert wait >= REFRESH_WAIT + 2 * longest
    assert wait == REFRESH_WAIT if not longest else wait < float("inf")


class SlowStore(MemoryProvider):
    """``slow:NAME``: the memory store, stating a worst case of one second per fetch."""

    scheme = "slow"
    worst_case = 1.0


def test_a_caller_outwaits_a_slow_refresh_within_the_sources_worst_case(
    store: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bandwidth_credentials import _resolver

    monkeypatch.setattr(_resolver, "REFRESH_WAIT", 0.2)  # all that is left is the source's
    register_provider("slow", SlowStore)
    MemoryProvider.gate = threading.Event()
    resolver = Resolver(["slow:a"])
    got: list[object] = []

    def caller() -> None:
        try:
            got.append(resolver.get_auth("voice").username)
        except SourceError as exc:
            got.append(exc)

    try:
        first = threading.Thread(target=caller, daemon=True)
        first.start()
        with MemoryProvider.counted:  # the first caller's fetch is under way, held
            assert MemoryProvider.counted.wait_for(lambda: MemoryProvider.fetches, 5)
        second = threading.Thread(target=caller, daemon=True)
        second.start()
        second.join(0.6)  # longer than REFRESH_WAIT alone: it must still be waiting
        waiting = second.is_alive()
        MemoryProvider.gate.set()
        first.join(10)
        second.join(10)
    finally:
        MemoryProvider.gate.set()
        unregister("slow")

    assert waiting
    assert got == ["jdoe", "jdoe"]
    assert MemoryProvider.fetches == {"a": 1}
