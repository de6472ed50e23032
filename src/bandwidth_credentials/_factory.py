"""The auth factory: turning validated credentials into ready ``ServiceAuth`` objects.

Basic kinds get their ``Authorization`` header built once; bearer kinds get a bearer
source (:class:`._auth.BearerSource`): :class:`OAuthBearer`, a view of the client's one
shared token manager, or :class:`StaticBearer` for a fixed token. Either checks, once per
token, that the configured account id is among the token's ``accounts``. The resolver
knows nothing of OAuth; it asks this module for auth objects.

Services with client credentials but no account id get the account from the access
token here (:mod:`._discovery`), the one place where building auth objects may do I/O
(one token request per client, the token then reused).

Bandwidth decommissioned API users (HTTP Basic) on 2026-12-02 (Bandwidth's credentials
guide); :func:`basic_notice` says so in the tense that fits the library's date (future
tense only on a date set before it, as tests do).
"""

from __future__ import annotations

import _thread
import _warnings
import os
import sys

from . import _calendar
from ._auth import ServiceAuth
from ._decommission import DECOMMISSION
from ._errors import TokenError
from ._lifecycle import on_fork
from ._log import logger
from ._schema import ACCESS_TOKEN, KINDS, LOOKUP, token_url
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from ._auth import BearerSource, Owner
    from ._checks import Provenance, ServiceCredentials
    from ._jwt import TokenClaims
    from ._normalizer import Resolution
    from ._oauth import TokenManager, _Token

__all__ = [
    "ACCOUNT_ARGUMENT",
    "BasicDeprecationWarning",
    "Built",
    "OAuthBearer",
    "StaticBearer",
    "account_auth",
    "basic_notice",
    "bearer_source",
    "build_auth",
    "warn_basic_once",
]


