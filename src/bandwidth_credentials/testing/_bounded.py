"""Misbehaviour tables for a provider's tests: one row per way a store can misbehave, one
check that the fetch stayed bounded, typed and silent.

A plugin's bounded-transport tests run each row against a loopback server that hangs,
trickles, sends 300 MiB, redirects to another origin, asks for ``Retry-After: 3600`` or
answers 429 to everything, and assert the same things every time: the error's type and
words, the store it names, the ``Retry-After`` it carries, nothing chained, no canary in
any output, and an elapsed time within the provider's documented worst case.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pytest

from .._errors import CredentialsError, SourceError
from ._leaks import CANARIES, check_no_leaks

__all__ = ["Misbehaviour", "check_misbehaviour", "fetch_failing"]


@dataclass(frozen=True)
class Misbehaviour:
    """One row of a misbehaviour table.

    ``script``: given the URL of a second origin's server (127.0.0.2, for redirects), the
    behaviours the store's server plays, one per request (the last repeating); a
    behaviour is whatever the test's own loopback server (:func:`serve`) knows how to
    play (``hang()`` below is such a test's own helper, not part of this module), since
    only that server and the test read the script;
    ``timeout``: the source's ``timeout`` option, seconds; ``error``: the exact error type
    the fetch must raise; ``says``: words its message must contain; ``arrived``: how many
    requests must reach the store; ``retry_after``: the wait the error must carry
    (seconds, or ``None``); ``at_least``: seconds the fetch must take (a deadline reached,
    not cut short).

    >>> Misbehaviour(lambda other: [hang()], 1, SourceUnavailableError,  # doctest: +SKIP
    ...              "no complete answer within 1 s", at_least=0.9)
    """

    script: Callable[[str], Sequence[object]]
    timeout: float
    error: type[CredentialsError]
    says: str
    arrived: int = 1
    retry_after: float | None = None
    at_least: float = 0.0


def fetch_failing(
    fetch: Callable[[], object], canaries: Iterable[str] = CANARIES
) -> tuple[CredentialsError, float]:
    """Run ``fetch`` (one fetch) with the leak harness, expecting a library error; returns
    the error and the seconds the fetch took (the harness's own analysis not counted).

    Fails the test when ``fetch`` returns, raises anything else, chains an exception to
    its error (``__cause__`` or ``__context__``), or lets one of ``canaries`` reach an
    exception, a log record, a warning or an output stream.

    >>> error, elapsed = fetch_failing(provider.fetch, [CANARY_PASSWORD])  # doctest: +SKIP
    """
    times: list[float] = []

    def timed() -> object:
        times.append(time.monotonic())
        try:
            return fetch()
        finally:
            times.append(time.monotonic())

    with pytest.raises(CredentialsError) as caught:
        check_no_leaks(timed, list(canaries))
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None
    return error, times[1] - times[0]


def check_misbehaviour(
    row: Misbehaviour,
    error: CredentialsError,
    elapsed: float,
    worst_case: float,
    *,
    scheme: str,
    store: str,
) -> None:
    """Assert what every row must show: ``error`` is exactly ``row.error``, a
    :class:`~bandwidth_credentials.SourceError` of a source of ``scheme`` (``"gcp-sm"``)
    whose message holds ``row.says`` and ``store`` (the words naming who misbehaved) and
    which carries ``row.retry_after``; the fetch took at least ``row.at_least`` and less
    than ``worst_case`` seconds (the provider's documented bound).

    >>> check_misbehaviour(row, error, elapsed, provider.worst_case,  # doctest: +SKIP
    ...                    scheme="azure-kv", store="Key Vault")
    """
    assert type(error) is row.error, f"{type(error).__name__}: {error}"
    assert row.says in str(error), str(error)
    assert store in str(error), str(error)
    assert isinstance(error, SourceError)
    assert error.source is not None
    assert error.source.startswith(f"{scheme}:"), error.source
    assert error.retry_after == row.retry_after
    assert row.at_least <= elapsed < worst_case, (row.at_least, elapsed, worst_case)
