"""Today's date, from one place.

Everything in the library that depends on the calendar (the Basic decommissioning notice,
whether API users are still accepted, how close a client secret is to its expiration) asks
:func:`today`, and nothing else reads the date. Tests and tools inject a date with
:func:`pin` (or :func:`bandwidth_credentials.testing.today_is`), so no outcome depends on the
day the suite runs.

Dates are ``(year, month, day)`` tuples in UTC: comparing them needs no ``datetime`` import
on the start-up path. Where the time of day matters (a client secret's expiration instant,
the expiration date of a new secret), :func:`now` gives UTC epoch seconds: the pinned
day's midnight when a date is pinned, else the clock. :func:`parse_instant` and
:func:`format_instant` read and write ISO 8601 UTC instants (``2027-03-06T00:00:00Z``).
"""

from __future__ import annotations

import os
import time

__all__ = [
    "TODAY_VARIABLE",
    "Day",
    "epoch_of",
    "format_instant",
    "now",
    "parse_instant",
    "pin",
    "pinned",
    "today",
]

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


def now() -> float:
    """The current UTC time in epoch seconds; with a pinned date (:func:`pin` or
    ``BANDWIDTH_CREDENTIALS_TODAY``), that day's 00:00:00 UTC.

    >>> pin((2026, 12, 6)); now()
    1796515200.0
    >>> pin(None)
    """
    if _pinned is not None or os.environ.get(TODAY_VARIABLE):
        return epoch_of(today())
    return time.time()


def epoch_of(day: Day) -> float:
    """Epoch seconds of ``day``'s 00:00:00 UTC (proleptic Gregorian calendar).

    >>> epoch_of((1970, 1, 2))
    86400.0
    """
    year, month, day_of_month = day
    # Days from 1970-01-01 (H. Hinnant's days_from_civil).
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day_of_month - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return float((era * 146097 + day_of_era - 719468) * 86400)


def parse_instant(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 UTC instant, or ``None`` when ``text`` is not one.

    Accepted: ``YYYY-MM-DDTHH:MM:SS`` with optional fraction, ending in ``Z`` or
    ``+00:00`` (Bandwidth's ``expirationDate`` form), or a date ``YYYY-MM-DD`` (its
    midnight UTC). Other offsets are refused: the store keeps UTC. A leap second
    (``23:59:60``, RFC 3339 §5.6) is the next day's first instant, as POSIX time counts.

    >>> parse_instant("1970-01-02T00:00:01Z")
    86401.0
    >>> parse_instant("2027-03-06T00:00:00+02:00") is None
    True
    """
    text = text.strip()
    date, separator, clock = text.partition("T")
    day = _parse_day(date)
    if day is None:
        return None
    if not clock:
        return None if separator else epoch_of(day)
    for suffix in ("Z", "z", "+00:00"):
        if clock.endswith(suffix):
            clock = clock[: -len(suffix)]
            break
    else:
        return None
    whole, point, fraction = clock.partition(".")
    parts = whole.split(":")
    if len(parts) != 3 or not all(len(p) == 2 and p.isascii() and p.isdigit() for p in parts):
        return None
    if point and not (fraction.isascii() and fraction.isdigit()):
        return None
    hours, minutes, seconds = (int(p) for p in parts)
    leap = (hours, minutes, seconds) == (23, 59, 60)  # RFC 3339 5.6: the day's last minute
    if hours > 23 or minutes > 59 or (seconds > 59 and not leap):
        return None
    return epoch_of(day) + hours * 3600 + minutes * 60 + seconds


def format_instant(epoch: float) -> str:
    """``epoch`` seconds as ISO 8601 UTC to the second: ``2027-03-06T00:00:00Z``.

    >>> format_instant(86401.5)
    '1970-01-02T00:00:01Z'
    """
    moment = time.gmtime(int(epoch))
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", moment)


def _parse_day(text: str) -> Day | None:
    parts = text.split("-")
    if len(parts) != 3 or [len(p) for p in parts] != [4, 2, 2]:
        return None
    if not all(part.isascii() and part.isdigit() for part in parts):
        return None
    day = (int(parts[0]), int(parts[1]), int(parts[2]))
    if 1 <= day[1] <= 12 and 1 <= day[2] <= _days_in(day[0], day[1]):
        return day
    return None


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
