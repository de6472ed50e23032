"""API users (HTTP Basic) after Bandwidth decommissioned them on 2026-12-02.

Bandwidth's Credential Management guide: creating API users stopped on 2026-04-01,
changing them on 2026-07-01, and on 2026-12-02 "API Users are fully decommissioned and may
no longer be used for authentication"; OAuth 2.0 client credentials are the only way in.
The Messaging API token pair (``apiToken``/``apiSecret``) travels the same way, as HTTP
Basic, and is legacy too.

One rule, used by every path that judges Basic credentials (``bwcreds check`` and
``explain``, ``bwcreds exec``'s notice, a 401 reported through
:meth:`ServiceAuth.invalidate`): from that date, Basic credentials bound for one of
Bandwidth's own hosts (``*.bandwidth.com``, production and test) are not ready. Sent
elsewhere (a loopback test server, your own gateway named by ``BW_VOICE_BASE_URL``) they
stay usable: ``get_auth()`` still returns them, with the one-time
:class:`BasicDeprecationWarning`. The date comes from :func:`._calendar.today` only.

>>> decommissioned("api_user", "https://voice.bandwidth.com/api/v2/accounts/1", (2026, 12, 6))
'API user (Basic): decommissioned by Bandwidth on 2026-12-02'
"""

from __future__ import annotations

from . import _calendar
from ._log import logger
from ._schema import KINDS, MESSAGING_TOKEN
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._auth import ServiceAuth

__all__ = [
    "DECOMMISSION",
    "DECOMMISSIONED",
    "MIGRATION",
    "bandwidth_host",
    "decommissioned",
    "report_refusal",
]

#: The day Bandwidth decommissioned API users, ``(year, month, day)``.
DECOMMISSION = (2026, 12, 2)

#: The machine-readable reason ``bwcreds check --json`` gives for such a service.
DECOMMISSIONED = "basic_decommissioned"

#: What to do instead, and where (Bandwidth's API User Migration guide).
MIGRATION = (
    "create OAuth 2.0 client credentials in the Bandwidth App (Account > API Credentials; "
    "it needs the Credential access role; "
    "https://dev.bandwidth.com/docs/account/credentials/migration) and set BW_CLIENT_ID "
    "and BW_CLIENT_SECRET"
)

_DATE = "{:04d}-{:02d}-{:02d}".format(*DECOMMISSION)


def bandwidth_host(url: str) -> bool:
    """Whether ``url``'s host is one of Bandwidth's own (``bandwidth.com`` or below it),
    as an HTTP client connecting there reads the host: case-insensitive, a trailing dot
    ignored, and a non-ASCII name in its IDNA form, so the dots IDNA reads as ``.``
    (U+3002, U+FF0E, U+FF61) separate labels here too. Look-alikes
    (``bandwidth.com.evil.test``, ``evilbandwidth.com``, a Cyrillic U+0430 for ``a``) are
    not Bandwidth's.

    >>> bandwidth_host("https://voice.bandwidth\uff0ecom/v2")
    True
    >>> bandwidth_host("https://evilbandwidth.com")
    False
    """
    from urllib.parse import urlsplit  # only when Basic credentials are judged

    try:
        host = urlsplit(url).hostname or ""
        if not host.isascii():
            host = host.encode("idna").decode("ascii")  # the name clients look up
    except (ValueError, UnicodeError):
        return False
    host = host.rstrip(".").lower()
    return host == "bandwidth.com" or host.endswith(".bandwidth.com")


def _label(kind: str) -> str:
    return "Messaging API token (Basic)" if kind == MESSAGING_TOKEN else "API user (Basic)"


def decommissioned(
    kind: str, base_url: str, today: tuple[int, int, int] | None = None
) -> str | None:
    """Why credentials of ``kind`` sent to ``base_url`` cannot work on ``today`` (default:
    :func:`._calendar.today`), or ``None`` when nothing says so: a bearer kind, a host
    that is not Bandwidth's, or a date before 2026-12-02."""
    if KINDS[kind].scheme != "basic" or not bandwidth_host(base_url):
        return None
    if (today or _calendar.today()) < DECOMMISSION:
        return None
    return f"{_label(kind)}: decommissioned by Bandwidth on {_DATE}"


_reported: set[tuple[str, str]] = set()


def report_refusal(auth: ServiceAuth) -> str | None:
    """After a 401 to Basic ``auth`` from Bandwidth: log, once per service and kind, that
    Bandwidth decommissioned API users and how to move to client credentials; returns the
    message (``None`` when the rule does not apply). Never logs a credential."""
    reason = decommissioned(auth.kind, auth.base_url)
    if reason is None:
        return None
    message = (
        f"{auth.service}: HTTP 401 from Bandwidth for {_label(auth.kind)} credentials: "
        f"Bandwidth decommissioned API users (HTTP Basic) on {_DATE} and no longer accepts "
        f"them; {MIGRATION}"
    )
    key = (auth.service, auth.kind)
    if key not in _reported:
        _reported.add(key)
        logger.error("%s", message)
    return message
