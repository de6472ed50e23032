"""The default resolver behind ``get_auth()``, and the handle that follows ``configure()``.

Auth objects and adapters (``httpx_auth()``, ``requests_auth()``, ``sdk_configuration()``)
made by the default resolver refer to :data:`DEFAULT`, not to one resolver: after
``configure()`` replaces the resolver, ``ServiceAuth.current()`` and every adapter handed
out earlier use the new one.
"""

from __future__ import annotations

import _thread
import time
from collections.abc import Callable, Iterable, Sequence  # the public API's annotations

from ._auth import ServiceAuth
from ._callback_auth import DEFAULT_RESOLVER, CallbackAuth
from ._callback_creds import CallbackCredentials
from ._lifecycle import on_fork
from ._resolver import Resolver, SourceLike
from ._results import Verification
from ._schema import app_scope, document_services

__all__ = [
    "DEFAULT",
    "aget_auth",
    "configure",
    "get_auth",
    "get_callback_auth",
    "invalidate",
    "reload",
    "verify",
]

_default: Resolver | None = None
# What the lookup path reads: the default resolver with its clock, as one object, so a
# lookup racing configure() never compares one resolver's deadline with another's clock.
# Calling the clock from here costs about 10 ns less per get_auth() than calling it
# through the resolver's attribute (a tenth of the whole lookup).
_lookup: tuple[Resolver, Callable[[], float]] | None = None
_lock = _thread.allocate_lock()


def _reset_lock() -> None:
    global _lock
    _lock = _thread.allocate_lock()


on_fork(_reset_lock)


def _install(resolver: Resolver | None) -> Resolver | None:
    """Make ``resolver`` the default (the caller holds ``_lock``); returns the previous one."""
    global _default, _lookup
    previous, _default = _default, resolver
    _lookup = None if resolver is None else (resolver, resolver._clock)
    DEFAULT_RESOLVER[0] = resolver
    return previous


def _resolver() -> Resolver:
    with _lock:
        if _default is None:
            new = Resolver()
            new._owner = DEFAULT
            _install(new)
            return new
        return _default


class _DefaultHandle:
    """Stands for "whatever resolver is the default now"."""

    __slots__ = ()

    def get_auth(self, service: str, account_id: str | None = None) -> ServiceAuth:
        return get_auth(service, account_id)

    def get_auth_nowait(self, service: str, account_id: str | None = None) -> ServiceAuth | None:
        resolver = _default
        return None if resolver is None else resolver.get_auth_nowait(service, account_id)

    def invalidate(self, seen: ServiceAuth | None = None) -> None:
        resolver = _default
        if resolver is not None:
            resolver.invalidate(seen)

    def _callback_resolver(self) -> Resolver:
        resolver = _default
        return resolver if resolver is not None else _resolver()

    def _callback_credentials(self, scope: str | None) -> CallbackCredentials:
        return self._callback_resolver()._callback_credentials(scope)

    def _callback_credentials_nowait(self, scope: str | None) -> CallbackCredentials | None:
        resolver = _default
        return None if resolver is None else resolver._callback_credentials_nowait(scope)

    def __repr__(self) -> str:
        return "<the default resolver>"


DEFAULT = _DefaultHandle()


