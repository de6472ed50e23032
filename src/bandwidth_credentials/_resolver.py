"""The resolver: the source chain, caching, single-flight resolution, and ``get_auth()``."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._auth import ServiceAuth
from ._errors import CredentialsError, SourceError
from ._normalizer import Resolution, ServiceCredentials, normalize
from ._provider import Fetched, Provider, Source, parse_sources
from ._registry import provider_class
from ._services import _LOOKUP, ACCESS_TOKEN, canonical_service

__all__ = ["DEFAULT_SOURCES", "SOURCES_ENV", "Resolver", "configure", "get_auth", "reload"]

SOURCES_ENV = "BANDWIDTH_CREDENTIALS_SOURCES"
DEFAULT_SOURCES = "env,dotenv:.env?optional=true"

logger = logging.getLogger("bandwidth_credentials")

SourceLike = str | Source


@dataclass(frozen=True)
class _Snapshot:
    auth: dict[str, ServiceAuth]
    errors: dict[str, Exception]
    resolution: Resolution
    skipped: tuple[str, ...]
    expires_at: float | None  # monotonic deadline; None means never


def _bearer_source(credentials: ServiceCredentials) -> Callable[[], str] | None:
    if credentials.kind == ACCESS_TOKEN:
        assert credentials.access_token is not None
        token = credentials.access_token.get_secret_value()
        return lambda: token
    from ._oauth import token_source

    return token_source(credentials)


class Resolver:
    """Resolves credentials from an ordered chain of sources and caches the result.

    >>> resolver = Resolver(["env", "dotenv:.env?optional=true"])
    >>> resolver.get_auth("voice").base_url                        # doctest: +SKIP
    'https://voice.bandwidth.com/api/v2/accounts/920012'

    ``sources`` is a list of source URIs (or a comma-separated string), highest
    precedence first. ``None`` reads ``BANDWIDTH_CREDENTIALS_SOURCES``, falling back to
    ``env,dotenv:.env?optional=true``. Bad URIs and unknown schemes raise
    :class:`ConfigurationError` here, not at the first ``get_auth()``.

    Thread-safe: concurrent callers that find no cached result share one resolution,
    so each source is fetched once however many threads ask at the same moment.
    """

    def __init__(
        self,
        sources: str | Sequence[SourceLike] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
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
            # The options the resolver itself acts on, checked now rather than when used.
            source.flag("optional", False)
            source.number("ttl", None)
            source.number("max_stale", None)
        self.sources: tuple[Source, ...] = parsed
        self._providers: tuple[Provider, ...] = tuple(
            provider_class(source.scheme)(source) for source in parsed
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._generation = 0
        self._failure: BaseException | None = None

    # -- the hot path -------------------------------------------------------------

    def get_auth(self, service: str) -> ServiceAuth:
        """Return the ready auth object for ``service`` (``voice``, ``messaging``,
        ``numbers``, ``account``; case-insensitive aliases allowed).

        The first call resolves every source; later calls are a dictionary lookup until
        the cached values expire. Raises :class:`CredentialNotFoundError` when no source
        has complete credentials for the service, :class:`UnknownServiceError` (also a
        ``ValueError``) for an unknown name, and a :class:`SourceError` when a source
        that is not ``optional`` fails.
        """
        snapshot = self._snapshot
        if snapshot is None or (
            snapshot.expires_at is not None and self._clock() >= snapshot.expires_at
        ):
            snapshot = self._refresh(self._generation, snapshot)
        name = _LOOKUP.get(service)
        if name is None:
            name = canonical_service(service)
        auth = snapshot.auth.get(name)
        if auth is None:
            raise snapshot.errors[name].with_traceback(None)
        return auth

    # -- resolution ------------------------------------------------------------------

    def _refresh(self, seen_generation: int, seen: _Snapshot | None) -> _Snapshot:
        with self._lock:
            if self._generation != seen_generation or self._snapshot is not seen:
                # Another thread resolved while this one waited: share its outcome.
                if self._snapshot is not None and self._snapshot is not seen:
                    return self._snapshot
                if self._failure is not None:
                    raise self._failure
            try:
                snapshot = self._resolve_now()
            except BaseException as exc:
                self._failure = exc
                raise
            finally:
                self._generation += 1
            self._failure = None
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

    def _resolve_now(self) -> _Snapshot:
        fetched: list[tuple[Source, Fetched]] = []
        skipped: list[str] = []
        now = self._clock()
        expires: float | None = None
        for provider in self._providers:
            source = provider.source
            try:
                result = self._fetch(provider)
            except SourceError as exc:
                if not source.optional:
                    raise
                skipped.append(f"{source.uri} skipped (optional): {exc}")
                logger.info("optional source skipped: %s", exc)
                continue
            fetched.append((source, result))
            ttl = source.number("ttl", provider.default_ttl)
            if ttl is not None:
                deadline = now + ttl
                expires = deadline if expires is None else min(expires, deadline)
        resolution = normalize(fetched)
        auth: dict[str, ServiceAuth] = {}
        errors: dict[str, Exception] = {}
        for name, outcome in resolution.services.items():
            if isinstance(outcome, Exception):
                errors[name] = outcome
                continue
            credentials, provenance = outcome
            bearer = (
                None
                if credentials.kind in ("api_user", "messaging_token")
                else (_bearer_source(credentials))
            )
            auth[name] = ServiceAuth(credentials, provenance, bearer)
        return _Snapshot(auth, errors, resolution, tuple(skipped), expires)

    # -- management -----------------------------------------------------------------

    def reload(self) -> None:
        """Fetch every source again now and replace the cached credentials.

        On failure the previous credentials stay in place and the error is raised.
        """
        with self._lock:
            snapshot = self._resolve_now()
            self._snapshot = snapshot
            self._failure = None
            self._generation += 1

    def resolve(self) -> Resolution:
        """Return the full resolution (every service's outcome, notes, key report),
        resolving first if nothing is cached. Used by ``bwcreds check``/``explain``."""
        return self._current().resolution

    def skipped(self) -> tuple[str, ...]:
        """Optional sources that were skipped in the current resolution, with why."""
        return self._current().skipped

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            snapshot = self._refresh(self._generation, None)
        return snapshot

    def close(self) -> None:
        """Release every provider's clients."""
        for provider in self._providers:
            provider.close()

    def __repr__(self) -> str:
        return f"Resolver([{', '.join(repr(s.uri) for s in self.sources)}])"


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
