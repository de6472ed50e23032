"""OAuth 2.0 client credentials: Bandwidth's access tokens, cached and single-flight.

The request itself is :mod:`._token_request`. One :class:`TokenManager` exists per (token URL,
client id, client secret) in a process, so every service, account and thread sharing a
client shares its token, and two secrets for one client id never evict each other's token.

A token is a snapshot of the refresh policy (:class:`._refresh.RefreshPolicy`, the engine
the resolver runs on too): its refresh time is the snapshot's due time and its expiry the
bound up to which it may be served. So the rules are the policy's (each tested): a
still-valid token is never withheld while it is being refreshed (the caller that finds it
due refreshes it; everyone else gets the current token at once); callers with no valid
token wait, bounded, for the single request in flight and share its outcome; a failed
refresh is retried at most once per backoff window (1 s doubling to :data:`BACKOFF_CAP`,
a random half to all of it, ``Retry-After`` honoured up to the cap); a token an API
refused is replaced at most once per backoff window; forks and SnapStart restores reset
it. Every jitter comes from ``os.urandom`` (:func:`._refresh.unit`).

Lifetimes: ``expires_in`` when the answer has it, never less than :data:`MIN_LIFETIME`
(30 s), so an answer saying 0, a negative number or a millisecond does not turn every call
into a request; else the token's JWT ``exp``, and such a token is never served past it;
else one hour (:data:`DEFAULT_LIFETIME`). New tokens are requested at most once per
:data:`MIN_INTERVAL` (1 s, the first backoff window) however short the lifetime, unless
one is refused: a token whose ``exp`` comes sooner leaves callers with a
:class:`TokenError` (``retryable``, with ``retry_after``) until the next request may start,
never with an expired token. The refresh starts the larger of 60 s or 10% of the lifetime
before expiry (never more than half of it, never sooner than :data:`MIN_INTERVAL` after
the request), with ±10% jitter so a fleet does not refresh in lockstep. Each attempt
has one deadline (:data:`TIMEOUT`, connect to last byte), a 1 MiB answer cap, and follows
no redirect. Everything that goes wrong is a :class:`TokenError` naming the client and
the token URL, never the secret or the token.
"""

from __future__ import annotations

import _thread
import hmac
import os
import time
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from . import _http
from ._checks import ServiceCredentials
from ._errors import TokenError, guarded
from ._jwt import TokenClaims, decode_claims
from ._log import logger
from ._refresh import RefreshPolicy, unit
from ._schema import token_url
from ._secret import Secret
from ._token_request import DEFAULT_LIFETIME, request_token
from ._token_request import Failure as _Failure

__all__ = [
    "DEFAULT_TOKEN_URL",
    "MIN_INTERVAL",
    "MIN_LIFETIME",
    "TEST_TOKEN_URL",
    "TokenManager",
    "invalidate_all",
    "reset_after_fork",
    "token_manager",
    "token_source",
]

DEFAULT_TOKEN_URL = token_url("prod")
TEST_TOKEN_URL = token_url("test")
TIMEOUT = 10.0  # seconds per attempt, connect to last byte
ATTEMPTS = 2  # per refresh
BACKOFF = 0.25  # seconds before the second attempt of one refresh (with jitter)
BACKOFF_CAP = 60.0  # longest backoff window, and the cap on Retry-After
#: Seconds a token is cached at least when ``expires_in`` says less (0, negative, 0.001).
MIN_LIFETIME = 30.0
#: Seconds from one token request to the next at least, however short the lifetimes (the
#: first backoff window; a refused token is replaced once per refusal window).
MIN_INTERVAL = 1.0
MAX_SIZE = 1 << 20


class _Token(NamedTuple):
    """One access token as a refresh-policy snapshot (monotonic seconds). The token is
    held masked: an error tracker recording a frame that holds a snapshot shows
    ``Secret('**********')``, never the token."""

    value: Secret
    due_at: float  # refresh from here on
    stale_limit: float  # expiry: never served after it
    generation: int
    claims: TokenClaims | None
    #: ``"Bearer " + value``, built once per token: the hot path of ``headers()`` hands it
    #: out, and it cannot belong to any other snapshot than the one it is read from.
    authorization: Secret = Secret("")
    #: Seconds the token was given: ``expires_in``, else its ``exp`` from when it arrived,
    #: else :data:`DEFAULT_LIFETIME` (then ``expires_at`` is ``None``).
    lifetime: float = 0.0
    #: Epoch seconds the token expires at by its own word: its JWT ``exp`` when the answer
    #: had no ``expires_in``, else when ``expires_in`` runs out; ``None``: neither said.
    expires_at: float | None = None


