"""One test per misbehaviour, each run against every remote store (``tests.store_rows``).

A store that hangs, trickles its answer, sends 100 MiB, redirects to another origin,
asks for ``Retry-After: 3600`` or answers 429 to everything must cost a caller at most the
store's documented worst case for one fetch, memory capped, with a typed error that names
the store, and no canary (the values, the credential used) in any output: the exception
graph, log records at DEBUG, warnings, stdout and stderr (``check_no_leaks``).
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from bandwidth_credentials import SourceError, SourceUnavailableError, TokenError
from bandwidth_credentials.testing import check_no_leaks

from .misbehaving import (
    answer,
    hang,
    huge,
    misbehaving,
    redirect,
    retry_after,
    trickle,
)
from .store_rows import CANARIES, STORES, Fetch, StoreRow

ROWS = [pytest.param(row, id=name) for name, row in sorted(STORES.items())]
# Machines running the suite are shared and noisy: a bound is checked with this much slack.
SLACK = 2.0
#: The most a fetch may add to the heap while refusing a 100 MiB answer, in bytes.
MEMORY_CAP = 16 << 20


def failing(row: StoreRow, fetch: Fetch) -> tuple[Exception, float]:
    """Fetch once, expecting one of the row's errors; the error and the seconds the fetch
    took (the leak harness's own analysis afterwards is not counted)."""
    times: list[float] = []

    def timed() -> object:
        times.append(time.monotonic())
        try:
            return fetch()
        finally:
            times.append(time.monotonic())

    with pytest.raises(row.errors) as caught:
        check_no_leaks(timed, CANARIES)
    return caught.value, times[1] - times[0]


def named(row: StoreRow, error: Exception) -> None:
    """The error names the store and carries nothing foreign."""
    assert row.store in str(error), str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize("row", ROWS)
def test_a_store_that_hangs_fails_within_its_worst_case(
    row: StoreRow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with misbehaving(hang()) as server:
        fetch = row.connect(monkeypatch, server.url, tmp_path)

        error, elapsed = failing(row, fetch)

    named(row, error)
    assert elapsed < row.worst_case + SLACK, elapsed


@pytest.mark.parametrize("row", ROWS)
def test_a_store_that_trickles_fails_within_its_worst_case(
    row: StoreRow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with misbehaving(trickle(row.body, interval=0.2)) as server:
        fetch = row.connect(monkeypatch, server.url, tmp_path)

        error, elapsed = failing(row, fetch)

    named(row, error)
    assert elapsed < row.worst_case + SLACK, elapsed


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("row", ROWS)
def test_a_huge_answer_is_refused_with_memory_capped(
    row: StoreRow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunked: bool
) -> None:
    with misbehaving(huge(100 << 20, chunked=chunked)) as server:
        fetch = row.connect(monkeypatch, server.url, tmp_path)
        with pytest.raises(row.errors):
            fetch()  # builds the clients and loads the SDK's models: not what is measured
        tracemalloc.start()
        try:
            error, elapsed = failing(row, fetch)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    named(row, error)
    assert "larger than" in str(error)
    assert peak < MEMORY_CAP, peak
    assert elapsed < row.worst_case + SLACK, elapsed


@pytest.mark.parametrize("status", [302, 307, 308])
@pytest.mark.parametrize("row", ROWS)
def test_a_redirect_to_another_origin_is_not_followed(
    row: StoreRow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, status: int
) -> None:
    with (
        misbehaving(
            answer(200, row.body, {"Content-Type": row.content_type}), host="127.0.0.2"
        ) as elsewhere,
        misbehaving(redirect(elsewhere.url + "/v1/elsewhere", status)) as server,
    ):
        fetch = row.connect(monkeypatch, server.url, tmp_path)

        error, elapsed = failing(row, fetch)

    assert elsewhere.requests == []  # no credential, no login body, not even a request
    named(row, error)
    assert str(status) in str(error)
    assert elapsed < row.worst_case + SLACK, elapsed


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("row", ROWS)
def test_retry_after_3600_is_handed_to_the_backoff_not_slept(
    row: StoreRow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, status: int
) -> None:
    body = b'{"errors": [], "message": "slow down"}'
    with misbehaving(retry_after(status, "3600", body)) as server:
        fetch = row.connect(monkeypatch, server.url, tmp_path)

        error, elapsed = failing(row, fetch)

    named(row, error)
    assert isinstance(error, SourceUnavailableError | TokenError)
    assert error.retry_after == 3600.0
    assert elapsed < row.worst_case + SLACK, elapsed


@pytest.mark.parametrize("row", ROWS)
def test_a_429_storm_is_asked_a_bounded_number_of_times(
    row: StoreRow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    body = b'{"errors": ["rate limited"], "__type": "ThrottlingException"}'
    with misbehaving(answer(429, body, {"Content-Type": row.content_type})) as server:
        fetch = row.connect(monkeypatch, server.url, tmp_path)

        error, elapsed = failing(row, fetch)
        asked = len(server.requests)

    named(row, error)
    assert isinstance(error, SourceError | TokenError)
    assert not isinstance(error, SourceError) or isinstance(error, SourceUnavailableError)
    assert 1 <= asked <= row.max_requests
    assert elapsed < row.worst_case + SLACK, elapsed
