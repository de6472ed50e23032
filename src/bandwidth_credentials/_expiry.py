"""How close a client secret is to its expiration, from the store's ``client_secret_expires_at``.

Bandwidth's Credential Management guide gives every client secret an optional
expiration date, set when the secret is created; after it the token endpoint refuses the
secret. Bandwidth's API offers no call that reads it back, so the store keeps it next to
the secret (``client_secret_expires_at``, ISO 8601 UTC; ``bwcreds rotate`` writes it),
and this module judges it against :func:`._calendar.now`:

- ``expired``: the instant has passed (``bwcreds check`` reports the service not ready);
- ``soon``: within the warning window (default 14 days, ``--expiry-warning-days`` or
  ``BANDWIDTH_CREDENTIALS_EXPIRY_WARNING_DAYS``): ``check`` warns, ``get_auth()`` logs
  one warning per client secret and process;
- ``ok``: further away.
"""

from __future__ import annotations

import os

from . import _calendar
from ._errors import ConfigurationError
from ._log import logger
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULT_WARNING_DAYS",
    "WARNING_DAYS_VARIABLE",
    "Expiry",
    "expiry_of",
    "log_if_expiring",
    "service_expiry",
    "warning_days",
]

DEFAULT_WARNING_DAYS = 14.0
WARNING_DAYS_VARIABLE = "BANDWIDTH_CREDENTIALS_EXPIRY_WARNING_DAYS"

_logged: set[tuple[str, str]] = set()


class Expiry(NamedTuple):
    """``state`` (``ok``, ``soon`` or ``expired``), the instant as stored, and the days left
    (negative once expired)."""

    state: str
    expires_at: str
    days_left: float

    def note(self, client_id: str | None) -> str:
        """One sentence for ``check`` and the log (a client id and a date, never a secret)."""
        who = f"the client secret of {client_id or 'the client'}"
        if self.state == "expired":
            return (
                f"{who} expired at {self.expires_at}; Bandwidth refuses it: create a new one "
                "(bwcreds rotate, or the Bandwidth App) and store it"
            )
        days = max(int(self.days_left), 0)
        left = "less than a day" if days == 0 else "1 day" if days == 1 else f"{days} days"
        return f"{who} expires at {self.expires_at} (in {left}); rotate it: bwcreds rotate"


def warning_days(value: str | float | None = None) -> float:
    """The warning window in days: ``value``, else ``$BANDWIDTH_CREDENTIALS_EXPIRY_WARNING_DAYS``,
    else 14. Raises :class:`ConfigurationError` for a negative or unreadable number."""
    where = "--expiry-warning-days"
    if value is None:
        where = WARNING_DAYS_VARIABLE
        value = os.environ.get(WARNING_DAYS_VARIABLE) or DEFAULT_WARNING_DAYS
    try:
        days = float(value)
    except ValueError:
        days = -1.0
    if not (0 <= days < 36500):
        raise ConfigurationError(
            f"the expiry warning window must be a number of days from 0 to 36499 ({where})"
        )
    return days


def expiry_of(expires_at: str | None, window: float | None = None) -> Expiry | None:
    """Judge ``expires_at`` (ISO 8601 UTC) against now; ``None`` when it is not given or
    not an instant. ``window``: days (default :func:`warning_days`).

    >>> from bandwidth_credentials._calendar import pin
    >>> pin((2026, 12, 6)); expiry_of("2026-12-13T00:00:00Z", 14).state
    'soon'
    >>> pin(None)
    """
    if not expires_at:
        return None
    instant = _calendar.parse_instant(expires_at)
    if instant is None:
        return None
    left = (instant - _calendar.now()) / 86400.0
    if left <= 0:
        state = "expired"
    elif left <= (warning_days() if window is None else window):
        state = "soon"
    else:
        state = "ok"
    return Expiry(state, expires_at, left)


def log_if_expiring(client_id: str | None, expires_at: str | None) -> None:
    """Log one warning per client secret and process when it is expired or within the
    window (called when auth objects are built, so ``get_auth()`` itself stays a lookup)."""
    if not expires_at or (client_id or "", expires_at) in _logged:
        return
    try:
        expiry = expiry_of(expires_at)
    except ConfigurationError:
        expiry = expiry_of(expires_at, DEFAULT_WARNING_DAYS)
    if expiry is None or expiry.state == "ok":
        return
    _logged.add((client_id or "", expires_at))
    logger.warning("%s", expiry.note(client_id))


def service_expiry(
    resolution: Any, service: str, window: float
) -> tuple[str | None, Expiry] | None:
    """``(client_id, Expiry)`` for ``service``'s client secret in ``resolution`` (a
    :class:`._normalizer.Resolution`), or ``None`` when it has no stored expiry."""
    outcome = resolution.services.get(service)
    if isinstance(outcome, Exception) or outcome is None:
        outcome = resolution.pending.get(service)
    if outcome is None:
        return None
    credentials = outcome[0]
    expiry = expiry_of(credentials.client_secret_expires_at, window)
    return None if expiry is None else (credentials.client_id, expiry)


def _reset() -> None:
    """Forget which secrets were logged (``testing.reset()``)."""
    _logged.clear()