def get_auth(service: str, account_id: str | None = None) -> ServiceAuth:
    """Return the ready auth object for one Bandwidth API, from the default resolver.

    >>> from bandwidth_credentials import get_auth
    >>> voice = get_auth("voice")                                   # doctest: +SKIP
    >>> voice.url("calls")                                          # doctest: +SKIP
    'https://voice.bandwidth.com/api/v2/accounts/920012/calls'
    >>> requests.post(voice.url("calls"), headers=voice.headers(), json=call)  # doctest: +SKIP

    ``service`` is one of {services}; case-insensitive, with ``-``, ``_`` and spaces
    interchangeable, and aliases such as ``sms`` or ``brtc`` accepted. The returned
    :class:`ServiceAuth` carries ``base_url`` (the API's base URL for the account, from
    each API's reference), ``headers()`` and ``scheme`` (``"basic"`` or ``"bearer"``).

    ``account_id`` asks for another account with the same credentials (a client
    credential's token may list several, in its ``accounts`` claim), checked against that
    claim when the token lists any; see :meth:`Resolver.get_auth`. Without it, the
    configured account, else the token's only one.

    >>> get_auth("voice", account_id="920013").base_url             # doctest: +SKIP
    'https://voice.bandwidth.com/api/v2/accounts/920013'

    The default resolver reads ``BANDWIDTH_CREDENTIALS_SOURCES`` on first use (default
    ``env,dotenv:.env?optional=true``); :func:`configure` replaces it. The first call
    resolves every source (concurrent first callers share that one resolution); later
    calls are a dictionary lookup until a source is due (its ``ttl``, default 300 s for
    remote stores, or a change check every 5 s for files).

    Raises:
        UnknownServiceError: (also a ``ValueError``) an unknown name; ``.valid`` lists
            the canonical ones.
        CredentialNotFoundError: no source holds complete credentials for the service;
            ``.sources`` and ``.notes`` say what was consulted and ignored; or the access
            token does not list ``account_id`` (the note names it and the listed ones).
        InvalidCredentialsError: a value is unusable (a non-numeric account id).
        ConfigurationError: a bad source list, or one source with two values for a field.
        SourceError: a subclass (``SourceNotFoundError``, ``SourceAccessDeniedError``,
            ``SourceAuthenticationError``, ``SourceFormatError``,
            ``SourceUnavailableError``) when a required source fails with nothing recent
            enough (``max_stale``, default 3600 s) to fall back on.
    """
    lookup = _lookup
    if lookup is not None:
        # The lookup path inline (this is every API call's cost): a fresh snapshot and a
        # spelling seen before answer with one dict lookup; anything else asks the resolver.
        resolver, clock = lookup
        snapshot = resolver._cached
        until = snapshot.lookup_until
        if until is None or clock() < until:
            try:
                if account_id is None:
                    return snapshot.by_alias[service]  # a subscript: cheaper than .get()
                return snapshot.accounts[account_id][service]
            except (KeyError, TypeError):  # TypeError: an unhashable id, refused below
                pass
        return resolver.get_auth(service, account_id)
    return _resolver().get_auth(service, account_id)


def get_callback_auth(app: str | None = None) -> CallbackAuth:
    """Return the verifier of Bandwidth's callbacks (webhooks) to your application.

    >>> from bandwidth_credentials import get_callback_auth
    >>> callbacks = get_callback_auth(app="sales")                  # doctest: +SKIP
    >>> callbacks.verify(request.headers, request.get_data()).scheme  # doctest: +SKIP
    'basic'

    ``app`` selects an application's own credentials (``BW_SALES_CALLBACK_USERNAME``,
    store key ``salesCallbackUsername``), each scheme falling back to the shared ones
    (``BW_CALLBACK_USERNAME``); ``None`` uses the shared ones. The credentials come from
    the default resolver's sources (the same as :func:`get_auth`) and follow its refreshes
    and :func:`configure`: a rotated value is accepted without a restart. Nothing is
    fetched here.

    Raises ``ValueError`` for an application name with no ASCII letter or digit. The
    returned :class:`CallbackAuth` raises :class:`CallbackAuthError` for a refused
    request and :class:`CredentialNotFoundError` when nothing is configured.
    """
    return CallbackAuth(DEFAULT, app_scope(app))


async def aget_auth(service: str, account_id: str | None = None) -> ServiceAuth:
    """:func:`get_auth` for asyncio code: ``voice = await aget_auth("voice")``.

    >>> voice = await aget_auth("voice")                            # doctest: +SKIP
    >>> async with httpx.AsyncClient(auth=voice.httpx_auth()) as client:  # doctest: +SKIP
    ...     await client.post(voice.url("calls"), json=call)

    It shares the default resolver's cache and single flight. A cached answer is
    returned without leaving the event loop; a fetch (the first one, or one that must
    block) runs in a worker thread, so the loop keeps serving other tasks meanwhile.
    ``service`` is one of {services} (aliases as for :func:`get_auth`).

    Raises what :func:`get_auth` raises: :class:`UnknownServiceError`,
    :class:`CredentialNotFoundError`, :class:`InvalidCredentialsError`,
    :class:`ConfigurationError`, or a :class:`SourceError` subclass.
    """
    resolver = _default
    if resolver is None:
        resolver = _resolver()
    return await resolver.aget_auth(service, account_id)


