"""OAuth 2.0 client credentials: Bandwidth's access tokens, cached and single-flight.

The request itself is :mod:`._token_request`. One :class:`TokenManager` exists per (token URL,
client id, client secret) in a process, so every service and thread sharing a client
shares its token, and two secrets for one client id never evict each other's token.

Rules (each tested): a still-valid token is never withheld while it is being refreshed
(one refresher, everyone else gets the current token at once); callers with no valid
token wait, bounded, for the single request in flight and share its outcome; a failed
refresh is retried at most once per backoff window (exponential with jitter,
``Retry-After`` honoured up to :data:`BACKOFF_CAP`); early-refresh times carry about
±10% jitter so a fleet does not refresh in lockstep. Each attempt has one deadline
(:data:`TIMEOUT`, connect to last byte), a 1 MiB answer cap, and follows no redirect.
"""

from __future__ import annotations

import hmac
import math
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from . import _http
from ._checks import ServiceCredentials
from ._errors import TokenError
from ._jwt import TokenClaims, decode_claims
from ._log import logger
from ._secret import Secret
from ._token_request import Failure as _Failure
from ._token_request import request_token

__all__ = [
    "DEFAULT_TOKEN_URL",
    "TEST_TOKEN_URL",
    "TokenManager",
    "invalidate_all",
    "reset_after_fork",
    "token_manager",
    "token_source",
]

DEFAULT_TOKEN_URL = "https://api.bandwidth.com/api/v1/oauth2/token"
TEST_TOKEN_URL = "https://test.api.bandwidth.com/api/v1/oauth2/token"
TIMEOUT = 10.0  # seconds per attempt, connect to last byte
ATTEMPTS = 2  # per refresh
BACKOFF = 0.25  # seconds before the second attempt of one refresh (with jitter)
BACKOFF_BASE = 1.0  # first backoff window after a failed refresh; doubles per failure
BACKOFF_CAP = 60.0  # longest backoff window, and the cap on Retry-After
MAX_SIZE = 1 << 20


class _Token:
    """A cached token: ``value`` (the token, held masked), ``refresh_at`` and
    ``expires_at`` (monotonic seconds), ``claims``. Not a tuple, so an error tracker
    that records local variables shows its masked ``repr``, never the token."""

    __slots__ = ("_value", "claims", "expires_at", "refresh_at")

    def __init__(
        self, value: str, refresh_at: float, expires_at: float, claims: TokenClaims | None
    ) -> None:
        self._value = Secret(value)
        self.refresh_at = refresh_at
        self.expires_at = expires_at
        self.claims = claims

    @property
    def value(self) -> str:
        return self._value.get_secret_value()

    def __repr__(self) -> str:
        return "<access token **********>"


def refresh_margin(lifetime: float) -> float:
    """Seconds before expiry to refresh: the larger of 60 s or 10% of the lifetime,
    but never more than half of it (a 30 s token is not refreshed on every call)."""
    return min(max(60.0, lifetime * 0.1), lifetime / 2)


