"""No file content reaches an error, whichever provider read the file.

A ``UnicodeDecodeError`` keeps the raw bytes in ``.object`` and a ``JSONDecodeError`` the
whole document in ``.doc``; errors are raised outside ``except`` blocks so neither is
reachable from ``__cause__`` or ``__context__``. The graph walk also looks at ``args``
and every attribute, and at the formatted traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bandwidth_credentials import CredentialsError, Resolver
from bandwidth_credentials.testing import CANARY_PASSWORD

from .files_helpers import assert_clean

NOT_UTF8 = CANARY_PASSWORD.encode() + b"\xff\xfe\x81"


def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    root = tmp_path / "secrets"
    root.mkdir()
    (root / "username").write_text("jdoe", encoding="utf-8")
    (root / "password").write_bytes(NOT_UTF8)
    return [f"file:{root}?settle=0"]


def single_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (tmp_path / "bw.json").write_bytes(b'{"password": "' + NOT_UTF8 + b'"}')
    return [f"file:{tmp_path / 'bw.json'}"]


def broken_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (tmp_path / "bw.json").write_text('{"password": "' + CANARY_PASSWORD, encoding="utf-8")
    return [f"file:{tmp_path / 'bw.json'}"]


def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (tmp_path / "pw").write_bytes(NOT_UTF8)
    monkeypatch.setenv("BW_PASSWORD_FILE", str(tmp_path / "pw"))
    return ["env"]


def dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (tmp_path / ".env").write_bytes(b"BW_PASSWORD=" + NOT_UTF8 + b"\n")
    return ["dotenv:.env"]


@pytest.mark.parametrize(
    "arrange",
    [key_file, single_file, broken_json, env_file, dotenv_file],
    ids=lambda arrange: arrange.__name__,
)
def test_a_file_that_cannot_be_decoded_leaves_nothing_of_its_content(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    arrange: Callable[[Path, pytest.MonkeyPatch], list[str]],
) -> None:
    sources = arrange(tmp_path, monkeypatch)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CredentialsError) as caught:
        Resolver(sources).get_auth("voice")

    assert_clean(caught.value, CANARY_PASSWORD)
    assert CANARY_PASSWORD not in caplog.text