class BasicDeprecationWarning(FutureWarning):
    """API user (HTTP Basic) credentials are in use; Bandwidth decommissioned them on
    2026-12-02 and no longer accepts them. A ``FutureWarning`` subclass, so end users see
    it under Python's default filters; emitted once per process, attributed to the
    caller's line.

    To silence it where Basic is still used on purpose (tests, a test host of your own)::

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


class _AccountCheck:
    """The once-per-token check that a configured account id is among the token's
    ``accounts`` (the API would answer 403 without saying why): a warning, once per
    (account, client) in the process. Memory is bounded: the last token seen per check,
    and at most :data:`WARNED_KEPT` (account, client) pairs remembered process-wide."""

    __slots__ = ("account", "client", "provenance", "seen")

    def __init__(self, account: str, client: str, provenance: Provenance | None) -> None:
        self.account = account
        self.client = client
        self.provenance = provenance
        self.seen: str | None = None  # the last token checked (in memory only)

    def check(self, token: str, claims: TokenClaims | None) -> None:
        self.seen = token
        if claims is None or not claims.excludes(self.account):
            return
        key = (self.account, self.client)
        with _warned_lock:
            if key in _warned:
                return
            if len(_warned) >= WARNED_KEPT:
                _warned.clear()  # a flood of pairs: warn again rather than grow
            _warned.add(key)
        prov = self.provenance
        origin = f" ({prov.source} {prov.key})" if prov is not None else ""
        from ._discovery import listed_accounts

        logger.warning(
            "account id %s%s is not among the accounts of the access token for client %s "
            "(%s); Bandwidth refuses its requests (HTTP 403). Set BW_ACCOUNT_ID to one of them",
            self.account,
            origin,
            self.client or "(static access token)",
            listed_accounts(claims),
        )


WARNED_KEPT = 1024
_warned: set[tuple[str, str]] = set()
_warned_lock = _thread.allocate_lock()


def _reset_after_fork() -> None:
    global _warned_lock
    _warned_lock = _thread.allocate_lock()


on_fork(_reset_after_fork)


class StaticBearer:
    """The bearer source of a fixed token (``BW_ACCESS_TOKEN``): nothing to refresh.

    Implements :class:`._auth.BearerSource`. Its claims are read once; a token whose
    ``exp`` is no time raises :class:`TokenError` from :meth:`claims` (and
    :meth:`ServiceAuth.token_claims`), never from :meth:`token`.
    """

    __slots__ = ("_check", "_token")

    def __init__(self, token: str, check: _AccountCheck | None) -> None:
        self._token = token
        self._check = check

    def token(self) -> str:
        check = self._check
        if check is not None and check.seen is None:
            try:
                claims = self.claims()
            except TokenError:
                claims = None  # unreadable claims inform nothing; sending is the API's call
            check.check(self._token, claims)
        return self._token

    def authorization(self) -> str:
        return "Bearer " + self.token()

    def cached_token(self) -> str | None:
        return self.token()

    def invalidate(self, rejected: str | None = None) -> None:
        pass  # a fixed token cannot be replaced here; the resolver reloads its source

    def claims(self) -> TokenClaims | None:
        from ._jwt import decode_claims  # only when asked

        return decode_claims(self._token, token_url="BW_ACCESS_TOKEN")

    def __repr__(self) -> str:
        return "StaticBearer()"


_OAUTH_MODULE = "bandwidth_credentials._oauth"


class OAuthBearer:
    """The bearer source of one service's auth with OAuth client credentials: a view of
    the client's one :class:`._oauth.TokenManager` (shared by every service and account
    using that client), plus the once-per-token account check for the account this
    service is configured for.

    Implements :class:`._auth.BearerSource`: :meth:`token`, :meth:`authorization`,
    :meth:`cached_token`, :meth:`invalidate`, :meth:`claims`; ``token_url`` and
    ``client_id`` name the client.
    The token machinery (HTTP client, TLS, JSON) loads when a token is first needed, not
    when credentials resolve. Several accounts of one client: one bearer source per
    account, built with :func:`bearer_source`, each reaching the same token manager.
    """

    __slots__ = (
        "_check",
        "_credentials",
        "_handed",
        "_seen",
        "_tokens",
        "client_id",
        "token_url",
    )

    def __init__(self, credentials: ServiceCredentials, check: _AccountCheck | None) -> None:
        self._credentials = credentials
        self._check = check
        self._tokens: TokenManager | None = None
        # The manager's token snapshot last handed out (and checked). The hot path serves
        # the snapshot's own Authorization value while it is the current one, so threads
        # handing out an older and a newer token at once can never pair one's value with
        # the other's snapshot.
        self._handed: _Token | None = None
        self._seen: str | None = None  # the token last checked against the account
        self.client_id = credentials.client_id
        self.token_url = credentials.token_url or token_url(None)

    def _manager(self) -> TokenManager:
        tokens = self._tokens
        if tokens is None:
            from ._oauth import token_source

            tokens = self._tokens = token_source(self._credentials)
        return tokens

    def token(self) -> str:
        """A currently valid access token (:class:`TokenError` when none can be had)."""
        tokens = self._tokens
        if tokens is not None:
            # The lookup path: the snapshot already handed out (and checked), not yet due.
            current = tokens.current
            if current is self._handed and tokens.clock() < current.due_at:
                return current.value._value
        return self._handed_out()[0]

    def authorization(self) -> str:
        """``"Bearer <token>"`` for :meth:`token`, without building a string per call."""
        tokens = self._tokens
        if tokens is not None:
            current = tokens.current
            if current is self._handed and tokens.clock() < current.due_at:
                # The masked holder's slot, read directly: the lookup path's one attribute.
                return current.authorization._value
        return self._handed_out()[1]

    def _handed_out(self) -> tuple[str, str]:
        current = self._manager().snapshot()
        self._seen_now(current.value.get_secret_value(), current.claims)
        self._handed = current
        return current.value.get_secret_value(), current.authorization.get_secret_value()

    def _seen_now(self, value: str, claims: TokenClaims | None) -> None:
        if value is not self._seen:
            self._seen = value
            if self._check is not None:
                self._check.check(value, claims)

    def cached_token(self) -> str | None:
        """The token when it is at hand without I/O or a wait, else ``None``."""
        if self._tokens is None and _OAUTH_MODULE not in sys.modules:
            return None  # no manager anywhere in the process yet: nothing is cached
        tokens = self._manager()
        value = tokens.cached_token()
        if value is not None and value is not self._seen:
            current = tokens.current
            same = current.value.get_secret_value() is value
            self._seen_now(value, current.claims if same else None)
        return value

    def invalidate(self, rejected: str | None = None) -> None:
        """Report ``rejected`` (a token an API refused; ``None``: the token held now):
        the client's token manager replaces it at most once per backoff window."""
        if self._tokens is None and _OAUTH_MODULE not in sys.modules:
            return
        self._manager().invalidate(rejected)

    def claims(self) -> TokenClaims | None:
        """The current token's claims (fetching a token if needed; :class:`TokenError`)."""
        return self._manager().claims()

    def __repr__(self) -> str:
        return f"OAuthBearer(token_url={self.token_url!r}, client_id={self.client_id!r})"


