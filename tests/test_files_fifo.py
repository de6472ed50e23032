"""FIFOs, ``/dev/zero`` and huge files in every place the library reads a file.

Each action runs on a thread with a join timeout: a read that blocks on a FIFO with no
writer, or reads ``/dev/zero`` forever, fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from bandwidth_credentials import Resolver, SourceFormatError, parse_source
from bandwidth_credentials.providers.dotenv import DotenvProvider
from bandwidth_credentials.providers.env import EnvProvider
from bandwidth_credentials.testing import CANARY_PASSWORD

from .files_helpers import FAST, assert_clean, run_bounded
from .helpers import needs_posix

pytestmark = needs_posix

HUGE = 200 * 1024 * 1024


def special(tmp_path: Path, kind: str, name: str = "special") -> Path:
    """A FIFO with no writer, a link to /dev/zero, or a sparse 200 MB file at ``name``."""
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        os.symlink("/dev/zero", path)
    else:
        with path.open("wb") as stream:
            stream.truncate(HUGE)
    return path


def secret_dir(tmp_path: Path, extra: str, kind: str) -> Path:
    root = tmp_path / "secrets"
    root.mkdir()
    for key, value in {"accountId": "920012", "username": "jdoe", "password": "pw"}.items():
        (root / key).write_text(value, encoding="utf-8")
    special(root, kind, extra)
    return root


def refused(action: Callable[[], object], path: Path, message: str) -> None:
    outcome = run_bounded(action)

    assert isinstance(outcome.error, SourceFormatError), outcome
    assert outcome.elapsed < FAST
    assert str(path) in str(outcome.error)
    assert message in str(outcome.error)
    assert_clean(outcome.error, CANARY_PASSWORD)


KINDS = [
    ("fifo", "a FIFO (named pipe)"),
    ("zero", "a device"),
    ("huge", "larger than the 65536-byte limit"),
]


@pytest.mark.parametrize(("kind", "message"), KINDS)
def test_file_source_pointed_at_it(tmp_path: Path, kind: str, message: str) -> None:
    path = special(tmp_path, kind)

    refused(lambda: Resolver([f"file:{path}"]).get_auth("voice"), path, message)


@pytest.mark.parametrize(("kind", "message"), [KINDS[0], KINDS[2]])
def test_file_directory_entry_under_a_key_name(tmp_path: Path, kind: str, message: str) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    (root / "username").write_text("jdoe", encoding="utf-8")
    path = special(root, kind, "password")

    refused(lambda: Resolver([f"file:{root}"]).get_auth("voice"), path, message)


def test_file_directory_entry_under_a_key_name_linking_to_dev_zero(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    path = special(root, "zero", "password")

    # A link out of the directory is refused before anything is opened.
    refused(lambda: Resolver([f"file:{root}"]).get_auth("voice"), path, "outside")


@pytest.mark.parametrize("kind", ["fifo", "zero", "huge"])
def test_file_directory_entry_under_another_name_is_never_opened(tmp_path: Path, kind: str) -> None:
    root = secret_dir(tmp_path, "tls.key", kind)
    resolver = Resolver([f"file:{root}"])

    outcome = run_bounded(lambda: resolver.get_auth("voice"))

    assert outcome.error is None
    assert outcome.elapsed < FAST
    assert getattr(outcome.value, "username", None) == "jdoe"
    statuses = {r.key: r.status for r in resolver.resolve().keys}
    assert statuses["tls.key"] == "skipped: not a credential key name (not opened)"


@pytest.mark.parametrize(("kind", "message"), KINDS)
def test_env_file_variable_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, message: str
) -> None:
    path = special(tmp_path, kind)
    monkeypatch.setenv("BW_PASSWORD_FILE", str(path))

    refused(lambda: EnvProvider(parse_source("env")).fetch(), path, message)


@pytest.mark.parametrize(("kind", "message"), KINDS)
def test_dotenv_source_pointed_at_it(tmp_path: Path, kind: str, message: str) -> None:
    path = special(tmp_path, kind)

    refused(lambda: DotenvProvider(parse_source(f"dotenv:{path}")).fetch(), path, message)


def test_a_huge_dotenv_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = special(tmp_path, "huge", ".env")
    tracemalloc.start()

    try:
        outcome = run_bounded(lambda: DotenvProvider(parse_source("dotenv")).fetch())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert isinstance(outcome.error, SourceFormatError)
    assert str(path.name) in str(outcome.error)
    assert peak < 1024 * 1024
