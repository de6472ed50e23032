"""A clock the test moves by hand, for code that takes its clock as an argument, and the
date the library takes as today."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["FakeClock", "today_is"]


class FakeClock:
    """A clock that stands still until the test moves it: ``clock()`` returns ``now``
    (seconds, a float; 1000.0 unless given), ``clock.advance(5)`` or ``clock.now += 5``
    moves it. It fits wherever the library takes a monotonic or an epoch clock
    (``Resolver(clock=...)``, ``verify(clock=...)``), so refresh deadlines, backoff and
    expiry are tested without sleeping.

    Example::

        from bandwidth_credentials import Resolver
        from bandwidth_credentials.testing import FakeClock

        def test_the_store_is_read_again_after_its_ttl():
            clock = FakeClock()
            resolver = Resolver(["vault:secret/bw?ttl=60"], clock=clock)
            resolver.get_auth("voice")
            clock.advance(61)
            ...  # the next get_auth() fetches again
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (a negative value moves it back)."""
        self.now += seconds

    def __repr__(self) -> str:
        return f"FakeClock({self.now!r})"


@contextlib.contextmanager
def today_is(day: tuple[int, int, int]) -> Iterator[None]:
    """Make the library take ``day`` (``(year, month, day)``, UTC) as today inside the block,
    whatever the real date: the decommissioning of API users and client-secret expiry
    follow it. Restores the previous date afterwards.

    Example::

        from bandwidth_credentials.testing import today_is

        def test_check_after_the_decommissioning():
            with today_is((2026, 12, 6)):
                ...  # API users are reported as decommissioned here, on any real date
    """
    from .. import _calendar

    before = _calendar.pinned()
    _calendar.pin(day)
    try:
        yield
    finally:
        _calendar.pin(before)
