"""The default resolver behind ``get_auth()``, and the handle that follows ``configure()``.

Auth objects and adapters (``httpx_auth()``, ``requests_auth()``, ``sdk_configuration()``)
made by the default resolver refer to :data:`DEFAULT`, not to one resolver: after
``configure()`` replaces the resolver, ``ServiceAuth.current()`` and every adapter handed
out earlier use the new one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ._auth import ServiceAuth
from ._lifecycle import on_fork
from ._resolver import Resolver, SourceLike
from ._schema import SERVICE_NAMES

__all__ = ["DEFAULT", "aget_auth", "configure", "get_auth", "invalidate", "reload"]

_default: Resolver | None = None
_lock = threading.Lock()


def _reset_lock() -> None:
    global _lock
    _lock = threading.Lock()


on_fork(_reset_lock)


def _resolver() -> Resolver:
    global _default
    with _lock:
        if _default is None:
            _default = Resolver()
            _default._owner = DEFAULT
        return _default


class _DefaultHandle:
    """Stands for "whatever resolver is the default now"."""

    __slots__ = ()

    def get_auth(self, service: str) -> ServiceAuth:
        return get_auth(service)

    def get_auth_nowait(self, service: str) -> ServiceAuth | None:
        resolver = _default
        return None if resolver is None else resolver.get_auth_nowait(service)

    def invalidate(self, seen: ServiceAuth | None = None) -> None:
        resolver = _default
        if resolver is not None:
            resolver.invalidate(seen)

    def __repr__(self) -> str:
        return "<the default resolver>"


DEFAULT = _DefaultHandle()


def get_auth(service: str) -> ServiceAuth:
    """Return the ready auth object for a Bandwidth API from the default resolver.

    >>> from bandwidth_credentials import get_auth
    >>> voice = get_auth("voice")                                   # doctest: +SKIP
    >>> voice.url("calls")                                          # doctest: +SKIP
    'https://voice.bandwidth.com/api/v2/accounts/920012/calls'

    ``service`` is one of {services} (case-insensitive; aliases such as ``sms`` or
    ``brtc`` work too). The default resolver reads ``BANDWIDTH_CREDENTIALS_SOURCES`` on
    first use (default ``env,dotenv:.env?optional=true``); :func:`configure` replaces it.
    The first call resolves every source; later calls are a dictionary lookup.

    Raises :class:`UnknownServiceError` (also a ``ValueError``) for an unknown name,
    :class:`CredentialNotFoundError` when no source holds complete credentials for the
    service, :class:`InvalidCredentialsError` for an unusable value,
    :class:`ConfigurationError` for a bad source list or conflicting keys, and a
    :class:`SourceError` subclass when a required source fails with nothing recent
    enough to fall back on.
    """
    resolver = _default
    if resolver is None:
        resolver = _resolver()
    return resolver.get_auth(service)


async def aget_auth(service: str) -> ServiceAuth:
    """``await aget_auth("voice")``: :func:`get_auth` for asyncio code.

    It shares the default resolver's cache and single flight. A cached answer is
    returned without leaving the event loop; a fetch (the first one, or one that must
    block) runs in a worker thread, so the loop keeps serving other tasks meanwhile.
    ``service`` and the errors raised are as for :func:`get_auth`.

    >>> voice = await aget_auth("voice")                            # doctest: +SKIP
    """
    resolver = _default
    if resolver is None:
        resolver = _resolver()
    return await resolver.aget_auth(service)


def configure(
    sources: str | Sequence[SourceLike] | None = None, *, resolver: Resolver | None = None
) -> Resolver:
    """Replace the default resolver used by :func:`get_auth`.

    Pass ``sources`` (URIs, highest precedence first) or a ready ``resolver``.
    ``configure()`` with neither re-reads ``BANDWIDTH_CREDENTIALS_SOURCES``. Auth
    objects and adapters handed out by the previous default resolver follow the new one.
    Raises :class:`ConfigurationError` for a bad source URI or an unknown scheme.

    >>> configure(["vault:secret/bandwidth/prod", "env"])          # doctest: +SKIP
    """
    global _default
    if resolver is not None and sources is not None:
        raise TypeError("pass sources or resolver, not both")
    new = resolver if resolver is not None else Resolver(sources)
    new._owner = DEFAULT
    with _lock:
        old, _default = _default, new
    if old is not None and old is not new:
        old.close()
    return new


def reload() -> None:
    """Fetch every source of the default resolver again now (see :meth:`Resolver.reload`)."""
    _resolver().reload()


def invalidate() -> None:
    """Make the default resolver's next ``get_auth()`` fetch again (see
    :meth:`Resolver.invalidate`)."""
    _resolver().invalidate()


if get_auth.__doc__:  # not under python -OO
    get_auth.__doc__ = get_auth.__doc__.replace(
        "{services}", ", ".join(f"``{name}``" for name in SERVICE_NAMES)
    )
