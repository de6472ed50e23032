"""The resolver: the source chain, caching, refresh, single-flight and ``get_auth()``.

Freshness rules, per source:

- ``ttl`` (seconds; remote providers default to their ``default_ttl``, 300 s; ``env``
  and ``dotenv`` never expire): once it passes, one caller starts a refresh in the
  background and every caller keeps getting the current credentials meanwhile
  (stale-while-revalidate). Callers block only when there is nothing to serve yet.
- ``check_interval`` (providers that can tell cheaply whether they changed, such as
  ``file:``): every interval, ask the provider for its current version and refetch
  when it moved.
- ``max_stale`` (seconds, default 3600): when refreshing fails, the last good
  credentials are served for at most this long after they expired; after that the
  refresh error is raised. Failed refreshes are retried with exponential backoff and
  jitter, never on every call.

A refresh fetches only the sources that are due, each once, however many threads ask.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ._auth import ServiceAuth, TokenSource
from ._errors import CredentialsError, SourceError
from ._normalizer import Resolution, ServiceCredentials, normalize
from ._provider import Fetched, Provider, Source, parse_sources
from ._registry import provider_class
from ._services import _LOOKUP, ACCESS_TOKEN, API_USER, MESSAGING_TOKEN, canonical_service

__all__ = [
    "DEFAULT_MAX_STALE",
    "DEFAULT_SOURCES",
    "SOURCES_ENV",
    "Resolver",
    "aget_auth",
    "configure",
    "get_auth",
    "invalidate",
    "reload",
]

SOURCES_ENV = "BANDWIDTH_CREDENTIALS_SOURCES"
DEFAULT_SOURCES = "env,dotenv:.env?optional=true"
DEFAULT_MAX_STALE = 3600.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0

logger = logging.getLogger("bandwidth_credentials")

SourceLike = str | Source


class _Snapshot(NamedTuple):
    auth: dict[str, ServiceAuth]
    errors: dict[str, Exception]
    # Every accepted spelling of every ready service -> its auth: one dict lookup per call.
    by_alias: dict[str, ServiceAuth]
    resolution: Resolution
    skipped: tuple[str, ...]
    # Monotonic time after which get_auth() leaves the pure-lookup path (None: never).
    due_at: float | None
    # Monotonic time after which these values may no longer be served if refreshing fails.
    stale_limit: float | None


class _SourceState:
    """What the resolver knows about one source between refreshes."""

    __slots__ = (
        "check_at",
        "check_interval",
        "expires_at",
        "fetched",
        "max_stale",
        "provider",
        "skipped",
        "ttl",
    )

    def __init__(self, provider: Provider) -> None:
        source = provider.source
        self.provider = provider
        self.ttl = source.number("ttl", provider.default_ttl)
        self.max_stale = source.number("max_stale", DEFAULT_MAX_STALE)
        self.check_interval = provider.check_interval
        self.fetched: Fetched | None = None
        self.expires_at: float | None = None
        self.check_at: float | None = None
        self.skipped: str | None = None  # why an optional source was left out

    def due(self, now: float) -> bool:
        """Whether this source must be fetched again now (TTL passed, or it changed)."""
        if self.expires_at is not None and now >= self.expires_at:
            return True
        if self.fetched is None:
            return self.skipped is None
        if self.check_at is not None and now >= self.check_at:
            assert self.check_interval is not None
            current = self.provider.current_version()
            self.check_at = now + self.check_interval
            return current is not None and current != self.fetched.version
        return False

    def stored(self, fetched: Fetched | None, now: float, skipped: str | None = None) -> None:
        self.fetched = fetched
        self.skipped = skipped
        self.expires_at = None if self.ttl is None else now + self.ttl
        self.check_at = None if self.check_interval is None else now + self.check_interval


class _StaticToken:
    """A fixed bearer token (``BW_ACCESS_TOKEN``): nothing to refresh."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def invalidate(self, rejected: str | None = None) -> None:
        pass


