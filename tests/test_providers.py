from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from bandwidth_credentials import (
    Resolver,
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
    parse_source,
)
from bandwidth_credentials.providers.dotenv import DotenvProvider
from bandwidth_credentials.providers.env import EnvProvider
from bandwidth_credentials.testing import ProviderContract

from .helpers import error_unprivileged, needs_posix


class TestEnvContract(ProviderContract):
    scheme = "env"

    @pytest.fixture(autouse=True)
    def _env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def store(self, values: Mapping[str, str]) -> str:
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)
        return "env"

    def missing_uri(self) -> str:
        pytest.skip("the environment always exists")

    def test_missing_source_is_an_error(self) -> None:
        pytest.skip("the environment always exists")

    def test_missing_optional_source_is_skipped(self) -> None:
        pytest.skip("the environment always exists")


class TestDotenvContract(ProviderContract):
    scheme = "dotenv"

    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.dir = tmp_path

    def store(self, values: Mapping[str, str]) -> str:
        path = self.dir / "creds.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
        return f"dotenv:{path}"

    def missing_uri(self) -> str:
        return f"dotenv:{self.dir / 'absent.env'}"


def test_env_never_reads_unprefixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERNAME", "os-user")
    monkeypatch.setenv("PASSWORD", "os-pw")
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")

    fetched = EnvProvider(parse_source("env")).fetch()

    assert set(fetched.values) == {"BW_ACCOUNT_ID"}


def test_env_ignores_the_librarys_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_SOURCES", "env")

    assert "BANDWIDTH_CREDENTIALS_SOURCES" not in EnvProvider(parse_source("env")).fetch().values


def test_env_prefix_option_replaces_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bitwarden's CLI owns BW_PASSWORD on this machine; the app uses its own prefix.
    monkeypatch.setenv("BW_PASSWORD", "bitwarden-master")
    monkeypatch.setenv("APP_BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("APP_BW_USERNAME", "jdoe")
    monkeypatch.setenv("APP_BW_PASSWORD", "pw")

    voice = Resolver(["env?prefix=APP_BW_"]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == "pw"
    assert voice.provenance["password"].key == "APP_BW_PASSWORD"


def test_dotenv_interpolates_like_python_dotenv_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARED_PW", "from-os")
    path = tmp_path / ".env"
    path.write_text(
        'BW_ACCOUNT_ID=920012\nBW_USERNAME="jdoe"\nBW_PASSWORD=${SHARED_PW}\n'
        "export BW_API_TOKEN='tok'\nBW_API_SECRET=sec # comment\n",
        encoding="utf-8",
    )

    voice = Resolver([f"dotenv:{path}?interpolate=true"]).get_auth("voice")
    messaging = Resolver([f"dotenv:{path}?interpolate=true"]).get_auth("messaging")

    assert voice.password is not None
    assert voice.password.get_secret_value() == "from-os"
    assert voice.username == "jdoe"
    assert messaging.username == "tok"


def test_dotenv_interpolation_can_be_turned_off(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("BW_PASSWORD=a${B}c\n", encoding="utf-8")

    fetched = DotenvProvider(parse_source(f"dotenv:{path}?interpolate=false")).fetch()

    assert fetched.values["BW_PASSWORD"] == "a${B}c"


def test_dotenv_never_modifies_os_environ(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("BW_ACCOUNT_ID=920012\nBW_USERNAME=jdoe\nBW_PASSWORD=pw\n", encoding="utf-8")
    before = dict(os.environ)

    Resolver([f"dotenv:{path}"]).get_auth("voice")

    assert dict(os.environ) == before


def test_dotenv_reads_only_bandwidth_names(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("DATABASE_URL=postgres://x\nUSERNAME=u\nBW_USERNAME=jdoe\n", encoding="utf-8")

    fetched = DotenvProvider(parse_source(f"dotenv:{path}")).fetch()

    assert set(fetched.values) == {"BW_USERNAME"}


def test_dotenv_default_path_is_dot_env_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BW_USERNAME=jdoe\n", encoding="utf-8")

    fetched = DotenvProvider(parse_source("dotenv")).fetch()

    assert fetched.values == {"BW_USERNAME": "jdoe"}


def test_dotenv_directory_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError):
        DotenvProvider(parse_source(f"dotenv:{tmp_path}")).fetch()


def test_dotenv_non_utf8_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"BW_PASSWORD=\xff\xfe\n")

    with pytest.raises(SourceFormatError) as caught:
        DotenvProvider(parse_source(f"dotenv:{path}")).fetch()

    assert "UTF-8" in str(caught.value)


@needs_posix
def test_dotenv_unreadable_is_access_denied(shared_dir: Path) -> None:
    path = shared_dir / ".env"
    path.write_text("BW_PASSWORD=canary-unreadable\n", encoding="utf-8")
    path.chmod(0)

    kind, message = error_unprivileged(
        lambda: DotenvProvider(parse_source(f"dotenv:{path}")).fetch()
    )

    assert kind == SourceAccessDeniedError.__name__
    assert str(path) in message
    assert "canary-unreadable" not in message


def test_dotenv_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.env"

    with pytest.raises(SourceNotFoundError) as caught:
        DotenvProvider(parse_source(f"dotenv:{path}")).fetch()

    assert str(path) in str(caught.value)


def test_dotenv_version_changes_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("BW_USERNAME=a\n", encoding="utf-8")
    provider = DotenvProvider(parse_source(f"dotenv:{path}"))
    first = provider.fetch().version

    path.write_text("BW_USERNAME=abc\n", encoding="utf-8")

    assert provider.fetch().version != first