class TokenManager:
    """Fetches, caches and refreshes the access token of one OAuth client.

    Use :func:`token_manager` for the shared instance rather than building one.
    :meth:`token` returns a valid token (raises :class:`TokenError`);
    :meth:`cached_token` never waits; :meth:`invalidate` drops a refused token.
    ``clock`` (monotonic seconds), ``wall`` (epoch seconds, for ``Retry-After`` dates),
    ``sleep`` and ``rng`` (uniform in [0, 1)) are injectable for tests.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | Secret,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        # Masked: every frame holding the manager shows its repr, never the secret.
        self._secret = client_secret if isinstance(client_secret, Secret) else Secret(client_secret)
        self._clock, self._wall, self._sleep, self._rng = clock, wall, sleep, rng
        self._token: _Token | None = None
        self._reset_state()

    def _reset_state(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._inflight = False
        self._round = 0  # finished refreshes
        self._failure: _Failure | None = None
        self._failures = 0
        self._retry_at = -math.inf

    def __repr__(self) -> str:
        return f"TokenManager(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def __copy__(self) -> TokenManager:
        return self  # one manager per client per process, even inside copied configs

    def __deepcopy__(self, memo: object) -> TokenManager:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("TokenManager cannot be pickled: it holds a secret")

    # -- reading --------------------------------------------------------------------

    def token(self) -> str:
        """A currently valid access token (see the module docstring for the rules)."""
        return self._get().value

    def claims(self) -> TokenClaims | None:
        """The claims of the current token (fetching one if needed); ``None`` when the
        token is not a JWT. The token itself is never exposed here."""
        return self._get().claims

    def cached_token(self) -> str | None:
        """The cached token when no request is due (or one is already running or backing
        off and the token is still valid), else ``None``. No I/O, no lock wait."""
        current = self._token
        if current is None:
            return None
        now = self._clock()
        if now < current.refresh_at:
            return current.value
        if now < current.expires_at and (self._inflight or now < self._retry_at):
            return current.value
        return None

    def invalidate(self, rejected: str | None = None) -> None:
        """Drop the cached token so the next :meth:`token` fetches a new one.

        With ``rejected`` (the token an API just refused), only drop it if it is still
        the cached one, so N callers that saw the same 401 cause one new request.
        """
        with self._lock:
            if rejected is None or (self._token is not None and self._token.value == rejected):
                self._token = None

    def _get(self) -> _Token:
        current = self._token
        if current is not None and self._clock() < current.refresh_at:
            return current
        failure: _Failure | None = None
        with self._lock:
            while True:
                now = self._clock()
                current = self._token
                if current is not None and now < current.refresh_at:
                    return current
                busy = self._inflight or now < self._retry_at
                if current is not None and now < current.expires_at and busy:
                    return current  # being refreshed, or backing off: still valid
                if self._inflight:
                    failure = self._await_round()
                    if failure is None:
                        continue  # the refresh in flight finished: look again
                elif now < self._retry_at and self._failure is not None:
                    failure = self._failure
                else:
                    self._inflight = True
                break
        if failure is not None:
            raise self._error(failure)
        return self._refresh_as_leader(current)

    def _await_round(self) -> _Failure | None:
        """Wait (lock held) for the refresh in flight; its failure, or None if it
        produced a token. Bounded by what one refresh may take."""
        seen = self._round
        ends = time.monotonic() + ATTEMPTS * (TIMEOUT + 1.0) + 1.0
        while self._inflight and self._round == seen:
            left = ends - time.monotonic()
            if left <= 0:
                return _Failure("gave up waiting for the token request in progress", None, True)
            self._done.wait(left)
        return self._failure  # None when it produced a token: the caller looks again

    def _refresh_as_leader(self, previous: _Token | None) -> _Token:
        outcome: _Token | _Failure = _Failure("the token request was interrupted", None, True)
        try:
            outcome = self._refresh()
        finally:
            with self._lock:
                self._inflight = False
                self._round += 1
                if isinstance(outcome, _Token):
                    self._token, self._failure, self._failures = outcome, None, 0
                    self._retry_at = -math.inf
                else:
                    self._failure = outcome
                    self._failures += 1
                    window = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (self._failures - 1))
                    window *= 0.5 + 0.5 * self._rng()
                    if outcome.retry_after is not None:
                        window = max(window, min(outcome.retry_after, BACKOFF_CAP))
                    self._retry_at = self._clock() + window
                self._done.notify_all()
        if isinstance(outcome, _Token):
            return outcome
        if previous is not None and self._clock() < previous.expires_at:
            logger.warning(
                "refreshing the OAuth token for client %s failed; using the current token "
                "until it expires",
                self.client_id,
            )
            return previous
        raise self._error(outcome)

    # -- the token request ----------------------------------------------------------

    def _error(self, failure: _Failure) -> TokenError:
        where = _http.display_url(self.token_url)
        return TokenError(
            f"OAuth token request for client {self.client_id} to {where} failed: {failure.reason}",
            client_id=self.client_id,
            token_url=where,
            status=failure.status,
            retryable=failure.retryable,
        )

    def _refresh(self) -> _Token | _Failure:
        outcome = self._attempt()
        for attempt in range(1, ATTEMPTS):
            if not isinstance(outcome, _Failure) or not outcome.retryable:
                return outcome
            if outcome.retry_after is not None:
                return outcome  # the server said when; the backoff window honours it
            self._sleep(BACKOFF * 2 ** (attempt - 1) * (0.5 + self._rng()))
            outcome = self._attempt()
        if isinstance(outcome, _Failure) and outcome.retryable and ATTEMPTS > 1:
            reason = f"unavailable after {ATTEMPTS} attempts ({outcome.reason})"
            return outcome._replace(reason=reason)
        return outcome

    def _attempt(self) -> _Token | _Failure:
        logger.debug("requesting an OAuth token for client %s", self.client_id)
        started = self._clock()
        outcome = request_token(
            self.token_url,
            self.client_id,
            self._secret,
            timeout=TIMEOUT,
            max_size=MAX_SIZE,
            wall=self._wall,
        )
        if isinstance(outcome, _Failure):
            return outcome
        expires_at = started + outcome.lifetime
        early = refresh_margin(outcome.lifetime) * (0.9 + 0.2 * self._rng())  # about ±10%
        refresh_at = max(expires_at - early, started)
        return _Token(outcome.value, refresh_at, expires_at, decode_claims(outcome.value))

    # -- lifecycle --------------------------------------------------------------------

    def _forget(self) -> None:
        with self._lock:
            self._token, self._failure, self._failures = None, None, 0
            self._retry_at = -math.inf


class _Digest(bytes):
    """A keyed digest of a client secret: a dictionary key that never prints itself."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<client secret digest>"

    __str__ = __repr__


_managers: dict[tuple[str, str, _Digest], TokenManager] = {}
_managers_lock = threading.Lock()
_SALT = os.urandom(16)  # keys the secret digest; never leaves this process's memory
PER_CLIENT = 8  # managers kept per (token URL, client id): rotated secrets age out


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
            manager = _managers[key] = TokenManager(token_url, client_id, client_secret)
    return manager


def reset_after_fork() -> None:
    """In a forked child: fresh locks and no in-flight request in every manager (the
    thread that was fetching does not exist in the child). Cached tokens stay."""
    global _managers_lock
    _managers_lock = threading.Lock()
    for manager in list(_managers.values()):
        manager._reset_state()


def invalidate_all() -> None:
    """Drop every cached token and backoff state (after a SnapStart restore the
    snapshot's tokens and deadlines are as old as the snapshot)."""
    for manager in list(_managers.values()):
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
