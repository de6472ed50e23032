"""``_files.read_file``: the one way the library reads a file."""

from __future__ import annotations

import os
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    SourceFormatError,
    SourceNotFoundError,
    parse_source,
)
from bandwidth_credentials._files import (
    CHUNK_SIZE,
    MAX_SIZE_LIMIT,
    SecretFileError,
    max_size_option,
    read_file,
    read_secret_file,
)
from bandwidth_credentials.testing import CANARY_PASSWORD

from .files_helpers import FAST, assert_clean, run_bounded
from .helpers import error_unprivileged, needs_posix

BOM = b"\xef\xbb\xbf"


def raised(action: Callable[[], object]) -> SecretFileError:
    outcome = run_bounded(action)
    assert isinstance(outcome.error, SecretFileError), outcome
    assert outcome.elapsed < FAST
    return outcome.error


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"pw\n", "pw\n"),
        (BOM + b"pw\n", "pw\n"),
        (BOM, ""),
        (BOM + BOM + b"pw", "\ufeffpw"),  # one encoding mark; a second one is content
        (b"p\xc3\xa9", "p\u00e9"),
        (b"", ""),
    ],
)
def test_text_is_strict_utf8_without_a_leading_bom(
    tmp_path: Path, content: bytes, text: str
) -> None:
    path = tmp_path / "value"
    path.write_bytes(content)

    result = read_file(str(path))

    assert result.text == text
    assert result.info.st_size == len(content)


@pytest.mark.parametrize(
    ("content", "value"),
    [(BOM + b"pw\r\n", "pw"), (b"pw\n\n", "pw\n"), (b"pw", "pw")],
)
def test_read_secret_file_removes_the_bom_and_one_newline(
    tmp_path: Path, content: bytes, value: str
) -> None:
    path = tmp_path / "value"
    path.write_bytes(content)

    assert read_secret_file(str(path)) == value


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        yield path


@needs_posix
@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("fifo", "is a FIFO (named pipe), not a regular file"),
        ("zero", "is a device, not a regular file"),
        ("socket", "not a regular file"),
        ("directory", "is a directory, not a regular file"),
    ],
)
def test_anything_but_a_regular_file_is_refused_at_once(
    request: pytest.FixtureRequest, tmp_path: Path, what: str, message: str
) -> None:
    fixtures = {"fifo": "fifo", "socket": "unix_socket"}
    if what in fixtures:
        path = str(request.getfixturevalue(fixtures[what]))
    else:
        path = "/dev/zero" if what == "zero" else str(tmp_path)

    error = raised(lambda: read_file(path, MAX_SIZE_LIMIT))

    assert error.kind is SourceFormatError
    assert path in error.reason
    assert message in error.reason


def test_a_final_symlink_is_refused_when_asked(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("pw", encoding="utf-8")
    os.symlink("real", tmp_path / "link")

    followed = read_file(str(tmp_path / "link")).text
    error = raised(lambda: read_file(str(tmp_path / "link"), follow_symlinks=False))

    assert followed == "pw"
    assert error.kind is SourceFormatError
    assert "symbolic link" in error.reason


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    path = str(tmp_path / "absent")

    error = raised(lambda: read_file(path))

    assert error.kind is SourceNotFoundError
    assert error.reason == f"{path} does not exist"


@needs_posix
def test_unreadable_file_is_access_denied(shared_dir: Path) -> None:
    path = shared_dir / "value"
    path.write_text(CANARY_PASSWORD, encoding="utf-8")
    path.chmod(0)

    kind, message = error_unprivileged(lambda: read_file(str(path)))

    assert kind == SecretFileError.__name__
    assert message == f"permission denied reading {path}"


def test_a_file_over_the_limit_is_refused_from_its_size_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "huge"
    with path.open("wb") as stream:
        stream.truncate(200 * 1024 * 1024)  # sparse: 200 MB that cost no disk space
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", counting_read)

    error = raised(lambda: read_file(str(path), 64 * 1024))

    assert error.kind is SourceFormatError
    assert "larger than the 65536-byte limit" in error.reason
    assert reads == []


def test_a_file_growing_while_read_stops_one_byte_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing"
    path.write_bytes(b"x" * 10)
    limit = 3 * CHUNK_SIZE
    requested: list[int] = []
    real_read = os.read

    def read_while_growing(fd: int, n: int) -> bytes:
        with path.open("ab") as writer:  # a writer appends between our reads
            writer.write(b"y" * CHUNK_SIZE)
        requested.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(os, "read", read_while_growing)

    error = raised(lambda: read_file(str(path), limit))

    assert "larger than" in error.reason
    assert sum(requested) == limit + 1
    assert max(requested) <= CHUNK_SIZE


def test_memory_follows_the_file_not_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "small"
    path.write_bytes(b"pw" * 100)
    tracemalloc.start()

    try:
        text = read_file(str(path), MAX_SIZE_LIMIT).text
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert text == "pw" * 100
    assert peak < CHUNK_SIZE * 4  # not the 16 MiB limit


def test_not_utf8_is_refused_and_no_decoding_error_holds_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(CANARY_PASSWORD.encode() + b"\xff\xfe\x00\x81")

    error = raised(lambda: read_file(str(path)))

    assert error.kind is SourceFormatError
    assert error.reason == f"{path} is not UTF-8 text (a binary file?)"
    assert_clean(error, CANARY_PASSWORD)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 65536), ("1", 1), ("1024", 1024), (str(MAX_SIZE_LIMIT), MAX_SIZE_LIMIT)],
)
def test_max_size_option(value: str | None, expected: int) -> None:
    uri = "file:/x" if value is None else f"file:/x?max_size={value}"

    assert max_size_option(parse_source(uri)) == expected


@pytest.mark.parametrize(
    "value", ["inf", "1e30", "nan", "0", "-1", "1.5", "ten", str(MAX_SIZE_LIMIT + 1)]
)
def test_max_size_option_must_be_a_bounded_whole_number(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        max_size_option(parse_source(f"file:/x?max_size={value}"))

    assert "'max_size'" in str(caught.value)
    assert caught.value.__context__ is None
