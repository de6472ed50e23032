"""The auth factory: turning validated credentials into ready ``ServiceAuth`` objects.

Basic kinds get their ``Authorization`` header built once; bearer kinds get a token
source: the shared OAuth token manager for client credentials, or a fixed token.
The resolver knows nothing of OAuth; it asks this module for auth objects.

Services with client credentials but no account id get the account from the access
token here (:mod:`._discovery`), the one place where building auth objects may do I/O
(one token request per client, the token then reused); a configured account id is
checked against the token's ``accounts`` when a token is first used.

Bandwidth decommissions API users (HTTP Basic) on 2026-12-02 (Bandwidth's credentials
guide); :func:`basic_notice` says so in the tense that fits today's date.
"""

from __future__ import annotations

import _warnings
import os
import sys

from . import _calendar
from ._auth import ServiceAuth
from ._errors import TokenError
from ._schema import ACCESS_TOKEN, KINDS, LOOKUP
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Any

    from ._auth import Owner, TokenSource
    from ._checks import ServiceCredentials
    from ._jwt import TokenClaims
    from ._normalizer import Resolution

__all__ = [
    "BasicDeprecationWarning",
    "Built",
    "basic_notice",
    "build_auth",
    "warn_basic_once",
]

DECOMMISSION = (2026, 12, 2)


class BasicDeprecationWarning(FutureWarning):
    """API user (HTTP Basic) credentials are in use; Bandwidth decommissions them on
    2026-12-02. A ``FutureWarning``, so end users see it under Python's default filters;
    emitted once per process, attributed to the caller's line.

    To silence it where Basic is still used on purpose (tests, a migration window)::

        import warnings
        from bandwidth_credentials import BasicDeprecationWarning

        warnings.filterwarnings("ignore", category=BasicDeprecationWarning)
    """


def basic_notice(today: tuple[int, int, int] | None = None) -> str:
    """The Basic notice for ``today`` (``(year, month, day)``; default:
    :func:`._calendar.today`, the one place the library reads the date)."""
    if today is None:
        today = _calendar.today()
    instead = "set BW_CLIENT_ID and BW_CLIENT_SECRET (OAuth 2.0 client credentials) instead"
    if today >= DECOMMISSION:
        return (
            "Bandwidth decommissioned API user credentials (HTTP Basic) on 2026-12-02 and "
            f"no longer accepts them; {instead}"
        )
    return f"Bandwidth decommissions API user credentials (HTTP Basic) on 2026-12-02; {instead}"


class _StaticToken:
    """A fixed bearer token (``BW_ACCESS_TOKEN``): nothing to refresh."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def cached_token(self) -> str | None:
        return self._token

    def invalidate(self, rejected: str | None = None) -> None:
        pass

    def claims(self) -> TokenClaims | None:
        from ._jwt import decode_claims  # only when asked

        return decode_claims(self._token)


_OAUTH_MODULE = "bandwidth_credentials._oauth"


class _SharedTokens:
    """The process-wide OAuth token manager for these credentials, looked up on first use:
    the token machinery (HTTP client, TLS, JSON) loads when a token is first needed, not
    when credentials resolve, so reading ``base_url`` costs no token-client import."""

    __slots__ = ("_credentials", "_manager")

    def __init__(self, credentials: ServiceCredentials) -> None:
        self._credentials = credentials
        self._manager: Any = None

    def _get(self) -> Any:
        if self._manager is None:
            from ._oauth import token_source

            self._manager = token_source(self._credentials)
        return self._manager

    def _loaded(self) -> bool:
        # No manager anywhere in the process yet: nothing can be cached or invalidated.
        return self._manager is not None or _OAUTH_MODULE in sys.modules

    def token(self) -> str:
        token: str = self._get().token()
        return token

    def cached_token(self) -> str | None:
        if not self._loaded():
            return None
        token: str | None = self._get().cached_token()
        return token

    def invalidate(self, rejected: str | None = None) -> None:
        if self._loaded():
            self._get().invalidate(rejected)

    def claims(self) -> Any:
        return self._get().claims()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def __repr__(self) -> str:
        creds = self._credentials
        return f"TokenManager(token_url={creds.token_url!r}, client_id={creds.client_id!r})"


def _bearer(credentials: ServiceCredentials) -> TokenSource:
    if credentials.kind == ACCESS_TOKEN:
        assert credentials.access_token is not None
        return _StaticToken(credentials.access_token.get_secret_value())
    return _SharedTokens(credentials)


class Built(NamedTuple):
    """What :func:`build_auth` made: per service the ready auth objects and the errors,
    the lookup by every accepted name, whether any service uses Basic, the resolution
    with accounts discovered from access tokens, and whether a token request failed
    while discovering (worth retrying soon)."""

    auth: dict[str, ServiceAuth]
    errors: dict[str, Exception]
    by_alias: dict[str, ServiceAuth]
    basic: bool
    resolution: Resolution
    retry: bool


def build_auth(resolution: Resolution, owner: Owner) -> Built:
    """Build every service's auth object from ``resolution`` (see :class:`Built`).

    Services with OAuth client credentials and no account id get theirs from the access
    token (:mod:`._discovery`); that is the only I/O here, one token request per client.
    """
    if resolution.pending:
        from ._discovery import discover  # only OAuth credentials without an account id

        resolution = discover(resolution)
    auth: dict[str, ServiceAuth] = {}
    errors: dict[str, Exception] = {}
    basic = False
    for name, outcome in resolution.services.items():
        if isinstance(outcome, Exception):
            errors[name] = outcome
            continue
        credentials, provenance = outcome
        is_basic = KINDS[credentials.kind].scheme == "basic"
        basic = basic or is_basic
        bearer = None
        if not is_basic:
            from ._discovery import ACCOUNTS_CLAIM, AccountCheck  # bearer kinds only

            bearer = _bearer(credentials)
            if credentials.client_secret_expires_at is not None:
                from ._expiry import log_if_expiring  # only when the store keeps an expiry

                log_if_expiring(credentials.client_id, credentials.client_secret_expires_at)
            account = provenance.get("account_id")
            if account is None or account.key != ACCOUNTS_CLAIM:
                bearer = AccountCheck(bearer, credentials.account_id, account)
        auth[name] = ServiceAuth(credentials, provenance, bearer, owner)
    by_alias = {alias: auth[name] for alias, name in LOOKUP.items() if name in auth}
    retry = any(isinstance(errors.get(name), TokenError) for name in resolution.pending)
    return Built(auth, errors, by_alias, basic, resolution, retry)


_basic_warned = False
_PACKAGE_DIR = os.path.dirname(__file__)


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside this package (the application's call)."""
    frame: Any = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def warn_basic_once() -> None:
    """Emit :class:`BasicDeprecationWarning` once per process, attributed to the caller.

    The flag is set first: under ``-W error`` the warning surfaces once, as that caller's
    exception, and later calls (and the cached credentials) are unaffected.
    """
    global _basic_warned
    if _basic_warned:
        return
    _basic_warned = True
    # Until something imported the warnings module, warn through its C half: the same
    # function and filters, shown without loading linecache, tokenize and re for the
    # source line. Once imported, through the module's attribute, which is what a test
    # patching warnings.warn (or a tool replacing it) expects to be called.
    module = sys.modules.get("warnings")
    warn = _warnings.warn if module is None else module.warn
    warn(basic_notice(), BasicDeprecationWarning, stacklevel=_caller_stacklevel())
