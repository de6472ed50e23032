"""``band:`` against config files written as the Bandwidth CLI writes them and a real keyring."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from keyring.backends import fail, null

from bandwidth_credentials import (
    ConfigurationError,
    Resolver,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
)
from bandwidth_credentials._provider import parse_source
from bandwidth_credentials.providers.band import (
    CLI_HOST_VARIABLES,
    BandProvider,
    default_config_path,
)

from .band_login import config_path, file_keychain, login, save_config, use, use_backend
from .helpers import error_unprivileged, needs_posix

SECRET = "band-secret-3c1f"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home directory and keychain of the test's own; no CLI override variables set."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for name in (*CLI_HOST_VARIABLES, "XDG_CONFIG_HOME", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    with file_keychain(tmp_path / "keychain.cfg"):
        yield home


def fetch(uri: str) -> Mapping[str, object]:
    return BandProvider(parse_source(uri)).fetch().values


def fetch_error(uri: str) -> SourceError:
    with pytest.raises(SourceError) as caught:
        BandProvider(parse_source(uri)).fetch()
    return caught.value


def test_active_profile_is_read_with_the_secret_from_the_keychain(home: Path) -> None:
    login(home, client_id="cli-a", secret=SECRET, accounts=["920012"], environment="test")

    fetched = BandProvider(parse_source("band:")).fetch()

    assert fetched.values == {
        "client_id": "cli-a",
        "client_secret": SECRET,
        "account_id": "920012",
        "environment": "test",
    }
    assert isinstance(fetched.version, str)


@pytest.mark.parametrize(
    ("uri", "client_id", "account_id"),
    [
        ("band:", "cli-b", "920002"),
        ("band:?profile=first", "cli-a", "920001"),
        ("band:?profile=second", "cli-b", "920002"),
    ],
)
def test_named_profile_or_the_active_one(
    home: Path, uri: str, client_id: str, account_id: str
) -> None:
    login(home, client_id="cli-a", secret="secret-a", accounts=["920001"], profile="first")
    login(home, client_id="cli-b", secret="secret-b", accounts=["920002"], profile="second")

    values = fetch(uri)

    assert values["client_id"] == client_id
    assert values["account_id"] == account_id
    assert values["client_secret"] == {"cli-a": "secret-a", "cli-b": "secret-b"}[client_id]


def test_band_use_switches_what_band_reads(home: Path) -> None:
    login(home, client_id="cli-a", secret="secret-a", accounts=["920001"], profile="first")
    path = login(home, client_id="cli-b", secret="secret-b", profile="second")

    use(path, "first")

    assert fetch("band:")["client_id"] == "cli-a"


def test_a_login_without_an_account_or_environment_returns_only_what_it_has(home: Path) -> None:
    login(home, client_id="cli-a", secret=SECRET)

    assert fetch("band:") == {"client_id": "cli-a", "client_secret": SECRET}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (("current",), "current"),
        (("legacy",), "legacy"),
        (("legacy", "current"), "current"),  # the CLI reads the legacy file only alone
    ],
)
def test_legacy_config_is_read_only_when_it_is_the_only_one(
    home: Path, where: tuple[str, ...], expected: str
) -> None:
    for name in where:
        login(home, client_id=f"cli-{name}", secret=f"s-{name}", legacy=name == "legacy")

    values = fetch("band:")

    assert values["client_id"] == f"cli-{expected}"
    assert default_config_path() == config_path(home, legacy=expected == "legacy")


def test_xdg_config_home_is_not_consulted_as_the_cli_does_not(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(home, client_id="cli-home", secret=SECRET)
    elsewhere = tmp_path / "xdg"
    save_config(elsewhere / "band" / "config.json", {"client_id": "cli-xdg"})
    monkeypatch.setenv("XDG_CONFIG_HOME", str(elsewhere))

    assert fetch("band:")["client_id"] == "cli-home"


def test_explicit_path(home: Path, tmp_path: Path) -> None:
    written = login(home, client_id="cli-a", secret=SECRET, accounts=["920012"])
    moved = tmp_path / "copy.json"
    written.rename(moved)

    assert fetch(f"band:{moved}")["client_id"] == "cli-a"
    assert fetch("band:~/../copy.json")["client_id"] == "cli-a"


def test_single_login_layout_without_profiles_is_the_default_profile(home: Path) -> None:
    login(home, client_id="cli-old", secret=SECRET)
    save_config(config_path(home), {"client_id": "cli-old", "account_id": "920099"})

    assert fetch("band:?profile=default")["account_id"] == "920099"
    assert fetch("band:")["client_id"] == "cli-old"


def test_missing_active_profile_falls_back_only_when_there_is_one_profile(home: Path) -> None:
    path = login(home, client_id="cli-a", secret=SECRET, profile="only")
    data = json.loads(path.read_text())
    data["active_profile"] = "gone"
    path.write_text(json.dumps(data))
    assert fetch("band:")["client_id"] == "cli-a"

    login(home, client_id="cli-b", secret=SECRET, profile="other")
    data = json.loads(path.read_text())
    data["active_profile"] = "gone"
    path.write_text(json.dumps(data))
    error = fetch_error("band:")

    assert isinstance(error, SourceNotFoundError)
    assert "'gone'" in str(error)
    assert "'only', 'other'" in str(error)


def test_unknown_profile_lists_the_profiles(home: Path) -> None:
    login(home, client_id="cli-a", secret=SECRET, profile="dev")
    login(home, client_id="cli-b", secret=SECRET, profile="prod")

    error = fetch_error("band:?profile=staging")

    assert isinstance(error, SourceNotFoundError)
    assert error.source == "band:?profile=***"  # option values are never shown
    assert "the profile ?profile= names is not in" in str(error)
    assert "staging" not in str(error)  # a URI option value: named, never quoted
    assert "'dev', 'prod'" in str(error)


def test_profile_without_client_id_says_to_log_in(home: Path) -> None:
    save_config(config_path(home), {"profiles": {"default": {"account_id": "920012"}}})

    error = fetch_error("band:")

    assert isinstance(error, SourceNotFoundError)
    assert "band auth login" in str(error)


def test_missing_config_names_both_paths_and_optional_skips_it(home: Path) -> None:
    error = fetch_error("band:")
    resolver = Resolver(["band:?optional=true"])

    assert isinstance(error, SourceNotFoundError)
    assert str(config_path(home)) in str(error)
    assert str(config_path(home, legacy=True)) in str(error)
    assert "band auth login" in str(error)
    with pytest.raises(Exception, match="no credentials"):
        resolver.get_auth("voice")
    assert resolver.skipped()


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring])
def test_no_usable_keyring_backend_says_what_to_use_instead(
    home: Path, backend: Callable[[], object]
) -> None:
    login(home, client_id="cli-a", secret=SECRET)
    use_backend(backend())  # type: ignore[arg-type]

    error = fetch_error("band:")

    assert isinstance(error, SourceNotFoundError)
    assert "no usable keyring backend" in str(error)
    assert "BW_CLIENT_SECRET" in str(error)
    assert "secret store" in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_no_secret_for_the_client_id_says_to_log_in_again(home: Path) -> None:
    login(home, client_id="cli-a", secret=SECRET)
    save_config(config_path(home), {"client_id": "cli-never-stored"})

    error = fetch_error("band:")

    assert isinstance(error, SourceNotFoundError)
    assert "'cli-never-stored'" in str(error)
    assert "band auth login` again" in str(error)


def test_secret_stored_as_go_keyring_names_it_on_windows_is_found(home: Path) -> None:
    import keyring

    login(home, client_id="cli-a", secret="other")
    keyring.delete_password("band-cli", "cli-a")
    keyring.set_password("band-cli:cli-a", "cli-a", SECRET)

    assert fetch("band:")["client_secret"] == SECRET


@pytest.mark.parametrize(
    ("variable", "value", "key", "expected"),
    [
        ("BW_API_URL", "https://api.lab.example.com/", "api_url", "https://api.lab.example.com"),
        ("BW_API_URL", "https://api.lab.example.com", "api_url", "https://api.lab.example.com"),
        ("BW_API_URL", "", "api_url", None),
        (
            "BW_VOICE_URL",
            "https://voice.lab.example.com//",
            "voice_url",
            "https://voice.lab.example.com",
        ),
        ("BW_VOICE_URL", "", "voice_url", None),
        (
            "BW_MESSAGING_URL",
            "https://msg.lab.example.com/",
            "messaging_url",
            "https://msg.lab.example.com",
        ),
        # Not the CLI's: the band: source never reads it from the process.
        ("BW_VOICE_BASE_URL", "https://voice.lab.example.com/v2", "voice_base_url", None),
        ("BW_TOKEN_URL", "https://t.lab.example.com/token", "token_url", None),
    ],
)
def test_the_clis_host_variables_are_returned_as_the_cli_uses_them(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    key: str,
    expected: str | None,
) -> None:
    login(home, client_id="cli-a", secret=SECRET, environment="test")
    monkeypatch.setenv(variable, value)

    values = fetch("band:")

    assert values.get(key) == expected
    assert set(values) - {"api_url", "voice_url", "messaging_url"} == {
        "client_id",
        "client_secret",
        "environment",
    }
    assert values["environment"] == "test"


def test_voice_goes_where_the_cli_sends_this_logins_voice_requests(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(home, client_id="cli-a", secret=SECRET, environment="test", account_id="920012")
    monkeypatch.setenv("BW_VOICE_URL", "https://voice.lab.example.com/")

    voice = Resolver(["band:"]).get_auth("voice")

    assert voice.base_url == "https://voice.lab.example.com/api/v2/accounts/920012"


def test_leading_bom_is_removed(home: Path) -> None:
    path = login(home, client_id="cli-a", secret=SECRET)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    assert fetch("band:")["client_id"] == "cli-a"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"profiles": ', "is not valid JSON (line 1, column 14)"),
        (b"[1, 2]", "holds no JSON object"),
        (b'{"profiles": []}', "'profiles' in"),
        (b'{"profiles": {"default": "x"}}', "profile 'default' in"),
        (b'{"profiles": {"default": {"client_id": 7}}}', "client_id of profile 'default'"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b" " * (64 * 1024 + 1), "larger than 65536 bytes"),
    ],
)
def test_content_that_is_not_the_cli_config_is_a_format_error(
    home: Path, content: bytes, message: str
) -> None:
    path = config_path(home)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)

    error = fetch_error("band:")

    assert isinstance(error, SourceFormatError)
    assert message in str(error)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs only")
@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_config_path_that_is_not_a_regular_file_is_refused_without_blocking(
    home: Path, kind: str
) -> None:
    path = config_path(home)
    path.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(path)  # with no writer, a blocking open would wait forever
    else:
        path.mkdir()

    error = fetch_error("band:")

    assert isinstance(error, SourceFormatError)
    assert "not a regular file" in str(error)


@pytest.mark.parametrize(
    ("uri", "interval"),
    [("band:", 5.0), ("band:?check_interval=0.5", 0.5)],
)
def test_check_interval(uri: str, interval: float) -> None:
    assert BandProvider(parse_source(uri)).check_interval == interval


@pytest.mark.parametrize("uri", ["band:?check_interval=soon", "band:?timeout=-1", "band:?x=1"])
def test_bad_options_are_configuration_errors(uri: str) -> None:
    with pytest.raises(ConfigurationError):
        Resolver([uri])


@needs_posix
def test_unreadable_config_is_access_denied(home: Path, shared_dir: Path) -> None:
    written = login(home, client_id="cli-a", secret=SECRET)
    path = shared_dir / "config.json"
    path.write_bytes(written.read_bytes())
    path.chmod(0o600)  # the CLI's own mode: another user cannot read it

    kind, message = error_unprivileged(lambda: fetch(f"band:{path}"))

    assert kind == "SourceAccessDeniedError"
    assert f"permission denied reading {path}" in message


@needs_posix
def test_unknown_home_directory_asks_for_an_explicit_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_user(uid: int) -> object:
        raise KeyError(uid)

    monkeypatch.delenv("HOME")
    monkeypatch.setattr("pwd.getpwuid", no_such_user)  # a uid with no passwd entry

    error = fetch_error("band:")

    assert isinstance(error, SourceNotFoundError)
    assert "band:PATH" in str(error)
    assert error.__context__ is None


@needs_posix
def test_tilde_path_without_a_home_directory_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_user(uid: int) -> object:
        raise KeyError(uid)

    monkeypatch.delenv("HOME")
    monkeypatch.setattr("pwd.getpwuid", no_such_user)

    with pytest.raises(ConfigurationError) as caught:
        Resolver(["band:~/band.json"])

    assert "give an absolute path" in str(caught.value)
    assert caught.value.__context__ is None