def configure(
    sources: str | Sequence[SourceLike] | None = None, *, resolver: Resolver | None = None
) -> Resolver:
    """Replace the default resolver used by :func:`get_auth`; returns the new one.

    >>> configure(["vault:secret/bandwidth/prod", "env"])          # doctest: +SKIP
    Resolver(['vault:secret/bandwidth/prod', 'env'])
    >>> configure("env,dotenv:/etc/bandwidth/.env")                 # doctest: +SKIP

    Pass ``sources`` (a list of URIs or one comma-separated string, highest precedence
    first) or a ready ``resolver``. ``configure()`` with neither re-reads
    ``BANDWIDTH_CREDENTIALS_SOURCES``. Nothing is fetched here: the first ``get_auth()``
    resolves. The previous default resolver is closed; auth objects and adapters it
    handed out follow the new one.

    Raises :class:`ConfigurationError` for a bad source URI, an unknown option or an
    unknown scheme (naming the plugin package to install), and ``TypeError`` when both
    ``sources`` and ``resolver`` are given.
    """
    if resolver is not None and sources is not None:
        raise TypeError("pass sources or resolver, not both")
    new = resolver if resolver is not None else Resolver(sources)
    new._owner = DEFAULT
    with _lock:
        old = _install(new)
    if old is not None and old is not new:
        old.close()
    return new


def reload() -> None:
    """Fetch every source of the default resolver again now (see :meth:`Resolver.reload`).

    >>> reload()                                                    # doctest: +SKIP

    On failure the previous credentials stay in place and the error is raised: a
    :class:`SourceError` subclass, :class:`ConfigurationError` (also for a bad
    ``BANDWIDTH_CREDENTIALS_SOURCES`` when no resolver existed yet) or
    :class:`InvalidCredentialsError`.
    """
    _resolver().reload()


def invalidate() -> None:
    """Make the default resolver's next ``get_auth()`` fetch every source again (see
    :meth:`Resolver.invalidate`); nothing is fetched here.

    >>> invalidate()                                                # doctest: +SKIP

    Raises :class:`ConfigurationError` only when no resolver existed yet and
    ``BANDWIDTH_CREDENTIALS_SOURCES`` is malformed.
    """
    _resolver().invalidate()


def verify(
    services: Iterable[str] | None = None,
    *,
    resolver: Resolver | None = None,
    clock: Callable[[], float] = time.time,
    account_id: str | None = None,
) -> list[Verification]:
    """Check each service's credentials against Bandwidth before the first real call.

    >>> [r.outcome for r in verify(["voice"])]                       # doctest: +SKIP
    ['verified']

    OAuth client credentials: one token request (the shared token manager's, so the
    application reuses the token); its ``accounts`` claim must list the account, and a
    Build account (``express``) is ready for voice only. A static access token: its claims
    are read, nothing is sent. Basic: one ``GET`` of the Numbers account resource, no
    redirects (200 verified, 401/403 refused, anything else unverified); from 2026-12-02
    (Bandwidth decommissioned API users), Basic credentials bound for Bandwidth's hosts
    are not sent and are ``unavailable``, never ready.

    ``services``: names or aliases (default: every service), each checked once, in the
    order given. ``resolver``: default, the one behind ``get_auth()``. ``clock``: epoch
    seconds, for a static token's expiry. ``account_id``: check that account with the
    configured credentials (as ``get_auth(service, account_id=...)``: a token that does
    not list it leaves the service ``unresolved``, naming the listed ones). Returns one
    :class:`Verification` per service; problems with one service are in its result.
    Raises :class:`UnknownServiceError` for an unknown name and :class:`ConfigurationError`
    for a configuration that cannot work (bad source URI, conflicting keys). Network
    waits: 10 s per request.
    """
    from ._verify import verify as check  # the online check's module, on first use

    chosen = _resolver() if resolver is None else resolver
    return check(services, resolver=chosen, clock=clock, account_id=account_id)


document_services(get_auth)
document_services(aget_auth)
