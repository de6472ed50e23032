"""Test support for applications and provider plugins: a pytest plugin.

Install with the ``testing`` extra (``pip install 'bandwidth-credentials[testing]'``, or
``pip install '.[testing]'`` from a checkout); pytest then loads this module through the
``pytest11`` entry point ``bandwidth_credentials``. Nothing in it is automatic: each
fixture acts only in the tests that ask for it.

- :class:`ProviderContract`: the contract suite every source provider passes; subclass
  it in the provider's tests (see its docstring for the hooks).
- :class:`StoreContract`: the contract suite every writable source (a provider with
  ``store()``) passes, ``bwcreds rotate`` against a loopback Bandwidth included; subclass
  it in the store's tests (see its docstring for the hooks).
- :func:`reset`: return the library to its just-imported state (default resolver,
  once-per-process notes and Basic notice, cached OAuth tokens).
- Fixtures: ``bandwidth_isolation`` (no ``BW_*``/``BANDWIDTH_*`` variables, a temporary
  working directory, :func:`reset` before and after; gives the directory) and
  ``allow_basic_deprecation`` (ignore Bandwidth's Basic deprecation notice, for tests
  that use API-user credentials on purpose under ``filterwarnings = error``).
- :func:`today_is`: run a block as if the date were another (the library reads the date
  in one place), so tests of date-dependent behaviour pass on any day.
- :func:`jitter_at`: pin the random share of the retry waits providers draw with
  :func:`bandwidth_credentials.plugin.backoff`, so a test can assert exact waits.
- The leak harness: :func:`check_no_leaks`, :func:`watch_for_leaks` and
  :func:`find_leaks` run code with :data:`CANARIES` planted and fail, naming the place,
  when one shows up in an exception graph, a log record at DEBUG, a warning, stdout or
  stderr; :func:`exception_graph` is its walk through everything an exception holds.
- Misbehaviour tables: :class:`Misbehaviour` (one row: what the store does, what the
  fetch must raise and say, how long it may take), :func:`fetch_failing` (one fetch
  expected to fail, timed, under the leak harness) and :func:`check_misbehaviour` (what
  every row must show), shared by every plugin's bounded-transport tests.
- A test kit for providers: :class:`FakeClock` (a clock the test moves), :func:`serve`
  (an HTTP handler on a loopback port), :func:`connect_proxy` (a ``CONNECT`` proxy that
  maps real host names to loopback servers, see :class:`Route`) and
  :func:`in_forked_child` (a check run after ``os.fork``, waited for boundedly) with
  :func:`forked_during` (the fork taken while a fetch is in flight in another thread).

Example, in an application's tests::

    import pytest
    from bandwidth_credentials import get_auth

    @pytest.mark.usefixtures("bandwidth_isolation", "allow_basic_deprecation")
    def test_voice_uses_the_environment(monkeypatch):
        monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
        monkeypatch.setenv("BW_USERNAME", "jdoe")
        monkeypatch.setenv("BW_PASSWORD", "pw")

        assert get_auth("voice").username == "jdoe"
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._bounded import Misbehaviour, check_misbehaviour, fetch_failing
from ._clock import FakeClock, today_is
from ._contract import STANDARD_VALUES, ProviderContract
from ._fork import forked_during, in_forked_child
from ._graph import exception_graph
from ._leaks import (
    CANARIES,
    CANARY_PASSWORD,
    CANARY_SECRET,
    LeakFound,
    LeakWatch,
    check_no_leaks,
    find_leaks,
    watch_for_leaks,
)
from ._loopback import ConnectProxy, LoopbackServer, Route, connect_proxy, serve
from ._state import reset
from ._store_contract import StoreContract

__all__ = [
    "BASIC_DEPRECATION_FILTER",
    "CANARIES",
    "CANARY_PASSWORD",
    "CANARY_SECRET",
    "ISOLATED_PREFIXES",
    "STANDARD_VALUES",
    "ConnectProxy",
    "FakeClock",
    "LeakFound",
    "LeakWatch",
    "LoopbackServer",
    "Misbehaviour",
    "ProviderContract",
    "Route",
    "StoreContract",
    "check_misbehaviour",
    "check_no_leaks",
    "connect_proxy",
    "exception_graph",
    "fetch_failing",
    "find_leaks",
    "forked_during",
    "in_forked_child",
    "jitter_at",
    "reset",
    "serve",
    "today_is",
    "watch_for_leaks",
]

#: Environment variable prefixes the ``bandwidth_isolation`` fixture removes.
ISOLATED_PREFIXES = ("BW_", "BANDWIDTH_")

#: For ``@pytest.mark.filterwarnings(BASIC_DEPRECATION_FILTER)``: ignores Bandwidth's Basic
#: deprecation notice, whatever its warning category.
BASIC_DEPRECATION_FILTER = "ignore:Bandwidth decommission"


@pytest.fixture
def bandwidth_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A test that sees no ``BW_*`` or ``BANDWIDTH_*`` variable (``BANDWIDTH_CREDENTIALS_SOURCES``
    included), runs in an empty temporary directory (so no stray ``.env`` is read), and
    starts and ends with :func:`reset`. Gives the directory. Variables and the working
    directory are restored afterwards."""
    for name in list(os.environ):
        if name.upper().startswith(ISOLATED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    reset()
    yield tmp_path
    reset()


@pytest.fixture
def allow_basic_deprecation() -> Iterator[None]:
    """Ignore Bandwidth's Basic (API user) deprecation notice during the test, so a test
    that uses Basic credentials on purpose passes under ``filterwarnings = error``.
    Every other warning keeps its filter."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Bandwidth decommission")
        yield


@contextlib.contextmanager
def jitter_at(fraction: float) -> Iterator[None]:
    """Pin the random share of every retry wait drawn with
    :func:`bandwidth_credentials.plugin.backoff` inside the block: ``fraction`` in [0, 1]
    (0: half the window, 1: all of it) instead of a draw from ``os.urandom``. Restores
    the random draw afterwards.

    Example::

        from bandwidth_credentials.testing import jitter_at

        def test_the_waits_double():
            with jitter_at(1.0):
                assert [backoff(1, 0.25), backoff(2, 0.25)] == [0.25, 0.5]
    """
    from .. import _refresh

    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be within [0, 1]")
    drawn = _refresh.unit
    _refresh.unit = lambda: fraction
    try:
        yield
    finally:
        _refresh.unit = drawn