def _bearer_source(credentials: ServiceCredentials) -> TokenSource:
    if credentials.kind == ACCESS_TOKEN:
        assert credentials.access_token is not None
        return _StaticToken(credentials.access_token.get_secret_value())
    from ._oauth import token_source

    return token_source(credentials)


BASIC_DEPRECATION = (
    "Bandwidth has deprecated API user credentials (HTTP Basic) in favour of OAuth 2.0 "
    "client credentials; set BW_CLIENT_ID and BW_CLIENT_SECRET to switch"
)
_basic_warned = False


def _warn_basic_once() -> None:
    global _basic_warned
    if not _basic_warned:
        _basic_warned = True
        warnings.warn(BASIC_DEPRECATION, DeprecationWarning, stacklevel=2)


def _spawn_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="bandwidth-credentials-refresh", daemon=True).start()


class Resolver:
    """Resolves credentials from an ordered chain of sources and caches the result.

    >>> resolver = Resolver(["env", "dotenv:.env?optional=true"])
    >>> resolver.get_auth("voice").base_url                        # doctest: +SKIP
    'https://voice.bandwidth.com/api/v2/accounts/920012'

    ``sources`` is a list of source URIs (or a comma-separated string), highest
    precedence first. ``None`` reads ``BANDWIDTH_CREDENTIALS_SOURCES``, falling back to
    ``env,dotenv:.env?optional=true``. Bad URIs and unknown schemes raise
    :class:`ConfigurationError` here, not at the first ``get_auth()``.

    Thread-safe: concurrent callers share one resolution, so each source is fetched once
    however many threads ask at the same moment. ``clock`` (monotonic seconds) and
    ``spawn`` (runs a background refresh; by default on a daemon thread) exist so tests
    can drive time and refreshes deterministically.
    """

    def __init__(
        self,
        sources: str | Sequence[SourceLike] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], None]], None] = _spawn_thread,
    ) -> None:
        if sources is None:
            sources = os.environ.get(SOURCES_ENV) or DEFAULT_SOURCES
        if isinstance(sources, str):
            parsed = parse_sources(sources)
        else:
            parsed = tuple(s if isinstance(s, Source) else parse_sources(s)[0] for s in sources)
            if not parsed:
                parsed = parse_sources("")  # raises the "empty list" error
        for source in parsed:
            source.flag("optional", False)  # options the resolver acts on, checked now
        self.sources: tuple[Source, ...] = parsed
        self._states = tuple(_SourceState(provider_class(s.scheme)(s)) for s in parsed)
        self._clock = clock
        self._spawn = spawn
        self._lock = threading.Lock()  # guards the fields below
        self._fetch_lock = threading.Lock()  # one resolution at a time
        self._snapshot: _Snapshot | None = None
        self._generation = 0  # bumped by every finished resolution attempt
        self._failure: BaseException | None = None  # last resolution error, while it stands
        self._failures = 0  # consecutive failed refreshes
        self._retry_at: float | None = None
        self._refreshing = False
        self._invalidated = False

    # -- the hot path -------------------------------------------------------------

    def get_auth(self, service: str) -> ServiceAuth:
        """Return the ready auth object for ``service`` (``voice``, ``messaging``,
        ``numbers``, ``account``; case-insensitive aliases allowed).

        The first call resolves every source; later calls are a dictionary lookup until a
        source is due for refresh. Raises :class:`CredentialNotFoundError` when no source
        has complete credentials for the service, :class:`UnknownServiceError` (also a
        ``ValueError``) for an unknown name, and a :class:`SourceError` when a source
        that is not ``optional`` fails and there is nothing (or nothing recent enough)
        to fall back on.
        """
        snapshot = self._snapshot
        if snapshot is None or (snapshot.due_at is not None and self._clock() >= snapshot.due_at):
            snapshot = self._slow_path(snapshot)
        auth = snapshot.by_alias.get(service)
        if auth is None:
            name = canonical_service(service)  # other casing, or UnknownServiceError
            auth = snapshot.auth.get(name)
            if auth is None:
                raise snapshot.errors[name].with_traceback(None)
        return auth

    def get_auth_nowait(self, service: str) -> ServiceAuth | None:
        """The cached auth for ``service`` when no fetch is due, else ``None``; never
        blocks (for the async integrations, which hop to a thread only on ``None``)."""
        snapshot = self._snapshot
        if snapshot is None or (snapshot.due_at is not None and self._clock() >= snapshot.due_at):
            return None
        return snapshot.by_alias.get(service)

    async def aget_auth(self, service: str) -> ServiceAuth:
        """``get_auth`` for asyncio code: the same cache and single-flight; any blocking
        fetch runs in a worker thread so the event loop keeps running."""
        snapshot = self._snapshot
        if snapshot is not None and (snapshot.due_at is None or self._clock() < snapshot.due_at):
            return self.get_auth(service)
        import asyncio  # only asyncio users pay for importing it

        return await asyncio.to_thread(self.get_auth, service)

    # -- freshness ------------------------------------------------------------------

    def _slow_path(self, seen: _Snapshot | None) -> _Snapshot:
        now = self._clock()
        start = False
        with self._lock:
            snapshot = self._snapshot
            failure = self._failure
            backing_off = self._retry_at is not None and now < self._retry_at
            fresh = snapshot is not None and (snapshot.due_at is None or now < snapshot.due_at)
            if fresh and snapshot is not seen and not self._invalidated:
                assert snapshot is not None
                return snapshot
            block = snapshot is None or self._invalidated
            if snapshot is not None and not block:
                # Past the stale bound nothing may be served: refresh now (unless the
                # last attempt failed moments ago), and raise if that fails.
                block = snapshot.stale_limit is not None and now >= snapshot.stale_limit
            if not block:
                start = not self._refreshing and not backing_off
                self._refreshing = self._refreshing or start
            elif failure is not None and backing_off and not self._invalidated:
                # Nothing to serve and the last attempt failed moments ago: say so again
                # rather than hitting the store on every call.
                raise failure.with_traceback(None)
            generation = self._generation
        if not block:
            assert snapshot is not None
            if start:
                # Outside the lock: the spawner may run the refresh right here.
                self._spawn(lambda: self._background(generation))
            return snapshot
        try:
            return self._resolve_shared(generation)
        except CredentialsError:
            # Stale-if-error: a blocking refresh that fails still serves what it has,
            # within the bound.
            with self._lock:
                snapshot = self._snapshot
            if snapshot is not None and (
                snapshot.stale_limit is None or self._clock() < snapshot.stale_limit
            ):
                return snapshot
            raise

    def _resolve_shared(self, generation: int, force: bool = False) -> _Snapshot:
        """Resolve now, or, if another thread finished a resolution meanwhile, share it."""
        with self._fetch_lock:
            with self._lock:
                if self._generation != generation and not force:
                    # Another thread resolved while this one waited: share its outcome
                    # (a failure is raised here; the caller decides whether stale
                    # credentials may still be served).
                    if self._failure is not None:
                        raise self._failure.with_traceback(None)
                    if self._snapshot is not None and not self._invalidated:
                        return self._snapshot
                self._invalidated = False
            return self._attempt(force)

    def _background(self, generation: int) -> None:
        try:
            with self._fetch_lock:
                with self._lock:
                    stale = self._generation != generation
                if not stale:
                    self._attempt(False)
        except BaseException:  # noqa: S110 - recorded by _attempt; served stale meanwhile
            pass
        finally:
            with self._lock:
                self._refreshing = False

    def _attempt(self, force: bool) -> _Snapshot:
        """One resolution; records its outcome. Caller holds ``_fetch_lock``."""
        try:
            snapshot = self._build(force)
        except BaseException as exc:
            with self._lock:
                self._generation += 1
                self._failure = exc
                self._failures += 1
                delay = min(BACKOFF_BASE * 2 ** (self._failures - 1), BACKOFF_CAP)
                now = self._clock()
                self._retry_at = now + delay * (0.5 + random.random())  # noqa: S311 - jitter
                if self._snapshot is not None:
                    # Keep serving, but come back to the slow path at the retry time (or
                    # when the stale bound passes, if that is sooner).
                    limit = self._snapshot.stale_limit
                    due = self._retry_at if limit is None else min(self._retry_at, limit)
                    self._snapshot = self._snapshot._replace(due_at=due)
                if self._failures == 1:
                    serving = self._snapshot is not None
                    logger.warning(
                        "refreshing Bandwidth credentials failed%s: %s",
                        "; serving the last good credentials" if serving else "",
                        exc,
                    )
            raise
        with self._lock:
            if self._failures:
                logger.warning(
                    "Bandwidth credentials refreshed after %d failed attempt(s)", self._failures
                )
            self._generation += 1
            self._failure = None
            self._failures = 0
            self._retry_at = None
            self._snapshot = snapshot
        return snapshot

    def _fetch(self, provider: Provider) -> Fetched:
        uri = provider.source.uri
        try:
            return provider.fetch()
        except CredentialsError:
            raise
        except Exception as exc:
            # A foreign exception's text may quote what it was parsing; keep only its type.
            raise SourceError(
                f"source {uri}: the {provider.source.scheme} provider failed "
                f"({type(exc).__name__})",
                source=uri,
            ) from None

    def _build(self, force: bool) -> _Snapshot:
        now = self._clock()
        due = [force or state.due(now) for state in self._states]
        previous = self._snapshot
        if previous is not None and not any(due):
            # Only change checks ran and nothing moved: same credentials, new deadline.
            return previous._replace(due_at=self._due_at(), stale_limit=self._stale_limit())
        fetched_now: dict[int, Fetched | _Skipped] = {}
        for index, state in enumerate(self._states):
            if due[index]:
                try:
                    fetched_now[index] = self._fetch(state.provider)
                except SourceError as exc:
                    if not state.provider.source.optional:
                        raise
                    fetched_now[index] = _Skipped(str(exc))

        # Normalize before committing anything: a refresh that fails (a source down, or
        # new values that do not normalize) leaves every source's state as it was.
        def current(index: int) -> Fetched | None:
            result = fetched_now.get(index, self._states[index].fetched)
            return None if isinstance(result, _Skipped) else result

        pairs = [
            (state.provider.source, fetched)
            for index, state in enumerate(self._states)
            if (fetched := current(index)) is not None
        ]
        resolution = normalize(pairs)
        for index, result in fetched_now.items():
            state = self._states[index]
            if isinstance(result, _Skipped):
                reason = f"{state.provider.source.uri} skipped (optional): {result.reason}"
                state.stored(None, now, reason)
                logger.info("optional source skipped: %s", result.reason)
            else:
                state.stored(result, now)
        skipped = [s.skipped for s in self._states if s.skipped is not None]
        auth: dict[str, ServiceAuth] = {}
        errors: dict[str, Exception] = {}
        for name, outcome in resolution.services.items():
            if isinstance(outcome, Exception):
                errors[name] = outcome
                continue
            credentials, provenance = outcome
            basic = credentials.kind in (API_USER, MESSAGING_TOKEN)
            bearer = None if basic else _bearer_source(credentials)
            if basic:
                _warn_basic_once()
            auth[name] = ServiceAuth(credentials, provenance, bearer, self)
        by_alias = {alias: auth[name] for alias, name in _LOOKUP.items() if name in auth}
        return _Snapshot(
            auth,
            errors,
            by_alias,
            resolution,
            tuple(skipped),
            self._due_at(),
            self._stale_limit(),
        )

    def _due_at(self) -> float | None:
        times = [t for s in self._states for t in (s.expires_at, s.check_at) if t is not None]
        return min(times) if times else None

    def _stale_limit(self) -> float | None:
        limits = [
            s.expires_at + s.max_stale
            for s in self._states
            if s.expires_at is not None and s.max_stale is not None
        ]
        return min(limits) if limits else None

    # -- management -----------------------------------------------------------------

    def reload(self) -> None:
        """Fetch every source again now and replace the cached credentials.

        On failure the previous credentials stay in place and the error is raised.
        """
        self._resolve_shared(self._generation, force=True)

    def invalidate(self, seen: ServiceAuth | None = None) -> None:
        """Make the next ``get_auth()`` refresh now (what a client does after a 401).

        With ``seen`` (the object the caller was using), nothing happens if the cache
        has already moved past it, so many callers that saw the same 401 cause one fetch.
        """
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None:
                return
            if seen is not None and snapshot.auth.get(seen.service) is not seen:
                return
            self._invalidated = True
            for state in self._states:
                state.expires_at = float("-inf")  # every source is due
            self._snapshot = snapshot._replace(due_at=float("-inf"))

    def resolve(self) -> Resolution:
        """Return the full resolution (every service's outcome, notes, key report),
        resolving first if nothing is cached. Used by ``bwcreds check``/``explain``."""
        return self._current().resolution

    def skipped(self) -> tuple[str, ...]:
        """Optional sources that were skipped in the current resolution, with why."""
        return self._current().skipped

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is None or (snapshot.due_at is not None and self._clock() >= snapshot.due_at):
            snapshot = self._slow_path(snapshot)
        return snapshot

    def close(self) -> None:
        """Release every provider's clients."""
        for state in self._states:
            state.provider.close()

    def __repr__(self) -> str:
        return f"Resolver([{', '.join(repr(s.uri) for s in self.sources)}])"