def bearer_source(
    credentials: ServiceCredentials, provenance: Mapping[str, Provenance]
) -> BearerSource:
    """The bearer source for ``credentials`` (an OAuth client or a static token).

    The account id in ``credentials`` is checked against each new token's ``accounts``
    (a warning once per account and client) unless it came from that claim itself.
    """
    from ._discovery import ACCOUNTS_CLAIM

    account = provenance.get("account_id")
    check = None
    if account is None or account.key != ACCOUNTS_CLAIM:
        client = credentials.client_id or ""
        check = _AccountCheck(credentials.account_id, client, account)
    if credentials.kind == ACCESS_TOKEN:
        assert credentials.access_token is not None
        return StaticBearer(credentials.access_token.get_secret_value(), check)
    return OAuthBearer(credentials, check)


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


def build_auth(resolution: Resolution, owner: Owner, *, discover: bool = True) -> Built:
    """Build every service's auth object from ``resolution`` (see :class:`Built`).

    Services with OAuth client credentials and no account id get theirs from the access
    token (:mod:`._discovery`); that is the only I/O here, one token request per client.
    ``discover=False`` leaves them pending (their error stands): no I/O at all.
    """
    if resolution.pending and discover:
        from ._discovery import discover as settle  # only OAuth without an account id

        resolution = settle(resolution)
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
        bearer = None if is_basic else bearer_source(credentials, provenance)
        if not is_basic and credentials.client_secret_expires_at is not None:
            from ._expiry import log_if_expiring  # only when the store keeps an expiry

            log_if_expiring(credentials.client_id, credentials.client_secret_expires_at)
        auth[name] = ServiceAuth(credentials, provenance, bearer, owner)
    by_alias = {alias: auth[name] for alias, name in LOOKUP.items() if name in auth}
    retry = any(isinstance(errors.get(name), TokenError) for name in resolution.pending)
    return Built(auth, errors, by_alias, basic, resolution, retry)


#: How provenance names an account id the caller chose: ``get_auth(service, account_id=...)``.
ACCOUNT_ARGUMENT = "account_id argument"


def account_auth(
    credentials: ServiceCredentials,
    provenance: Mapping[str, Provenance],
    account_id: str,
    owner: Owner,
    sources: Sequence[str] = (),
) -> ServiceAuth:
    """A ``ServiceAuth`` for ``account_id`` with the service's credentials, for
    ``get_auth(service, account_id=...)``: the base URL completed for that account (an
    explicit ``base_url`` is kept), provenance ``account_id`` from :data:`ACCOUNT_ARGUMENT`.

    Bearer credentials share the client's one token manager with every other account and
    are checked against the token's ``accounts`` claim when the token lists any (this may
    request the token); Basic credentials carry no account list, so nothing is checked.

    ``account_id`` is read as a source's ``BW_ACCOUNT_ID`` is (surrounding whitespace
    dropped, an ``int`` as its digits) and must pass the same rule.

    Raises :class:`InvalidCredentialsError` for an ``account_id`` that is not a numeric
    account id, :class:`CredentialNotFoundError` naming the account, the client and the
    listed accounts when the token does not list it, and :class:`TokenError` when no
    token can be had to check it.
    """
    from ._checks import Provenance as Prov
    from ._checks import read_account_id
    from ._discovery import with_account

    account_id, problem = read_account_id(account_id)  # as a source reads BW_ACCOUNT_ID
    if problem is not None:
        from ._errors import InvalidCredentialsError

        raise InvalidCredentialsError(
            f"account_id given to get_auth() for the {credentials.service} API {problem}",
            field="account_id",
            source=ACCOUNT_ARGUMENT,
            key="account_id",
            service=credentials.service,
        )
    chosen = with_account(credentials, account_id)
    origin = Prov(ACCOUNT_ARGUMENT, "account_id")
    given = {**provenance, "account_id": origin}
    bearer = None
    if KINDS[chosen.kind].scheme == "bearer":
        bearer = bearer_source(chosen, given)  # the client's one token manager
        claims = bearer.claims()  # TokenError: no token to check the account against
        if claims is not None and claims.excludes(account_id):
            from ._discovery import listed_accounts
            from ._errors import CredentialNotFoundError

            client = chosen.client_id or "(static access token)"
            raise CredentialNotFoundError(
                chosen.service,
                ("account_id",),
                sources,
                problem=(
                    f"the {chosen.service} API cannot use account {account_id}: account "
                    f"{account_id} is not among the accounts of the access token for client "
                    f"{client} ({listed_accounts(claims)}); choose one of them"
                ),
            )
    auth = ServiceAuth(chosen, given, bearer, owner)
    object.__setattr__(auth, "_chosen", True)
    return auth


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
