"""Per-process state of the library, and the public way to clear it between tests."""

from __future__ import annotations

__all__ = ["basic_deprecation_notice", "reset"]


def _clear_process_state() -> None:
    """Forget everything the library keeps per process.

    The only place that knows which module-level caches exist; when a cache moves or a
    new one appears, this function is the one to change.
    """
    from .. import _decommission, _default, _expiry, _factory, _normalizer, _oauth

    with _default._lock:
        old = _default._install(None)
    _factory._basic_warned = False
    _normalizer._logged_notes.clear()
    _decommission._reported.clear()
    with _factory._warned_lock:
        _factory._warned.clear()
    _expiry._reset()
    with _oauth._managers_lock:
        _oauth._managers.clear()
    if old is not None:
        old.close()


def basic_deprecation_notice() -> str:
    """The text of the once-per-process notice emitted when Basic credentials are used
    (its wording follows the date; it always starts with "Bandwidth decommission")."""
    from .. import _factory

    return _factory.basic_notice()


def reset() -> None:
    """Return the library to its state right after import.

    Closes and forgets the default resolver (the one :func:`~bandwidth_credentials.get_auth`
    and :func:`~bandwidth_credentials.configure` use), forgets the per-process notes that are
    logged once (half pairs, ignored keys, an account id not among the access token's,
    Bandwidth refusing decommissioned Basic credentials),
    re-arms the once-per-process Basic deprecation notice and drops every cached OAuth
    token. Resolvers built by the caller are untouched.

    Call it before and after each test that uses the default resolver, or use the
    ``bandwidth_isolation`` fixture, which does that::

        from bandwidth_credentials.testing import reset

        def teardown_function() -> None:
            reset()

    Raises nothing of its own; a provider's ``close()`` error propagates.
    """
    _clear_process_state()
