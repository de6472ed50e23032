"""The refresh policy: when to fetch, and what callers get meanwhile.

A small state machine around one immutable snapshot:

- **fresh**: the snapshot's ``due_at`` is in the future; callers get it with no lock.
- **due, servable**: one caller starts a refresh (a *flight*) and every caller keeps the
  current snapshot (stale-while-revalidate). In AWS Lambda the refresh runs in the calling
  thread instead (a background thread would freeze with the sandbox between invocations).
- **not servable** (nothing yet, invalidated, or past the stale bound): callers join the
  one flight and share its outcome; a failure is shared too, and retried only after a
  backoff (a random half to all of a window of 1 s doubling to 300 s, or the store's
  ``Retry-After`` up to that cap).

A *minimum interval* (the token managers use it; the resolver does not) spaces fetches
that come due by time: a snapshot whose values expire sooner than that is not replaced
before the interval ends, and until then callers get an error, never an expired value.

Invalidation is a generation counter: ``invalidate()`` bumps it, and a snapshot built from
fetches that started before the bump is not served, so an invalidation that lands while a
refresh is in flight is never lost. A *refusal* (an invalidation checked against the
snapshot a caller saw: an API answered 401 to it) replaces the snapshot at most once per
backoff window; refusals within the window are not acted on (the caller gets its 401),
so a credential the API refuses whatever it is never turns every request into a fetch.
Only ``Exception`` is recorded and shared; a ``KeyboardInterrupt`` stays in the thread it
happened in. Every raise is a fresh copy.

Two users, one mechanism: the resolver (a snapshot of every source) and each OAuth token
manager (a snapshot holding one access token). Their bounds:

========================  ======================  ===================
what                      backoff window           jitter
========================  ======================  ===================
sources (resolver)        1 s doubling to 300 s    half to all of it
access tokens             1 s doubling to 60 s     half to all of it
========================  ======================  ===================

Tokens also have a minimum interval of 1 s between fetches that come due by time.

Every jitter comes from :func:`unit`, read from ``os.urandom``: never the ``random``
module, whose state a forked child or a restored Lambda SnapStart snapshot shares with
every sibling (they would all refresh at the same moment).
"""

from __future__ import annotations

import _thread
import os

from ._errors import fresh
from ._log import logger
from ._typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "JITTER",
    "RefreshPolicy",
    "backoff_wait",
    "jittered",
    "unit",
]

BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
#: Spread of TTL deadlines and token refresh times: ±10%.
JITTER = 0.1


def unit() -> float:
    """A uniform random number in [0, 1] from ``os.urandom``: different in every process,
    including forked children and environments restored from one SnapStart snapshot (the
    ``random`` module's state is copied into each of them). Also one fewer import."""
    return int.from_bytes(os.urandom(2), "big") / 0xFFFF


def jittered(seconds: float, spread: float = JITTER, rng: Callable[[], float] = unit) -> float:
    """``seconds`` moved by a random amount within ±``spread`` (a fraction)."""
    return seconds * (1.0 + spread * (2.0 * rng() - 1.0))


def backoff_wait(window: float, rng: Callable[[], float] | None = None) -> float:
    """A backoff's wait: a random half to all of ``window`` seconds (spread out, and
    never past the window, so a cap on the window caps the wait). ``rng`` defaults to
    :func:`unit`, looked up when called (``testing.jitter_at`` pins it)."""
    return jittered(window * 0.75, 1 / 3, rng or unit)


class Snapshot(Protocol):
    @property
    def due_at(self) -> float:
        """Monotonic time after which ``get_auth()`` leaves the lookup path."""

    @property
    def stale_limit(self) -> float:
        """After this the values may no longer be served."""

    @property
    def generation(self) -> int:
        """The invalidation generation the fetches started in."""


S = TypeVar("S", bound=Snapshot)


def _with(snap: S, **changes: Any) -> S:
    """``snap`` with some fields changed (snapshots are named tuples)."""
    changed: S = snap._replace(**changes)  # type: ignore[attr-defined]
    return changed


