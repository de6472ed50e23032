"""Deadlines: a total time budget for one fetch, and the deadlines a block has entered.

Public through the plugin kit (:mod:`bandwidth_credentials.plugin`). A
:class:`Deadline` entered with ``with`` bounds every exchange made in the block in this
thread or task: :func:`time_for` is how the kit's bounded request and its ``requests``
adapter take their timeout, however deep in an SDK the exchange is made.
"""

from __future__ import annotations

import contextvars
import time

from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Deadline", "time_for"]


class Deadline:
    """A total time budget for one fetch, in seconds, on a monotonic clock.

    A fetch that pages, retries or logs in makes several attempts; each is bounded by its
    own timeout, and all of them together by one :class:`Deadline`, so the worst case a
    plugin documents holds whatever the store does. ``clock`` (default
    :func:`time.monotonic`) may be injected by tests.

    Entered with ``with``, a deadline also bounds every exchange made in the block in
    this thread or task, however deep in an SDK: :func:`request` and every
    :class:`BoundedAdapter` take their timeout through :func:`time_for`. Blocks nest (an
    attempt's deadline inside the fetch's): the earliest end wins.

    >>> deadline = Deadline(24.0)
    >>> deadline.cap(7.0)   # the next attempt's timeout: 7 s, or what is left if less
    7.0
    >>> deadline.expired
    False
    >>> with Deadline(24.0):                                        # doctest: +SKIP
    ...     client.get_secret("bw")  # its SDK's requests end within 24 s in all
    """

    __slots__ = ("_clock", "ends", "seconds")

    def __init__(self, seconds: float, *, clock: Callable[[], float] | None = None) -> None:
        self.seconds = seconds
        self._clock = clock or time.monotonic
        self.ends = self._clock() + seconds

    def left(self) -> float:
        """Seconds left, never below 0."""
        return max(self.ends - self._clock(), 0.0)

    @property
    def expired(self) -> bool:
        """Whether no time is left."""
        return self.left() <= 0.0

    def cap(self, timeout: float) -> float:
        """The timeout for the next attempt: ``timeout``, or the time left if that is less.

        Raises :class:`DeadlineExceeded` when no time is left (no attempt should start).
        """
        left = self.left()
        if left <= 0.0:
            from ._http import DeadlineExceeded

            raise DeadlineExceeded(f"the fetch did not finish within {self.seconds:g} s")
        return min(timeout, left)

    def __enter__(self) -> Deadline:
        _entered.set((*_entered.get(), self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        entered = _entered.get()
        for at in range(len(entered) - 1, -1, -1):
            if entered[at] is self:
                _entered.set(entered[:at] + entered[at + 1 :])
                break

    def __repr__(self) -> str:
        return f"Deadline({self.seconds:g} s, {self.left():.3g} s left)"


# The deadlines entered with `with` in this thread or task, outermost first.
_entered: contextvars.ContextVar[tuple[Deadline, ...]] = contextvars.ContextVar(
    "bandwidth_credentials_deadlines", default=()
)


def time_for(timeout: float) -> float:
    """The timeout for the next exchange: ``timeout`` seconds, or less if a
    :class:`Deadline` entered with ``with`` (in this thread or task) ends sooner. For an
    SDK call that takes its own timeout (a gRPC call's ``timeout=``).

    Raises :class:`DeadlineExceeded` when an entered deadline has no time left (no
    exchange should start).

    >>> with Deadline(2.0):                                         # doctest: +SKIP
    ...     time_for(10.0)
    2.0
    """
    for deadline in _entered.get():
        timeout = deadline.cap(timeout)
    return timeout
