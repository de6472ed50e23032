"""Plain secret directories (no ``..data`` link) updated one file at a time.

Without a generation link the provider accepts a read only when the key files were left
alone for ``settle`` seconds before it and did not change during it. The deterministic
tests drive the wait through the module's clock and sleep; the last test races real
writer and reader threads.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bandwidth_credentials import ConfigurationError, SourceUnavailableError, parse_source
from bandwidth_credentials.providers import _secret_dir
from bandwidth_credentials.providers.file import DEFAULT_SETTLE, FileProvider

HOUR_NS = 3600 * 10**9


def write_pair(root: Path, n: int, *, in_place: bool = True, gap: float = 0.0) -> None:
    """Generation ``n``: the username file first, then the password file."""
    for index, (key, value) in enumerate((("username", f"user-{n}"), ("password", f"pw-{n}"))):
        if index and gap:
            time.sleep(gap)
        if in_place:
            (root / key).write_text(value, encoding="utf-8")
        else:
            (root / f".{key}.tmp").write_text(value, encoding="utf-8")
            os.replace(root / f".{key}.tmp", root / key)


def generation(values: object) -> str:
    """'3' for ('user-3', 'pw-3'); 'torn' for a pair from two generations or a half file."""
    assert isinstance(values, dict)
    user = str(values.get("username", "")).removeprefix("user-")
    password = str(values.get("password", "")).removeprefix("pw-")
    return user if user == password and user else "torn"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "secrets"
    path.mkdir()
    write_pair(path, 1)
    return path


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the provider's waits instead of sleeping."""
    calls: list[float] = []
    monkeypatch.setattr(_secret_dir, "_sleep", calls.append)
    return calls


def test_files_changed_moments_ago_are_read_after_one_settle_wait(
    root: Path, sleeps: list[float]
) -> None:
    fetched = FileProvider(parse_source(f"file:{root}")).fetch()

    assert generation(dict(fetched.values)) == "1"
    assert sleeps == [DEFAULT_SETTLE]


def test_files_left_alone_for_longer_are_read_at_once(
    root: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_secret_dir, "_wall_clock_ns", lambda: time.time_ns() + HOUR_NS)

    fetched = FileProvider(parse_source(f"file:{root}")).fetch()

    assert generation(dict(fetched.values)) == "1"
    assert sleeps == []


def test_a_change_seen_by_an_earlier_read_is_waited_out_whatever_the_file_times(
    root: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # File times that look an hour old: a file system may show a truncated file's new
    # size before its new mtime, so what the provider itself saw change counts too.
    monkeypatch.setattr(_secret_dir, "_wall_clock_ns", lambda: time.time_ns() + HOUR_NS)
    provider = FileProvider(parse_source(f"file:{root}"))
    first = provider.fetch()

    write_pair(root, 2)
    second = provider.fetch()

    assert generation(dict(first.values)) == "1"
    assert generation(dict(second.values)) == "2"
    assert sleeps == [DEFAULT_SETTLE]


def test_settle_zero_turns_the_wait_off(root: Path, sleeps: list[float]) -> None:
    fetched = FileProvider(parse_source(f"file:{root}?settle=0")).fetch()

    assert generation(dict(fetched.values)) == "1"
    assert sleeps == []


@pytest.mark.parametrize("in_place", [True, False], ids=["in place", "renamed into place"])
def test_an_update_half_done_when_read_is_waited_out(
    root: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool
) -> None:
    (root / "username").write_text("user-2", encoding="utf-8")  # the password comes next
    waits: list[float] = []

    def writer_finishes_during_the_wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            write_pair(root, 2, in_place=in_place)

    monkeypatch.setattr(_secret_dir, "_sleep", writer_finishes_during_the_wait)

    fetched = FileProvider(parse_source(f"file:{root}?settle=0.2")).fetch()

    assert generation(dict(fetched.values)) == "2"
    assert waits == [0.2, 0.2]  # the change during the first wait forced a second one


def test_a_directory_that_never_settles_is_unavailable_after_bounded_waits(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    counter = iter(range(2, 100))

    def writer_never_stops(seconds: float) -> None:
        waits.append(seconds)
        (root / "username").write_text(f"user-{next(counter)}", encoding="utf-8")

    monkeypatch.setattr(_secret_dir, "_sleep", writer_never_stops)

    with pytest.raises(SourceUnavailableError) as caught:
        FileProvider(parse_source(f"file:{root}?settle=0.3")).fetch()

    assert "changed during each of 5 attempts" in str(caught.value)
    assert waits == [0.3] * 5


@pytest.mark.parametrize("value", ["-1", "10.5", "inf", "nan", "soon"])
def test_settle_must_be_between_zero_and_ten_seconds(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FileProvider(parse_source(f"file:/x?settle={value}"))

    assert "'settle'" in str(caught.value)


def race(root: Path, writer: Callable[[], None], readers: int) -> tuple[list[str], int]:
    """Run ``writer`` against ``readers`` threads fetching in a loop until it is done.

    Returns the generation of every accepted read and the number of reads refused.
    """
    provider = FileProvider(parse_source(f"file:{root}"))
    done = threading.Event()
    lock = threading.Lock()
    seen: list[str] = []
    refused = [0]

    def read_until_done() -> None:
        while not done.is_set():
            try:
                values = dict(provider.fetch().values)
            except SourceUnavailableError:
                with lock:
                    refused[0] += 1
                continue
            with lock:
                seen.append(generation(values))

    threads = [threading.Thread(target=read_until_done) for _ in range(readers)]
    for thread in threads:
        thread.start()
    try:
        writer()
    finally:
        done.set()
        for thread in threads:
            thread.join(30)  # a safety valve; each fetch is bounded by 5 settle waits
    assert not any(thread.is_alive() for thread in threads)
    return seen, refused[0]


@pytest.mark.parametrize("in_place", [True, False], ids=["in place", "renamed into place"])
def test_readers_racing_a_file_by_file_writer_never_accept_a_torn_pair(
    root: Path, in_place: bool
) -> None:
    updates = 4
    # Updates come further apart than the settle time, so readers get through between
    # them; within an update the two files are a few milliseconds apart.
    pause = DEFAULT_SETTLE + 0.25

    def writer() -> None:
        for n in range(2, updates + 2):
            write_pair(root, n, in_place=in_place, gap=0.005)
            time.sleep(pause)

    seen, _ = race(root, writer, readers=3)

    assert seen
    assert "torn" not in seen
    assert len(set(seen)) >= 2  # reads were accepted between updates, not only at the end
    assert generation(dict(FileProvider(parse_source(f"file:{root}")).fetch().values)) == str(
        updates + 1
    )