class _Flight:
    """One refresh in progress, joined by every caller that cannot be served meanwhile.

    Whoever *claims* it (the thread that runs it, or the caller that started it and was
    interrupted before it ran) ends it, exactly once: ``wait()`` returns once it ended
    (a lock held from the start and released once: a one-shot event without importing
    :mod:`threading`).
    """

    __slots__ = ("_done", "claimed", "ended", "error", "force", "generation")

    def __init__(self, generation: int, force: bool) -> None:
        self._done = _thread.allocate_lock()
        self._done.acquire()
        self.error: Exception | None = None
        self.generation = generation
        self.force = force
        self.claimed = False  # read and set under the policy's lock
        self.ended = False

    def wait(self, limit: float) -> bool:
        """Wait for the end, at most ``limit`` seconds; whether it ended."""
        if not self._done.acquire(True, max(limit, 0.0)):
            return False
        self._done.release()
        return True


class RefreshPolicy(Generic[S]):
    """Decides when ``build`` runs and what ``current()`` returns meanwhile.

    ``build(force)`` fetches what is due (everything when ``force``) and returns a new
    snapshot, or raises. ``stale_limit()`` tells the bound after a failed build. ``clock``
    is monotonic seconds; ``spawn`` runs a background refresh (if it raises, as starting
    a thread does when the process may start no more, the refresh runs inline instead);
    ``inline`` runs due refreshes in the calling thread (Lambda); ``publish`` is told of
    every new snapshot. ``backoff_cap`` bounds the backoff window (seconds); ``rng`` gives
    the jitter (uniform in [0, 1], :func:`unit` by default). ``wait_limit`` bounds how
    long a caller waits for another caller's flight (seconds; each owner derives it from
    what its refresh may take: the resolver from its sources' worst cases, a token
    manager from its request's attempts), after which ``stalled()`` is raised: a refresh
    that hangs (a provider without a deadline, a spawned refresh that never ran) costs
    its waiters an error, never their thread. ``what`` and ``kept`` name the values in
    log records. ``min_interval`` (seconds) spaces the fetches that come due by time: one
    starts at most that long after the last successful one started (invalidations and
    :meth:`refresh` are not held back); a snapshot that expires meanwhile is not served,
    and callers get ``too_soon(snapshot, seconds_to_wait)`` raised instead of a fetch.
    """

    def __init__(
        self,
        build: Callable[[bool], S],
        stale_limit: Callable[[], float],
        *,
        clock: Callable[[], float],
        spawn: Callable[[Callable[[], None]], None],
        inline: bool,
        publish: Callable[[S], None] | None = None,
        backoff_cap: float = BACKOFF_CAP,
        rng: Callable[[], float] = unit,
        wait_limit: float,
        stalled: Callable[[], Exception] | None = None,
        what: str = "Bandwidth credentials",
        kept: str = "credentials",
        min_interval: float = 0.0,
        too_soon: Callable[[S, float], Exception] | None = None,
    ) -> None:
        self._build = build
        self._min_interval = min_interval
        self._too_soon = too_soon
        self.backoff_cap = backoff_cap
        self._rng = rng
        self._wait_limit = wait_limit
        self._stalled = stalled
        self._what = what
        self._kept = kept
        self._stale_limit = stale_limit
        self._clock = clock
        self._spawn = spawn
        self.inline = inline
        self._snapshot: S | None = None
        self._publish = publish
        self._lock = _thread.allocate_lock()
        self._flight: _Flight | None = None
        self._generation = 0
        self._force = False
        self._failure: Exception | None = None
        self._failed_generation = -1
        self._failures = 0
        self._retry_at = float("-inf")
        self._refused_until = float("-inf")  # refusals before this are not acted on
        self._refused_window = 0.0
        self._refusals = 0
        # No fetch of generation ``_spaced_generation`` starts before ``_next_fetch_at``
        # (``min_interval`` after the last successful one started).
        self._next_fetch_at = float("-inf")
        self._spaced_generation = -1

    @property
    def snapshot(self) -> S | None:
        """The snapshot served now (``None`` before the first resolution)."""
        return self._snapshot

    @snapshot.setter
    def snapshot(self, snap: S) -> None:
        self._snapshot = snap
        if self._publish is not None:
            self._publish(snap)  # the owner's lookup path reads its own copy

    # -- reading ------------------------------------------------------------------------

    def _servable(self, snap: S | None, now: float) -> bool:
        return snap is not None and snap.generation == self._generation and now < snap.stale_limit

    def current(self) -> S:
        """The snapshot to serve now, refreshing first when nothing may be served."""
        while True:
            now = self._clock()
            raise_now: Exception | None = None
            with self._lock:
                snap = self.snapshot
                servable = self._servable(snap, now)
                if servable and snap is not None and now < snap.due_at:
                    return snap
                flight = self._flight
                backing_off = now < self._retry_at and self._failed_generation == self._generation
                spacing = self._spacing(now)
                start = flight is None and not backing_off and not spacing
                if start:
                    flight = self._flight = _Flight(self._generation, self._force)
                    self._force = False
                elif not servable and flight is None and self._failure is not None:
                    raise_now = self._failure
                elif not servable and flight is None and spacing and snap is not None:
                    # Expired before the next fetch may start: no value, and no fetch.
                    raise_now = self._spaced_out(snap, self._next_fetch_at - now)
            if raise_now is not None:
                raise fresh(raise_now)
            serve = snap if servable else None
            if start:
                assert flight is not None
                try:
                    # Servable: in the background (in Lambda, or when spawning failed,
                    # here); otherwise here, while the others wait for it.
                    if serve is not None and not self.inline and self._started(flight):
                        return serve
                    self._run(flight)
                except BaseException:
                    # Interrupted (Ctrl-C) before the flight ran: end it, so no caller
                    # waits on a flight nobody runs.
                    self._abandon(flight)
                    raise
                if serve is not None:
                    return self._after(flight, serve)
            elif serve is not None:
                return serve
            else:
                assert flight is not None
                if not flight.wait(self._wait_limit):
                    raise self._gave_up()
            with self._lock:
                snap = self.snapshot
                if self._servable(snap, self._clock()) and snap is not None:
                    return snap
            if flight.error is not None and flight.generation == self._generation:
                raise fresh(flight.error)
            # Otherwise the flight was interrupted or invalidated meanwhile: go round again.

    def _spacing(self, now: float) -> bool:
        """Whether fetches are held back now by ``min_interval`` (lock held): only fetches
        that come due by time; an invalidation (a refusal, a SnapStart restore) is not."""
        return now < self._next_fetch_at and self._spaced_generation == self._generation

    def _spaced_out(self, snap: S, wait: float) -> Exception:
        if self._too_soon is not None:
            return self._too_soon(snap, wait)
        from ._errors import CredentialsError

        return CredentialsError(
            f"{self._what} expired; the next fetch may start in {max(wait, 0.0):.0f} s"
        )

    def _started(self, flight: _Flight) -> bool:
        """Hand ``flight`` to ``spawn``; ``False`` when that failed (the caller runs it):
        a flight that is never run would make every later caller wait on it."""
        try:
            self._spawn(lambda: self._run(flight))
        except Exception as exc:  # RuntimeError("can't start new thread"), MemoryError, ...
            reason = type(exc).__name__
        else:
            return True
        logger.warning(
            "could not start a background refresh of %s (%s); refreshing inline",
            self._what,
            reason,
        )
        return False

    def _gave_up(self) -> Exception:
        if self._stalled is not None:
            return self._stalled()
        from ._errors import CredentialsError

        return CredentialsError(f"gave up waiting for the refresh of {self._what} in progress")

    def _after(self, flight: _Flight, fallback: S) -> S:
        with self._lock:
            snap = self.snapshot
            if self._servable(snap, self._clock()) and snap is not None:
                return snap
        return fallback

    def peek(self) -> S | None:
        """The snapshot if it can be served right now without any wait, else ``None``."""
        snap = self.snapshot
        if snap is not None and self._clock() < snap.due_at and snap.generation == self._generation:
            return snap
        return None

    def serving(self) -> S | None:
        """:meth:`peek`, and also a due snapshot that is still servable while a refresh of
        it is in flight or backing off (what :meth:`current` would return at once).
        Never waits, never starts anything."""
        snap = self.snapshot
        now = self._clock()
        if snap is None or snap.generation != self._generation:
            return None
        if now < snap.due_at:
            return snap
        busy = self._flight is not None or now < self._retry_at or self._spacing(now)
        return snap if busy and now < snap.stale_limit else None

    # -- refreshing ---------------------------------------------------------------------

    def _claim(self, flight: _Flight) -> bool:
        """Whether the caller now owns ``flight`` (runs or abandons it); once per flight."""
        with self._lock:
            if flight.claimed:
                return False
            flight.claimed = True
            return True

    def _end(self, flight: _Flight) -> None:
        """End ``flight``: no longer the one in progress, and its waiters go on."""
        with self._lock:
            if self._flight is flight:
                self._flight = None
            if not flight.ended:
                flight.ended = True
                flight._done.release()

    def _abandon(self, flight: _Flight) -> None:
        """End ``flight`` unless a thread already runs it (then that thread ends it)."""
        if self._claim(flight):
            self._end(flight)

    def _run(self, flight: _Flight) -> None:
        if not self._claim(flight):
            return  # already run by another thread (a background start that was interrupted)
        started = self._clock()
        try:
            try:
                snap = self._build(flight.force)
            except Exception as exc:
                self._record_failure(flight, exc)
            else:
                self._record_success(flight, snap, started)
        finally:
            # Whatever happened (a KeyboardInterrupt while recording the outcome too), the
            # flight ends: nobody is left waiting on it, and the next caller starts anew.
            self._end(flight)

    def _record_success(self, flight: _Flight, snap: S, started: float) -> None:
        with self._lock:
            self._next_fetch_at = started + self._min_interval
            self._spaced_generation = flight.generation
            if flight.generation == self._generation:
                self.snapshot = _with(snap, generation=flight.generation)
            else:
                # Invalidated while this refresh was fetching: its values may be the
                # refused ones, so the next call fetches again (and the lookup path,
                # which reads only due_at, must not serve them).
                self.snapshot = _with(snap, generation=flight.generation, due_at=float("-inf"))
            if self._failures:
                logger.info(
                    "Bandwidth credentials refreshed after %d failed attempt(s)",
                    self._failures,
                )
            self._failure = None
            self._failures = 0
            self._retry_at = float("-inf")
            if self._flight is flight:
                self._flight = None

    def _record_failure(self, flight: _Flight, exc: Exception) -> None:
        now = self._clock()
        cap = self.backoff_cap
        delay = min(BACKOFF_BASE * 2.0**self._failures, cap)
        asked = getattr(exc, "retry_after", None)
        if isinstance(asked, (int, float)) and asked > 0:
            delay = max(delay, min(float(asked), cap))
        else:
            # Half to all of the window: spread out, and never past the cap (jittering
            # around the cap and clipping would put half the fleet on exactly the cap).
            delay = backoff_wait(delay, self._rng)
        # Kept without its traceback: the frames it references (and their locals, which
        # may hold what a provider was parsing) are not kept alive by the record.
        exc = fresh(exc)
        with self._lock:
            flight.error = exc
            self._failure = exc
            self._failed_generation = flight.generation
            self._failures += 1
            self._retry_at = now + delay
            snap = self.snapshot
            if snap is not None:
                limit = min(snap.stale_limit, self._stale_limit())
                # An invalidated snapshot whose replacement failed is served again, within
                # the stale bound: better the last good credentials than none.
                generation = snap.generation
                if flight.generation == self._generation:
                    generation = flight.generation
                due = min(self._retry_at, limit)
                if generation != self._generation:
                    due = float("-inf")  # invalidated meanwhile: never from the lookup path
                self.snapshot = _with(snap, due_at=due, stale_limit=limit, generation=generation)
                if self._failures == 1 and self._servable(self.snapshot, now):
                    logger.warning(
                        "refreshing %s failed; serving the last good %s for at most "
                        "%.0f s more: %s",
                        self._what,
                        self._kept,
                        max(limit - now, 0.0),
                        exc,
                    )
            if self._flight is flight:
                self._flight = None

    def refresh(self) -> S:
        """Fetch everything now, whatever is cached; raise on failure (the old values stay,
        and other callers keep getting them meanwhile)."""
        while True:
            with self._lock:
                flight = self._flight
                mine = flight is None
                if mine:
                    flight = self._flight = _Flight(self._generation, True)
            assert flight is not None
            if not mine:
                # That flight may predate this call: run one of our own after it.
                if not flight.wait(self._wait_limit):
                    raise self._gave_up()
                continue
            try:
                self._run(flight)
            except BaseException:
                self._abandon(flight)  # interrupted before it ran: nobody waits on it
                raise
            if flight.error is not None:
                raise fresh(flight.error)
            snap = self.snapshot
            assert snap is not None
            return snap

    def invalidate(self, check: Callable[[S], bool] | None = None) -> bool:
        """Make the next call fetch every source again now and not serve what it has.

        With ``check`` (a refusal: an API refused what the caller saw), only when
        ``check(snapshot)`` is true (the snapshot is still the one the caller saw), and at
        most once per backoff window (1 s, doubling while refusals keep coming, up to
        ``backoff_cap``, with jitter): a credential refused whatever it is costs one fetch
        per window, not one per request. Returns whether anything was invalidated.
        """
        with self._lock:
            snap = self.snapshot
            if snap is None or (check is not None and not check(snap)):
                return False
            if check is not None and snap.generation != self._generation:
                return False  # already invalidated since the caller saw it: one fetch
            if self._failure is not None and self._clock() < self._retry_at:
                # The store failed moments ago: fetching again now would only hammer it
                # (every 401 handler calls this). The next attempt, after the backoff,
                # fetches every source; the invalidation is kept, not lost.
                self._force = True
                return False
            if check is not None and not self._refusal_acted_on():
                return False
            self._generation += 1
            self._force = True
            self.snapshot = _with(snap, due_at=float("-inf"))
            return True

    def _refusal_acted_on(self) -> bool:
        """Whether a refusal may replace the snapshot now (lock held); starts a window."""
        now = self._clock()
        if now < self._refused_until:
            return False  # replaced moments ago: this refusal is the caller's answer
        if now >= self._refused_until + self._refused_window:
            self._refusals = 0  # quiet for a whole window: start again from the base
        window = min(BACKOFF_BASE * 2.0**self._refusals, self.backoff_cap)
        self._refusals += 1
        self._refused_window = window
        self._refused_until = now + backoff_wait(window, self._rng)
        return True

    def forget(self) -> None:
        """Serve nothing cached and forget every failure and refusal: after a SnapStart
        restore, what the snapshot holds and its deadlines are as old as the snapshot."""
        with self._lock:
            self._generation += 1
            self._force = True
            self._failure = None
            self._failures = 0
            self._retry_at = float("-inf")
            self._refused_until = float("-inf")
            self._refused_window = 0.0
            self._refusals = 0
            self._next_fetch_at = float("-inf")
            snap = self.snapshot
            if snap is not None:
                self.snapshot = _with(snap, due_at=float("-inf"))

    def after_fork(self) -> None:
        """In a forked child: new lock, no flight (its thread does not exist here)."""
        self._lock = _thread.allocate_lock()
        self._flight = None