class _Skipped(NamedTuple):
    reason: str


_default: Resolver | None = None
_default_lock = threading.Lock()


def _default_resolver() -> Resolver:
    global _default
    with _default_lock:
        if _default is None:
            _default = Resolver()
        return _default


def get_auth(service: str) -> ServiceAuth:
    """Return the ready auth object for a Bandwidth API from the default resolver.

    >>> from bandwidth_credentials import get_auth
    >>> voice = get_auth("voice")                                   # doctest: +SKIP
    >>> voice.url("calls")                                          # doctest: +SKIP
    'https://voice.bandwidth.com/api/v2/accounts/920012/calls'

    The default resolver reads ``BANDWIDTH_CREDENTIALS_SOURCES`` on first use (default
    ``env,dotenv:.env?optional=true``); :func:`configure` replaces it.
    """
    resolver = _default
    if resolver is None:
        resolver = _default_resolver()
    return resolver.get_auth(service)


async def aget_auth(service: str) -> ServiceAuth:
    """``await aget_auth("voice")``: :func:`get_auth` for asyncio code, sharing its cache."""
    resolver = _default
    if resolver is None:
        resolver = _default_resolver()
    return await resolver.aget_auth(service)


def configure(
    sources: str | Sequence[SourceLike] | None = None, *, resolver: Resolver | None = None
) -> Resolver:
    """Replace the default resolver used by :func:`get_auth`.

    Pass ``sources`` (URIs, highest precedence first) or a ready ``resolver``.
    ``configure()`` with neither re-reads ``BANDWIDTH_CREDENTIALS_SOURCES``.

    >>> configure(["vault:secret/bandwidth/prod", "env"])          # doctest: +SKIP
    """
    global _default
    if resolver is not None and sources is not None:
        raise TypeError("pass sources or resolver, not both")
    new = resolver if resolver is not None else Resolver(sources)
    with _default_lock:
        old, _default = _default, new
    if old is not None and old is not new:
        old.close()
    return new


def reload() -> None:
    """Fetch every source of the default resolver again now (see :meth:`Resolver.reload`)."""
    _default_resolver().reload()


def invalidate() -> None:
    """Make the default resolver's next ``get_auth()`` refresh (see :meth:`Resolver.invalidate`)."""
    _default_resolver().invalidate()
