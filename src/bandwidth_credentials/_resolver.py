"""``Resolver`` and ``get_auth()``: the source chain, the refresh policy and the auth factory,
put together behind a dictionary lookup.

The pieces, top to bottom: the :class:`~._chain.SourceChain` calls providers and knows
what is due; :func:`~._normalizer.normalize` applies the schema; :func:`~._factory.build_auth`
makes ``ServiceAuth`` objects; the :class:`~._refresh.RefreshPolicy` decides when all of
that runs and what callers get meanwhile. This module only wires them and keeps the hot
path: a snapshot read, a clock read (none when nothing is ever due) and one dictionary
lookup.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence  # the public API's annotations

from ._auth import Owner, ServiceAuth
from ._callback_auth import CallbackAuth
from ._callback_creds import CallbackCredentials, app_label
from ._chain import Failed, SourceChain
from ._errors import ConfigurationError, CredentialNotFoundError, SourceUnavailableError, fresh
from ._factory import build_auth, warn_basic_once
from ._keys import SCHEMA
from ._lifecycle import in_lambda, register_resolver
from ._log import logger
from ._normalizer import Resolution, log_notes, normalize
from ._provider import Source, parse_sources
from ._refresh import RefreshPolicy
from ._results import Verification
from ._schema import app_scope, canonical_service, document_services

__all__ = ["DEFAULT_SOURCES", "SOURCES_ENV", "Resolver"]

SOURCES_ENV = "BANDWIDTH_CREDENTIALS_SOURCES"
DEFAULT_SOURCES = "env,dotenv:.env?optional=true"
DISCOVERY_RETRY = 2.0  # seconds before a failed account discovery is tried again
#: What a caller waiting for a refresh of the sources that another caller runs allows
#: beyond the sources' own worst cases (seconds): local reads, and the token requests of
#: account discovery. The whole wait is this plus, for every source, twice its provider's
#: ``worst_case`` (a change check and a fetch; a ``vault:`` source's ``?timeout=60`` makes
#: that 2 x 184 s); a hung refresh costs its waiters a :class:`SourceUnavailableError`
#: after it, never their thread.
REFRESH_WAIT = 120.0
# Spellings a snapshot learns (``"Voice"``, ``" voice "``) on top of the canonical ones:
# bounded, so a caller inventing endless spellings cannot grow it.
_SPELLINGS_KEPT = 256
# Auth objects made for accounts callers chose (get_auth(service, account_id=...)), per
# snapshot: bounded, so a caller cycling through endless account ids cannot grow it.
_ACCOUNTS_KEPT = 256
_ACCOUNT_SPELLINGS_KEPT = 32  # per account


SourceLike = str | Source


def _holds(snapshot: _Snapshot, seen: ServiceAuth) -> bool:
    """Whether ``snapshot`` handed out ``seen`` (for its configured or a chosen account).
    Other threads add chosen accounts meanwhile: their dicts are copied (in one step
    under the GIL) before they are looked through, never iterated while live."""
    if snapshot.auth.get(seen.service) is seen:
        return True
    for spellings in tuple(snapshot.accounts.values()):
        if any(auth is seen for auth in tuple(spellings.values())):
            return True
    return False


_INF = float("inf")


class _Snapshot:
    """One resolution, ready to serve; never changed once built (``_replace`` copies).

    ``lookup_until`` is ``due_at``, or ``None`` when nothing is ever due (no source has a
    ``ttl`` or a change check, as with ``env`` alone): the lookup path then reads no clock.
    """

    __slots__ = (
        "accounts",
        "auth",
        "basic",
        "by_alias",
        "due_at",
        "errors",
        "generation",
        "lookup_until",
        "resolution",
        "retry",
        "skipped",
        "stale_limit",
    )

    def __init__(
        self,
        auth: dict[str, ServiceAuth],
        errors: dict[str, Exception],
        by_alias: dict[str, ServiceAuth],
        resolution: Resolution,
        skipped: tuple[str, ...],
        basic: bool,
        due_at: float,
        stale_limit: float,
        generation: int = 0,
        retry: bool = False,
    ) -> None:
        self.auth = auth
        self.errors = errors
        # Every accepted spelling of every ready service -> its auth: one lookup per call.
        self.by_alias = by_alias
        self.resolution = resolution
        self.skipped = skipped
        self.basic = basic
        self.due_at = due_at
        self.stale_limit = stale_limit
        self.generation = generation
        # A token request failed while discovering an account id from the access token.
        self.retry = retry
        self.lookup_until: float | None = None if due_at == _INF else due_at
        # account id -> spelling -> auth for that account (see Resolver.get_auth): two
        # subscripts, cheaper than building and hashing a tuple key on every call.
        self.accounts: dict[str, dict[str, ServiceAuth]] = {}

    def _replace(self, **changes: object) -> _Snapshot:
        new = _Snapshot.__new__(_Snapshot)
        for name in _Snapshot.__slots__:
            setattr(new, name, changes.get(name, getattr(self, name)))
        due_at = new.due_at
        new.lookup_until = None if due_at == _INF else due_at
        return new


# What the lookup path reads before the first resolution: always due, never served, so
# the lookup needs no "nothing cached yet" test.
_UNRESOLVED = _Snapshot({}, {}, {}, Resolution((), {}, (), ()), (), False, -_INF, -_INF)


def _callbacks_of(snapshot: _Snapshot, scope: str | None) -> CallbackCredentials:
    callbacks = snapshot.resolution.callbacks
    found = callbacks.get(scope)
    if found is None:
        # No names of its own: the shared credentials, still told as this application's
        # (its verifications carry its name; "nothing configured" names it).
        shared = callbacks[None]
        if isinstance(shared, CallbackCredentials):
            fast = shared.fast_result
            return shared._replace(
                app=scope, fast_result=None if fast is None else fast._replace(app=scope)
            )
        error = fresh(shared)
        if isinstance(error, CredentialNotFoundError):
            error.args = (str(error).replace(app_label(None), app_label(scope), 1),)
        raise error
    if isinstance(found, Exception):
        raise fresh(found)
    return found


def _spawn_thread(work: Callable[[], None]) -> None:
    import threading  # only for a background refresh: the first resolution runs inline

    threading.Thread(target=work, name="bandwidth-credentials-refresh", daemon=True).start()


class Resolver:
    """Resolves credentials from an ordered chain of sources and caches the result.

    >>> resolver = Resolver(["env", "dotenv:.env?optional=true"])
    >>> resolver.get_auth("voice").base_url                        # doctest: +SKIP
    'https://voice.bandwidth.com/api/v2/accounts/920012'

    ``sources`` is a list of source URIs or :class:`Source` objects (or one
    comma-separated string), highest precedence first. ``None`` reads
    ``BANDWIDTH_CREDENTIALS_SOURCES``, falling back to ``env,dotenv:.env?optional=true``.
    Nothing is fetched until the first ``get_auth()``. Raises :class:`ConfigurationError`
    here, not at the first ``get_auth()``, for a bad URI, an empty list, an unknown option
    or an unknown scheme (naming the plugin package to install).

    Thread-safe: concurrent callers share one resolution, so each source is fetched once
    however many threads ask at the same moment. Fork-safe: a child starts with fresh
    locks. ``clock`` (monotonic seconds) and ``spawn`` (runs a background refresh; by
    default on a daemon thread) exist so tests can drive time and refreshes; ``inline``
    runs due refreshes in the calling thread (default: when running in AWS Lambda).
    ``offline`` resolves without a token request of its own: OAuth services whose account
    id only the access token can name stay in ``resolve().pending`` (``get_auth()`` raises
    :class:`CredentialNotFoundError` for them) instead of being settled from a token, as
    ``bwcreds check`` and ``explain`` show them without ``--online``.

    ``refresh_wait`` (seconds) is how long a caller waits for a refresh another caller
    runs before a :class:`SourceUnavailableError`: :data:`REFRESH_WAIT` (120 s) plus
    twice each source's ``Provider.worst_case``, so a long ``?timeout=`` is outwaited::

        >>> Resolver(["env"]).refresh_wait
        120.0
    """

    def __init__(
        self,
        sources: str | Sequence[SourceLike] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], None]], None] = _spawn_thread,
        inline: bool | None = None,
        offline: bool = False,
    ) -> None:
        if sources is None:
            sources = os.environ.get(SOURCES_ENV) or DEFAULT_SOURCES
        parsed = parse_sources(sources)
        for source in parsed:
            source.flag("optional", False)  # options the resolver acts on, checked now
        self.sources: tuple[Source, ...] = parsed
        self._clock = clock
        self._chain = SourceChain(parsed, SCHEMA, clock)
        #: Seconds a caller waits for a refresh another caller runs (see REFRESH_WAIT).
        self.refresh_wait = REFRESH_WAIT + self._chain.worst_case()
        self._policy: RefreshPolicy[_Snapshot] = RefreshPolicy(
            self._build,
            self._chain.stale_limit,
            clock=clock,
            spawn=spawn,
            inline=in_lambda() if inline is None else inline,
            publish=self._published,
            wait_limit=self.refresh_wait,
            stalled=self._stalled,
        )
        self._owner: Owner = self
        self._discover = not offline
        self._cached = _UNRESOLVED  # the policy's snapshot, for the lookup path
        register_resolver(self)

    # -- the hot path -------------------------------------------------------------

    def get_auth(self, service: str, account_id: str | None = None) -> ServiceAuth:
        """Return the ready auth object for one Bandwidth API.

        >>> resolver = Resolver(["dotenv:examples/example.env"])
        >>> resolver.get_auth("Numbers").url("orders")              # doctest: +SKIP
        'https://dashboard.bandwidth.com/api/accounts/920012/orders'

        ``service`` is one of {services}; case-insensitive, with ``-``, ``_`` and spaces
        interchangeable, and aliases such as ``sms`` or ``brtc`` accepted.

        ``account_id`` (a numeric account id) asks for that account with the service's
        credentials, as the official CLI's ``--account-id`` does: a client credential's
        token may list several (its ``accounts`` claim). For OAuth it is checked against
        that claim when the token lists any (which may request the token once); every
        account shares the client's one token manager. A static access token is checked
        against its own claim; Basic credentials and an opaque static token carry no
        account list, so nothing is checked for them. Any kind takes ``account_id`` when
        no account id is configured. Without it: the configured account, else
        the token's only account, else :class:`CredentialNotFoundError` listing them.
        Objects made for a chosen account are cached (up to 256 per resolution), so a
        repeated call is a lookup too.

        The first call resolves every source (concurrent callers share it: one fetch per
        source); later calls are a dictionary lookup until a source is due. A due source
        is refreshed in the background while callers keep the current credentials (in
        Lambda, inline in the calling thread).

        Raises :class:`UnknownServiceError` (also a ``ValueError``) for an unknown name,
        :class:`CredentialNotFoundError` when no source has complete credentials for the
        service, :class:`InvalidCredentialsError` for an unusable value,
        :class:`ConfigurationError` for conflicting keys in one source, and a
        :class:`SourceError` subclass when a source that is not ``optional`` fails and
        there is nothing (or nothing recent enough, ``max_stale``) to fall back on. With
        ``account_id``: :class:`CredentialNotFoundError` naming the account, the client
        and the token's accounts when the token does not list it,
        :class:`InvalidCredentialsError` for an id that is not a string of at most 20
        ASCII digits, and
        :class:`TokenError` when no token can be had to check it.
        """
        snapshot = self._cached
        until = snapshot.lookup_until
        if until is not None:
            clock = self._clock  # then called: faster than self._clock() (an attribute)
            if clock() >= until:
                snapshot = self._current()
        if account_id is not None:
            try:
                return snapshot.accounts[account_id][service]
            except (KeyError, TypeError):  # TypeError: an unhashable id, refused there
                return self._for_account(snapshot, service, account_id)
        try:
            return snapshot.by_alias[service]  # a subscript: cheaper than .get() when found
        except KeyError:
            pass
        name = canonical_service(service)  # other casing, or UnknownServiceError
        auth = snapshot.auth.get(name)
        if auth is None:
            raise fresh(snapshot.errors[name])
        if type(service) is str and len(snapshot.by_alias) < _SPELLINGS_KEPT:
            snapshot.by_alias[service] = auth  # this spelling is a lookup from now on
        return auth

    def _for_account(self, snapshot: _Snapshot, service: str, account_id: str) -> ServiceAuth:
        """Make (and cache in ``snapshot``) the auth of ``service`` for ``account_id``."""
        name = canonical_service(service)  # UnknownServiceError for an unknown name
        auth = snapshot.auth.get(name)
        if auth is None or auth.account_id != account_id:
            resolution = snapshot.resolution
            outcome = resolution.services.get(name)
            if isinstance(outcome, Exception) or outcome is None:
                # No account id configured: the caller names it (OAuth waiting for the
                # token to name one, or a static token or Basic pair with none).
                outcome = resolution.pending.get(name) or resolution.unbound.get(name)
            if outcome is None:
                raise fresh(snapshot.errors[name])
            from ._factory import account_auth

            credentials, provenance = outcome
            chosen = account_auth(
                credentials, provenance, account_id, self._owner, resolution.sources
            )
            # The configured account in another spelling (" 920012"): the configured auth.
            auth = auth if auth is not None and auth.account_id == chosen.account_id else chosen
        if type(service) is str and type(account_id) is str:
            cache = snapshot.accounts
            spellings = cache.get(account_id)
            if spellings is None:
                if len(cache) >= _ACCOUNTS_KEPT:
                    cache.clear()  # a flood of accounts: make them again rather than grow
                spellings = cache[account_id] = {}
            if len(spellings) < _ACCOUNT_SPELLINGS_KEPT:
                spellings[service] = auth
        return auth

    def get_auth_nowait(self, service: str, account_id: str | None = None) -> ServiceAuth | None:
        """The cached auth for ``service`` when it can be had without any wait (nothing
        due, no refresh to join), else ``None``. For event loops: never blocks, never
        fetches.

        >>> resolver.get_auth_nowait("voice") is None               # doctest: +SKIP
        True

        Raises :class:`UnknownServiceError` for an unknown name (once something is cached).
        """
        snapshot = self._policy.peek()
        if snapshot is None:
            return None
        if account_id is not None:
            try:
                return snapshot.accounts.get(account_id, {}).get(service)
            except TypeError:  # an unhashable id: get_auth() says why
                return None
        return snapshot.by_alias.get(service) or snapshot.auth.get(canonical_service(service))

    async def aget_auth(self, service: str, account_id: str | None = None) -> ServiceAuth:
        """:meth:`get_auth` for asyncio code: the same cache and single-flight. A cached
        answer is returned without leaving the event loop; a fetch runs in a worker thread
        so the loop keeps running.

        >>> voice = await resolver.aget_auth("voice")               # doctest: +SKIP

        Raises what :meth:`get_auth` raises: :class:`UnknownServiceError`,
        :class:`CredentialNotFoundError`, :class:`InvalidCredentialsError`,
        :class:`ConfigurationError` or a :class:`SourceError` subclass.
        """
        auth = self.get_auth_nowait(service, account_id)
        if auth is not None:
            return auth
        import asyncio  # only asyncio users pay for importing it

        return await asyncio.to_thread(self.get_auth, service, account_id)

    def _stalled(self) -> SourceUnavailableError:
        uris = ", ".join(source.uri for source in self.sources)
        return SourceUnavailableError(
            f"gave up waiting {self.refresh_wait:g} s for the refresh of {uris} in progress",
            source=uris,
        )

    # -- callbacks ------------------------------------------------------------------

    def get_callback_auth(self, app: str | None = None) -> CallbackAuth:
        """The verifier of Bandwidth's callbacks to ``app`` (see
        :func:`bandwidth_credentials.get_callback_auth`), reading this resolver.

        >>> Resolver(["env"]).get_callback_auth("sales").verify(headers, body)  # doctest: +SKIP

        Nothing is fetched here. Raises ``ValueError`` for an application name with no
        ASCII letter or digit.
        """
        return CallbackAuth(self, app_scope(app), fixed=True)

    def _callback_resolver(self) -> Resolver:
        return self

    def _callback_credentials(self, scope: str | None) -> CallbackCredentials:
        snapshot = self._cached
        until = snapshot.lookup_until
        if until is not None and self._clock() >= until:
            snapshot = self._current()
        return _callbacks_of(snapshot, scope)

    def _callback_credentials_nowait(self, scope: str | None) -> CallbackCredentials | None:
        snapshot = self._cached
        until = snapshot.lookup_until
        if until is not None and self._clock() >= until:
            return None
        return _callbacks_of(snapshot, scope)

    def _published(self, snapshot: _Snapshot) -> None:
        self._cached = snapshot

    def _current(self) -> _Snapshot:
        snapshot = self._policy.current()
        if snapshot.basic:
            warn_basic_once()
        return snapshot

    # -- building a snapshot ------------------------------------------------------------

    def _build(self, force: bool) -> _Snapshot:
        now = self._clock()
        chain = self._chain
        due = chain.due(now, force)
        previous = self._policy.snapshot
        if previous is not None and not due:
            # Only change checks ran and nothing moved: same credentials, new deadlines.
            same = previous._replace(due_at=chain.due_at(), stale_limit=chain.stale_limit())
            if not previous.retry:
                return same
            # A token request failed while discovering an account id: only that is retried.
            built = build_auth(previous.resolution, self._owner)
            return same._replace(
                accounts={},
                auth=built.auth,
                errors=built.errors,
                by_alias=built.by_alias,
                resolution=built.resolution,
                due_at=self._due_at(built.retry, now),
                retry=built.retry,
            )
        results = chain.fetch(due)
        failed = [i for i, r in results.items() if isinstance(r, Failed) and not r.optional]
        if failed:
            chain.mark_failed(failed, now)
            failure = results[failed[0]]
            assert isinstance(failure, Failed)
            raise failure.error
        try:
            resolution = normalize(chain.current(results), chain.outcomes(results))
            built = build_auth(resolution, self._owner, discover=self._discover)
        except ConfigurationError:
            # New values that do not normalize: nothing is committed, the old values age.
            chain.mark_failed(due, now)
            raise
        chain.commit(results, now)
        for result in results.values():
            if isinstance(result, Failed):
                logger.info("optional source skipped: %s", result.error)
        log_notes(resolution.notes)
        return _Snapshot(
            built.auth,
            built.errors,
            built.by_alias,
            built.resolution,
            chain.skipped(),
            built.basic,
            self._due_at(built.retry, now),
            chain.stale_limit(),
            retry=built.retry,
        )

    def _due_at(self, retry: bool, now: float) -> float:
        due_at = self._chain.due_at()
        return min(due_at, now + DISCOVERY_RETRY) if retry else due_at

    # -- management -----------------------------------------------------------------

    def reload(self) -> None:
        """Fetch every source again now and replace the cached credentials.

        >>> resolver.reload()                                       # doctest: +SKIP

        On failure the previous credentials stay in place and the error is raised: a
        :class:`SourceError` subclass for a required source that failed,
        :class:`ConfigurationError` or :class:`InvalidCredentialsError` for new values
        that do not normalize.
        """
        self._policy.refresh()

    def invalidate(self, seen: ServiceAuth | None = None) -> None:
        """Make the next ``get_auth()`` fetch every source again (what a client does after
        a 401), and not serve the credentials it has meanwhile.

        With ``seen`` (the object the caller was using), nothing happens if the cache
        has already moved past it, so many callers that saw the same 401 cause one fetch.
        Nothing is fetched here and nothing is raised.

        >>> resolver.invalidate(auth)                               # doctest: +SKIP
        """
        if seen is None:
            self._policy.invalidate()
        else:
            self._policy.invalidate(lambda snap: _holds(snap, seen))

    def resolve(self) -> Resolution:
        """Return the full resolution (every service's outcome, notes, key report),
        resolving first if nothing is cached. Used by ``bwcreds check``/``explain``.

        >>> resolver.resolve().notes                                # doctest: +SKIP

        Raises what a first :meth:`get_auth` raises for a source: a :class:`SourceError`
        subclass or :class:`ConfigurationError` (per-service problems are in the result,
        not raised).
        """
        return self._snapshot().resolution

    def verify(
        self, services: Sequence[str] | None = None, account_id: str | None = None
    ) -> list[Verification]:
        """Check this resolver's credentials against Bandwidth (one token request for
        OAuth, one GET of the account resource for Basic): see
        :func:`bandwidth_credentials.verify` for the outcomes and errors.

        >>> Resolver(["env"]).verify(["voice"])[0].ready              # doctest: +SKIP
        True
        """
        from ._verify import verify

        return verify(services, resolver=self, account_id=account_id)

    def skipped(self) -> tuple[str, ...]:
        """Optional sources that were skipped in the current resolution, with why (one
        text per source: its URI and the error's message).

        >>> Resolver(["env", "dotenv:missing.env?optional=true"]).skipped()  # doctest: +SKIP

        Resolves first if nothing is cached, so it raises what :meth:`resolve` raises.
        """
        return self._snapshot().skipped

    def _snapshot(self) -> _Snapshot:
        snapshot = self._policy.snapshot
        if snapshot is None or self._clock() >= snapshot.due_at:
            snapshot = self._current()
        return snapshot

    def close(self) -> None:
        """Release every provider's clients (HTTP sessions, SDK clients). Never raises.

        >>> resolver.close()                                        # doctest: +SKIP
        """
        self._chain.close()

    def _after_fork(self) -> None:
        self._policy.after_fork()
        self._chain.after_fork()

    def _after_restore(self) -> None:
        # Not invalidate(): a failure and its backoff window are as old as the snapshot
        # too, and an invalidation within that window would wait for it to pass.
        self._policy.forget()

    def __repr__(self) -> str:
        return f"Resolver([{', '.join(repr(s.uri) for s in self.sources)}])"


document_services(Resolver.get_auth)
