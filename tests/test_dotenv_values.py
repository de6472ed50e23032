"""``dotenv:``: values as stored, a leading BOM, size limits and the parent ``.env`` hint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    Resolver,
    SourceFormatError,
    SourceNotFoundError,
    parse_source,
)
from bandwidth_credentials.providers.dotenv import DotenvProvider
from bandwidth_credentials.testing import CANARY_PASSWORD

from .files_helpers import assert_clean
from .helpers import error_unprivileged, needs_posix


def fetch(uri: str) -> dict[str, object]:
    return dict(DotenvProvider(parse_source(uri)).fetch().values)


def not_found(uri: str) -> SourceNotFoundError:
    with pytest.raises(SourceNotFoundError) as caught:
        DotenvProvider(parse_source(uri)).fetch()
    return caught.value


# Each line: the file's BW_PASSWORD line, the value read by default, and with interpolation.
VALUES = [
    # python-dotenv expands even inside single quotes once interpolation is on.
    ("BW_PASSWORD='Xy${Qz}9!w'", "Xy${Qz}9!w", "Xy9!w"),
    ('BW_PASSWORD="pa${HOME}ss"', "pa${HOME}ss", "pa/home/testerss"),
    ("BW_PASSWORD=pa${HOME}ss", "pa${HOME}ss", "pa/home/testerss"),
    ("BW_PASSWORD=${MISSING:-fallback}", "${MISSING:-fallback}", "fallback"),
    ("BW_PASSWORD=$HOME", "$HOME", "$HOME"),  # only ${...} is ever expanded
    ('BW_PASSWORD="a\\nb"', "a\nb", "a\nb"),  # escapes are python-dotenv's, not ours
]


@pytest.mark.parametrize(("line", "literal", "interpolated"), VALUES)
def test_values_are_literal_unless_interpolation_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, literal: str, interpolated: str
) -> None:
    monkeypatch.setenv("HOME", "/home/tester")
    monkeypatch.delenv("MISSING", raising=False)
    monkeypatch.delenv("Qz", raising=False)
    (tmp_path / ".env").write_text(line + "\n", encoding="utf-8")

    default = fetch("dotenv:.env")
    explicit = fetch("dotenv:.env?interpolate=false")
    expanded = fetch("dotenv:.env?interpolate=true")

    assert default["BW_PASSWORD"] == literal
    assert explicit["BW_PASSWORD"] == literal
    assert expanded["BW_PASSWORD"] == interpolated


def test_a_single_quoted_password_reaches_get_auth_unchanged(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "BW_ACCOUNT_ID=920012\nBW_USERNAME=jdoe\nBW_PASSWORD='Xy${Qz}9!w'\n", encoding="utf-8"
    )

    voice = Resolver(["dotenv:.env"]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == "Xy${Qz}9!w"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_leading_bom_keeps_the_first_key(tmp_path: Path, newline: str) -> None:
    lines = ["BW_ACCOUNT_ID=920012", "BW_USERNAME=jdoe", "BW_PASSWORD=pw"]
    (tmp_path / ".env").write_bytes(b"\xef\xbb\xbf" + newline.join(lines).encode() + b"\n")

    values = fetch("dotenv:.env")

    assert values == {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"}


@pytest.mark.parametrize(
    ("uri", "size", "ok"),
    [
        ("dotenv:.env", 64 * 1024, True),
        ("dotenv:.env", 64 * 1024 + 1, False),
        ("dotenv:.env?max_size=128", 128, True),
        ("dotenv:.env?max_size=128", 129, False),
    ],
)
def test_size_limit(tmp_path: Path, uri: str, size: int, ok: bool) -> None:
    line = b"BW_USERNAME=jdoe\n"
    (tmp_path / ".env").write_bytes(line + b"#" * (size - len(line) - 1) + b"\n")

    if ok:
        assert fetch(uri) == {"BW_USERNAME": "jdoe"}
    else:
        with pytest.raises(SourceFormatError) as caught:
            fetch(uri)
        assert "-byte limit" in str(caught.value)


@pytest.mark.parametrize("value", ["inf", "0", "1e30", str(16 * 1024 * 1024 + 1)])
def test_max_size_must_be_bounded(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Resolver([f"dotenv:.env?max_size={value}"])

    assert "'max_size'" in str(caught.value)


def test_not_utf8_names_the_file_and_keeps_no_bytes(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(f"BW_PASSWORD={CANARY_PASSWORD}\xff\n".encode("latin-1"))

    with pytest.raises(SourceFormatError) as caught:
        fetch("dotenv:.env")

    assert "not UTF-8" in str(caught.value)
    assert_clean(caught.value, CANARY_PASSWORD)


# -- a .env in a parent directory ------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose .env sits two levels above the working directory."""
    (tmp_path / "project" / "src" / "app").mkdir(parents=True)
    (tmp_path / "project" / ".env").write_text(f"BW_PASSWORD={CANARY_PASSWORD}\n", "utf-8")
    monkeypatch.chdir(tmp_path / "project" / "src" / "app")
    return tmp_path / "project"


@pytest.mark.parametrize("uri", ["dotenv", "dotenv:", "dotenv:.env", "dotenv:.env?optional=false"])
def test_the_default_file_names_the_nearest_parent_dotenv(project: Path, uri: str) -> None:
    error = not_found(uri)

    assert str(error).endswith(
        ".env does not exist; found ../../.env; point the source at it with dotenv:../../.env"
    )
    assert_clean(error, CANARY_PASSWORD)


def test_the_nearest_parent_wins(project: Path) -> None:
    (project / "src" / ".env").write_text("BW_USERNAME=nearer\n", encoding="utf-8")

    error = not_found("dotenv")

    assert "found ../.env;" in str(error)


def test_an_explicit_path_gets_no_hint(project: Path) -> None:
    error = not_found("dotenv:config/bw.env")

    assert "found" not in str(error)


def test_a_parent_directory_named_dotenv_is_not_a_hint(project: Path) -> None:
    (project / ".env").unlink()
    (project / "src" / ".env").mkdir()

    error = not_found("dotenv")

    assert "found ../.env" not in str(error)


def test_the_optional_default_source_shows_the_hint_when_skipped(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "u", "BW_PASSWORD": "p"}.items():
        monkeypatch.setenv(name, value)
    resolver = Resolver(["env", "dotenv:.env?optional=true"])

    resolver.get_auth("voice")

    assert any("dotenv:../../.env" in line for line in resolver.skipped())


@needs_posix
def test_the_parent_dotenv_is_never_opened(shared_dir: Path) -> None:
    app = shared_dir / "project" / "app"
    app.mkdir(parents=True)
    for directory in (shared_dir / "project", app):
        directory.chmod(0o755)
    parent = shared_dir / "project" / ".env"
    parent.write_text(f"BW_PASSWORD={CANARY_PASSWORD}\n", encoding="utf-8")
    parent.chmod(0)  # a user without access can still be told where it is

    kind, message = error_unprivileged(
        lambda: (os.chdir(app), DotenvProvider(parse_source("dotenv")).fetch())
    )

    assert kind == SourceNotFoundError.__name__
    assert "found ../.env; point the source at it with dotenv:../.env" in message
    assert CANARY_PASSWORD not in message
