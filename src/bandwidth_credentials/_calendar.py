"""Today's date, from one place.

Everything in the library that depends on the calendar (the Basic decommissioning notice,
whether API users are still accepted, how close a client secret is to its expiration) asks
:func:`today`, and nothing else reads the date. Tests and tools inject a date with
:func:`pin` (or :func:`bandwidth_credentials.testing.today_is`), so no outcome depends on the
day the suite runs.

Dates are ``(year, month, day)`` tuples in UTC: comparing them needs no ``datetime`` import
on the start-up path.
"""

from __future__ import annotations

import os
import time

__all__ = ["TODAY_VARIABLE", "Day", "pin", "pinned", "today"]

#: The environment variable that sets today's date for a whole process (``YYYY-MM-DD``).
TODAY_VARIABLE = "BANDWIDTH_CREDENTIALS_TODAY"

Day = tuple[int, int, int]

_pinned: Day | None = None


def today() -> Day:
    """The current UTC date as ``(year, month, day)``, or the pinned one (see :func:`pin`).

    >>> pin((2026, 12, 6)); today()
    (2026, 12, 6)
    >>> pin(None)
    """
    if _pinned is not None:
        return _pinned
    text = os.environ.get(TODAY_VARIABLE)
    if text:
        return _parse(text)
    return _system_day()


def pin(day: Day | None) -> None:
    """Make :func:`today` answer ``day`` in this process (``None``: the real date again).

    Raises ``ValueError`` for a tuple that is not a calendar date (years 1 to 9999).
    """
    global _pinned
    if day is not None:
        if not _is_date(*day):
            raise ValueError(f"not a calendar date: {day!r}")
        day = (int(day[0]), int(day[1]), int(day[2]))
    _pinned = day


def pinned() -> Day | None:
    """The pinned date, or ``None`` when :func:`today` reads the clock."""
    return _pinned


def _parse(text: str) -> Day:
    parts = text.strip().split("-")
    if (
        len(parts) == 3
        and [len(part) for part in parts] in _SHAPES  # also: no int() of 5,000 digits
        and all(part.isascii() and part.isdigit() for part in parts)
    ):
        day = (int(parts[0]), int(parts[1]), int(parts[2]))
        if _is_date(*day):
            return day
    from ._errors import ConfigurationError

    raise ConfigurationError(f"{TODAY_VARIABLE} is not a date of the form YYYY-MM-DD")


def _system_day() -> Day:
    now = time.gmtime()
    return (now.tm_year, now.tm_mon, now.tm_mday)


#: Lengths of the parts of ``YYYY-MM-DD`` (a one-digit month or day is read too).
_SHAPES = [[4, m, d] for m in (1, 2) for d in (1, 2)]


def _is_date(year: int, month: int, day: int) -> bool:
    """Whether this is a date of the Gregorian calendar as ``datetime.date`` holds them
    (years 1 to 9999)."""
    return 1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= _days_in(year, month)


def _days_in(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31