# What the lookup path reads before the first token: always due.
_NONE = _Token(Secret(""), float("-inf"), float("-inf"), -1, None)


def _bearer(token: Secret) -> Secret:
    """``Bearer <token>``, masked as the token is."""
    return Secret("Bearer " + token.get_secret_value())


def refresh_margin(lifetime: float) -> float:
    """Seconds before expiry to refresh: the larger of 60 s or 10% of the lifetime,
    but never more than half of it (a 30 s token is not refreshed on every call)."""
    return min(max(60.0, lifetime * 0.1), lifetime / 2)


def _held(token: _Token) -> bool:
    return True  # a refusal of whatever token is held now


def _never_spawn(work: Callable[[], None]) -> None:
    # Tokens refresh inline (the caller that finds one due); unused, but the policy asks.
    work()


def _no_bound() -> float:
    return float("inf")  # a token's own expiry is its only stale bound


class TokenManager:
    """Fetches, caches and refreshes the access token of one OAuth client.

    Use :func:`token_manager` for the shared instance rather than building one.
    :meth:`token` returns a valid token (raises :class:`TokenError`);
    :meth:`cached_token` never waits; :meth:`invalidate` drops a refused token.
    ``clock`` (monotonic seconds), ``wall`` (epoch seconds, for ``Retry-After`` dates and
    the JWT ``exp``), ``sleep`` and ``rng`` (uniform in [0, 1]; ``os.urandom`` by default)
    are injectable for tests.

    The lookup path (what a cached ``headers()`` costs) reads two attributes:
    ``current``, the token snapshot (``value``, ``due_at``, ``stale_limit`` monotonic
    seconds, ``claims``), and ``clock``; while ``clock() < current.due_at`` the token is
    valid and nothing is due.
    """

    __slots__ = (
        "__weakref__",
        "_policy",
        "_rng",
        "_secret",
        "_sleep",
        "_wall",
        "client_id",
        "clock",
        "current",
        "token_url",
    )

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = unit,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        # Masked: a frame holding the manager (or the secret) shows no secret.
        self._secret = client_secret if isinstance(client_secret, Secret) else Secret(client_secret)
        self.clock, self._wall, self._sleep, self._rng = clock, wall, sleep, rng
        self.current = _NONE
        self._policy: RefreshPolicy[_Token] = RefreshPolicy(
            self._fetch,
            _no_bound,
            clock=clock,
            spawn=_never_spawn,
            inline=True,
            publish=self._published,
            backoff_cap=BACKOFF_CAP,
            rng=rng,
            # What one refresh may take: every attempt's deadline, and the pause between.
            wait_limit=ATTEMPTS * (TIMEOUT + 1.0) + 1.0,
            stalled=self._stalled,
            what=f"the OAuth token for client {client_id}",
            kept="token",
            min_interval=MIN_INTERVAL,
            too_soon=self._expired,
        )
        # Every live manager, not only those the shared table still keys: an auth object
        # may hold one the table let go (a rotated secret), and it too must be reset
        # after a fork or a SnapStart restore.
        _live.add(self)

    def __repr__(self) -> str:
        return f"TokenManager(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def __copy__(self) -> TokenManager:
        return self  # one manager per client per process, even inside copied configs

    def __deepcopy__(self, memo: object) -> TokenManager:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("TokenManager cannot be pickled: it holds a secret")

    def _published(self, token: _Token) -> None:
        self.current = token

    # -- reading --------------------------------------------------------------------

    def token(self) -> str:
        """A currently valid access token (see the module docstring for the rules).
        Raises :class:`TokenError`."""
        current = self.current
        if self.clock() < current.due_at:
            return current.value.get_secret_value()
        return self._policy.current().value.get_secret_value()

    def snapshot(self) -> _Token:
        """The current token with its claims (fetching one if needed; :class:`TokenError`)."""
        current = self.current
        if self.clock() < current.due_at:
            return current
        return self._policy.current()

    def claims(self) -> TokenClaims | None:
        """The claims of the current token (fetching one if needed); ``None`` when the
        token is not a JWT. The token itself is never exposed here. Raises
        :class:`TokenError`."""
        return self.snapshot().claims

    def cached_token(self) -> str | None:
        """The cached token when no request is due (or one is already running or backing
        off and the token is still valid), else ``None``. No I/O, no lock wait."""
        current = self.current
        if self.clock() < current.due_at:
            return current.value.get_secret_value()
        serving = self._policy.serving()
        return None if serving is None else serving.value.get_secret_value()

    def invalidate(self, rejected: str | None = None) -> None:
        """Drop the cached token so the next :meth:`token` fetches a new one.

        A refusal: ``rejected`` is the token an API just refused (``None``: the token held
        now). Acted on only if it is still the cached one, so N callers that saw the same
        401 cause one new request, and at most once per backoff window (1 s doubling to
        :data:`BACKOFF_CAP` while refusals continue), so an API that refuses every token (a
        revoked client, a missing role) gets its 401 back instead of a new token per
        request, whether or not the caller names the token.
        """
        if rejected is None:
            self._policy.invalidate(_held)
        else:
            self._policy.invalidate(lambda token: token.value.get_secret_value() == rejected)

    # -- the token request ----------------------------------------------------------

    def _error(self, failure: _Failure) -> TokenError:
        where = _http.display_url(self.token_url)
        return TokenError(
            f"OAuth token request for client {self.client_id} to {where} failed: {failure.reason}",
            client_id=self.client_id,
            token_url=where,
            status=failure.status,
            retryable=failure.retryable,
            retry_after=failure.retry_after,
        )

    def _expired(self, token: _Token, wait: float) -> TokenError:
        where = _http.display_url(self.token_url)
        return TokenError(
            f"the OAuth access token for client {self.client_id} from {where} expired "
            f"(it was given {token.lifetime:g} s); a new one is requested at most once per "
            f"{MIN_INTERVAL:g} s: the next in {max(wait, 0.0):.0f} s",
            client_id=self.client_id,
            token_url=where,
            retryable=True,
            retry_after=max(wait, 0.0),
        )

    def _stalled(self) -> TokenError:
        return self._error(
            _Failure("gave up waiting for the token request in progress", None, True)
        )

    def _fetch(self, force: bool) -> _Token:
        """One refresh (the policy's ``build``): up to :data:`ATTEMPTS` requests."""
        started = self.clock()
        outcome = self._attempt()
        for attempt in range(1, ATTEMPTS):
            if not isinstance(outcome, _Failure) or not outcome.retryable:
                break
            if outcome.retry_after is not None:
                break  # the server said when; the backoff window honours it
            self._sleep(BACKOFF * 2 ** (attempt - 1) * (0.5 + self._rng()))
            started = self.clock()
            outcome = self._attempt()
        else:
            if isinstance(outcome, _Failure) and outcome.retryable and ATTEMPTS > 1:
                reason = f"unavailable after {ATTEMPTS} attempts ({outcome.reason})"
                outcome = outcome._replace(reason=reason)
        if isinstance(outcome, _Failure):
            raise self._error(outcome)
        # From here the token is held masked: decode_claims may raise (an unreadable exp).
        value, lifetime = Secret(outcome.value), outcome.lifetime
        del outcome
        claims = decode_claims(
            value.get_secret_value(),
            client_id=self.client_id,
            token_url=_http.display_url(self.token_url),
        )
        now, wall = self.clock(), self._wall()
        said: float | None  # epoch seconds
        if lifetime is not None:  # expires_in, counted from when the request started
            said = wall - (now - started) + lifetime
            lifetime = max(lifetime, MIN_LIFETIME)  # an answer of 0 s is cached 30 s
            expires_at = started + lifetime
        else:  # no expires_in: the token's own exp (never served past it), else an hour
            said = None if claims is None else claims.expires_at
            lifetime = DEFAULT_LIFETIME if said is None else said - wall
            expires_at = (started if said is None else now) + lifetime
        early = refresh_margin(max(lifetime, 0.0)) * (0.9 + 0.2 * self._rng())  # about ±10%
        # Never served past its expiry (the lookup path reads only due_at); refreshed no
        # sooner than MIN_INTERVAL after this request (the policy holds fetches back too).
        due_at = min(max(expires_at - early, started + MIN_INTERVAL), expires_at)
        return _Token(value, due_at, expires_at, 0, claims, _bearer(value), lifetime, said)

    def _attempt(self) -> Any:
        logger.debug("requesting an OAuth token for client %s", self.client_id)
        # request_token never raises by design; should anything in it still do, the caller
        # gets a TokenError naming the exception type only (its text may quote a secret).
        return guarded(
            lambda: request_token(
                self.token_url,
                self.client_id,
                self._secret,
                timeout=TIMEOUT,
                max_size=MAX_SIZE,
                wall=self._wall,
            ),
            self._unexpected,
        )

    def _unexpected(self, exc: Exception) -> TokenError:
        return self._error(_Failure(f"unexpected {type(exc).__name__}", None, False))

    # -- lifecycle --------------------------------------------------------------------

    def _after_fork(self) -> None:
        self._policy.after_fork()

    def _forget(self) -> None:
        self._policy.forget()


class _Digest(bytes):
    """A keyed digest of a client secret: a dictionary key that never prints itself."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<client secret digest>"

    __str__ = __repr__


_managers: dict[tuple[str, str, _Digest], TokenManager] = {}
_managers_lock = _thread.allocate_lock()
_SALT = os.urandom(16)  # keys the secret digest; never leaves this process's memory
#: Managers the shared table keeps per (token URL, client id): rotated secrets age out of
#: the table, while objects still holding an older one keep it alive (and in ``_live``).
PER_CLIENT = 8
#: Every manager alive in the process, whoever holds it: what the fork and SnapStart
#: hooks reset. Weak, so a manager nobody holds any more goes away.
_live: weakref.WeakSet[TokenManager] = weakref.WeakSet()
#: The monotonic clock of the shared managers (tests put a fake clock here).
clock: Callable[[], float] = time.monotonic
#: Their epoch clock (``Retry-After`` dates, the JWT ``exp``; tests put a fake one here).
wall: Callable[[], float] = time.time


def token_manager(token_url: str, client_id: str, client_secret: str | Secret) -> TokenManager:
    """The process-wide manager for (token URL, client id, client secret)."""
    if not isinstance(client_secret, Secret):
        client_secret = Secret(client_secret)
    digest = _Digest(hmac.new(_SALT, client_secret.get_secret_value().encode(), "sha256").digest())
    key = (token_url, client_id, digest)
    with _managers_lock:
        manager = _managers.get(key)
        if manager is None:
            siblings = [k for k in _managers if k[:2] == key[:2]]
            for old in siblings[: max(len(siblings) - PER_CLIENT + 1, 0)]:
                del _managers[old]
            manager = _managers[key] = TokenManager(
                token_url, client_id, client_secret, clock=clock, wall=wall
            )
    return manager


def reset_after_fork() -> None:
    """In a forked child: fresh locks and no in-flight request in every live manager
    (the thread that was fetching does not exist in the child), including managers the
    shared table no longer keys but an auth object still holds. Cached tokens stay."""
    global _managers_lock
    _managers_lock = _thread.allocate_lock()
    for manager in list(_live):
        manager._after_fork()


def invalidate_all() -> None:
    """Drop every live manager's cached token and backoff state (after a SnapStart
    restore the snapshot's tokens and deadlines are as old as the snapshot; the jitter of
    the next ones comes from ``os.urandom``, so restored environments do not refresh
    together)."""
    for manager in list(_live):
        manager._forget()


def token_url_for(credentials: ServiceCredentials) -> str:
    """The token endpoint: the schema already chose it (explicit ``token_url``, else the
    environment's API host, else production)."""
    return credentials.token_url or DEFAULT_TOKEN_URL


def token_source(credentials: ServiceCredentials) -> TokenManager:
    """The shared token manager for these OAuth client credentials."""
    assert credentials.client_id is not None
    assert credentials.client_secret is not None
    return token_manager(
        token_url_for(credentials),
        credentials.client_id,
        credentials.client_secret,
    )
