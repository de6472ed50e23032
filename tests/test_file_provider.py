"""The ``file:`` provider: Kubernetes Secret volumes, plain secret directories, single files.

Secret volumes are recreated on disk exactly as the kubelet's atomic writer lays them
out: a hidden timestamped directory holding the files, a ``..data`` symlink to it, and
one ``KEY -> ..data/KEY`` symlink per key. A rotation writes a new timestamped
directory, points a temporary link at it, renames that link onto ``..data`` and removes
the old directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Resolver,
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    parse_source,
)
from bandwidth_credentials._files import FileText, SecretFileError, try_read_file
from bandwidth_credentials._registry import provider_class
from bandwidth_credentials.providers import _secret_dir
from bandwidth_credentials.providers._secret_dir import SecretDirectory
from bandwidth_credentials.providers.file import DEFAULT_MAX_SIZE, FileProvider
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    FakeClock,
    ProviderContract,
)

from .helpers import Background, error_unprivileged, needs_posix

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES = ROOT / "examples" / "kubernetes"
FIRST_STAMP = "2026_11_27_10_00_00.123456789"
OLD = {"accountId": "920012", "username": "user-gen-1", "password": "pw-gen-1"}
NEW = {"accountId": "920012", "username": "user-gen-2", "password": "pw-gen-2"}


@pytest.fixture(autouse=True)
def _plain_directories_look_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The files a test writes are milliseconds old; here a plain directory is read at once.

    The settle wait itself is tested in tests/test_files_plain_directory.py.
    """
    monkeypatch.setattr(_secret_dir, "_wall_clock_ns", lambda: time.time_ns() + 3600 * 10**9)


# -- the kubelet's atomic-writer layout -----------------------------------------------


def _write_generation(root: Path, values: Mapping[str, str], stamp: str) -> str:
    name = f"..{stamp}"
    generation = root / name
    generation.mkdir()
    for key, value in values.items():
        (generation / key).write_text(value, encoding="utf-8")
    return name


def make_secret_volume(root: Path, values: Mapping[str, str], stamp: str = FIRST_STAMP) -> Path:
    """A Secret volume as the kubelet mounts it."""
    root.mkdir(parents=True, exist_ok=True)
    generation = _write_generation(root, values, stamp)
    os.symlink(generation, root / "..data")
    for key in values:
        os.symlink(f"..data/{key}", root / key)
    return root


def rotate(root: Path, values: Mapping[str, str], stamp: str) -> None:
    """Swap the volume onto a new generation the way the kubelet does."""
    old = os.readlink(root / "..data")
    generation = _write_generation(root, values, stamp)
    os.symlink(generation, root / "..data_tmp")
    os.replace(root / "..data_tmp", root / "..data")
    for key in values:
        if not os.path.lexists(root / key):
            os.symlink(f"..data/{key}", root / key)
    for entry in os.listdir(root):
        if not entry.startswith(".") and entry not in values:
            os.unlink(root / entry)
    shutil.rmtree(root / old)


def stamp(n: int) -> str:
    return f"2026_11_27_10_{n // 60:02d}_{n % 60:02d}.{n:09d}"


def fetch(uri: str) -> Mapping[str, object]:
    return FileProvider(parse_source(uri)).fetch().values


def full_error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + repr(exc)


# -- the shared provider contract, for every shape the provider reads -----------------------


class TestSecretVolumeContract(ProviderContract):
    scheme = "file"

    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.dir = tmp_path

    def store(self, values: Mapping[str, str]) -> str:
        return f"file:{make_secret_volume(self.dir / 'bandwidth', values)}"

    def missing_uri(self) -> str:
        return f"file:{self.dir / 'not-mounted'}"


class TestPlainDirectoryContract(ProviderContract):
    """Docker secrets and CSI volumes without the ``..data`` link."""

    scheme = "file"

    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.dir = tmp_path

    def store(self, values: Mapping[str, str]) -> str:
        root = self.dir / "secrets"
        root.mkdir()
        for key, value in values.items():
            (root / key).write_text(value + "\n", encoding="utf-8")
        return f"file:{root}"

    def missing_uri(self) -> str:
        return f"file:{self.dir / 'absent'}"


class TestJsonFileContract(ProviderContract):
    scheme = "file"

    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.dir = tmp_path

    def store(self, values: Mapping[str, str]) -> str:
        path = self.dir / "bandwidth.json"
        path.write_text(json.dumps(dict(values)), encoding="utf-8")
        return f"file:{path}"

    def missing_uri(self) -> str:
        return f"file:{self.dir / 'absent.json'}"


class TestVaultAgentFileContract(ProviderContract):
    scheme = "file"

    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.dir = tmp_path

    def store(self, values: Mapping[str, str]) -> str:
        path = self.dir / "bandwidth"
        path.write_text("".join(f"{k}: {v}\n" for k, v in values.items()), encoding="utf-8")
        return f"file:{path}?format=vault-agent"

    def missing_uri(self) -> str:
        return f"file:{self.dir / 'absent'}?format=vault-agent"


# -- directories ----------------------------------------------------------------------


def test_secret_volume_reads_one_key_per_file_and_skips_hidden_entries(tmp_path: Path) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    (root / ".dotfile").write_text("x", encoding="utf-8")

    fetched = FileProvider(parse_source(f"file:{root}")).fetch()

    assert dict(fetched.values) == OLD
    assert fetched.version == f"..{FIRST_STAMP}"


def test_secret_volume_resolves_through_get_auth_with_provenance(tmp_path: Path) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    uri = f"file:{root}"

    voice = Resolver([uri]).get_auth("voice")

    assert voice.username == "user-gen-1"
    assert voice.account_id == "920012"
    assert voice.provenance["password"].source == uri
    assert voice.provenance["password"].key == "password"
    assert voice.provenance["password"].version == f"..{FIRST_STAMP}"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("pw", "pw"),
        ("pw\n", "pw"),
        ("pw\r\n", "pw"),
        ("pw\n\n", "pw\n"),
        ("  pw  \n", "  pw  "),
        ("", ""),
    ],
)
def test_exactly_one_trailing_newline_is_removed(
    tmp_path: Path, content: str, expected: str
) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    (root / "password").write_bytes(content.encode("utf-8"))

    values = fetch(f"file:{root}")

    assert values["password"] == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbfpw\n", "pw"),
        (b"\xef\xbb\xbf", ""),
        (b"pw\xef\xbb\xbf", "pw\ufeff"),  # only a leading BOM is an encoding mark
    ],
)
def test_a_leading_bom_is_removed_from_a_key_file(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    (root / "password").write_bytes(content)

    values = fetch(f"file:{root}")

    assert values["password"] == expected


@pytest.mark.parametrize(
    "names",
    [
        ("accountId", "username", "password"),
        ("account_id", "api_user", "api_password"),
        ("BW_ACCOUNT_ID", "BW_USERNAME", "BW_PASSWORD"),
        ("bw_account_id", "bw_username", "bw_password"),
        ("BANDWIDTH_ACCOUNT_ID", "BANDWIDTH_USERNAME", "BANDWIDTH_PASSWORD"),
    ],
)
def test_file_names_may_use_any_alias(tmp_path: Path, names: tuple[str, str, str]) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    for name, value in zip(names, ("920012", "jdoe", CANARY_PASSWORD), strict=True):
        (root / name).write_text(value + "\n", encoding="utf-8")

    voice = Resolver([f"file:{root}"]).get_auth("voice")

    assert voice.username == "jdoe"
    assert voice.password is not None
    assert voice.password.get_secret_value() == CANARY_PASSWORD


def test_subdirectories_are_not_keys(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    (root / "nested").mkdir(parents=True)
    (root / "nested" / "password").write_text("x", encoding="utf-8")
    (root / "username").write_text("jdoe", encoding="utf-8")

    values = fetch(f"file:{root}")

    assert dict(values) == {"username": "jdoe"}


def test_symlink_inside_the_directory_is_followed(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    (root / "store").mkdir(parents=True)
    (root / "store" / "pw").write_text("inside", encoding="utf-8")
    os.symlink("store/pw", root / "password")

    values = fetch(f"file:{root}")

    assert values["password"] == "inside"


@pytest.mark.parametrize(
    "link",
    [
        pytest.param(lambda outside: str(outside), id="absolute"),
        pytest.param(lambda outside: f"../{outside.parent.name}/{outside.name}", id="relative"),
    ],
)
def test_symlink_escaping_the_directory_is_refused(
    tmp_path: Path, link: Callable[[Path], str]
) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    outside = tmp_path / "elsewhere" / "shadow"
    outside.parent.mkdir()
    outside.write_text(CANARY_PASSWORD, encoding="utf-8")
    os.symlink(link(outside), root / "password")

    with pytest.raises(SourceFormatError) as caught:
        fetch(f"file:{root}")

    assert "outside" in str(caught.value)
    assert str(root / "password") in str(caught.value)
    assert CANARY_PASSWORD not in full_error_text(caught.value)


def test_data_link_escaping_the_directory_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "bw"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "password").write_text(CANARY_PASSWORD, encoding="utf-8")
    os.symlink("../elsewhere", root / "..data")

    with pytest.raises(SourceFormatError) as caught:
        fetch(f"file:{root}")

    assert "outside" in str(caught.value)
    assert CANARY_PASSWORD not in full_error_text(caught.value)


def test_broken_symlink_is_not_found(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    os.symlink("nowhere", root / "password")

    with pytest.raises(SourceNotFoundError) as caught:
        fetch(f"file:{root}")

    assert str(root / "password") in str(caught.value)


@pytest.mark.parametrize(
    ("uri_suffix", "size", "ok"),
    [
        ("", DEFAULT_MAX_SIZE, True),
        ("", DEFAULT_MAX_SIZE + 1, False),
        ("?max_size=16", 16, True),
        ("?max_size=16", 17, False),
    ],
)
def test_per_file_size_limit(tmp_path: Path, uri_suffix: str, size: int, ok: bool) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    (root / "password").write_bytes(b"p" * size)
    uri = f"file:{root}{uri_suffix}"

    if ok:
        assert len(str(fetch(uri)["password"])) == size
    else:
        with pytest.raises(SourceFormatError) as caught:
            fetch(uri)
        assert "limit" in str(caught.value)
        assert str(root / "password") in str(caught.value)


def test_binary_file_is_a_format_error_naming_the_file(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    (root / "password").write_bytes(CANARY_PASSWORD.encode() + b"\xff\xfe\x00\x81")

    with pytest.raises(SourceFormatError) as caught:
        fetch(f"file:{root}")

    assert "UTF-8" in str(caught.value)
    assert str(root / "password") in str(caught.value)
    assert CANARY_PASSWORD not in full_error_text(caught.value)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    root.mkdir()

    with pytest.raises(SourceNotFoundError) as caught:
        fetch(f"file:{root}")

    assert "no keys" in str(caught.value)


def test_empty_secret_volume_is_an_error(tmp_path: Path) -> None:
    root = make_secret_volume(tmp_path / "bw", {})

    with pytest.raises(SourceNotFoundError):
        fetch(f"file:{root}")


@pytest.mark.parametrize("shape", ["missing", "empty"])
def test_missing_or_empty_mount_fails_closed_unless_optional(tmp_path: Path, shape: str) -> None:
    root = tmp_path / "bw"
    if shape == "empty":
        root.mkdir()
    (tmp_path / ".env").write_text(
        "BW_ACCOUNT_ID=920012\nBW_USERNAME=fallback\nBW_PASSWORD=pw\n", encoding="utf-8"
    )

    with pytest.raises(SourceNotFoundError):
        Resolver([f"file:{root}", "dotenv:.env"]).get_auth("voice")
    resolver = Resolver([f"file:{root}?optional=true", "dotenv:.env"])
    voice = resolver.get_auth("voice")

    assert voice.username == "fallback"
    assert any(str(root) in line for line in resolver.skipped())


# -- permission denied ------------------------------------------------------------------


def fetch_error_unprivileged(uri: str) -> tuple[str, str]:
    """(error type name, message) of fetching ``uri`` as a user without read access."""
    return error_unprivileged(lambda: FileProvider(parse_source(uri)).fetch())


@needs_posix
@pytest.mark.parametrize("what", ["key file", "directory", "single file"])
def test_unreadable_source_is_access_denied(shared_dir: Path, what: str) -> None:
    root = shared_dir / "bw"
    root.mkdir(mode=0o755)
    (root / "username").write_text("jdoe", encoding="utf-8")
    (root / "password").write_text(CANARY_PASSWORD, encoding="utf-8")
    for path in root.iterdir():
        path.chmod(0o644)
    target = root
    if what == "key file":
        (root / "password").chmod(0)
    elif what == "directory":
        root.chmod(0o311)  # traversable, not listable
    else:
        target = root / "password"
        target.chmod(0)

    kind, message = fetch_error_unprivileged(f"file:{target}")

    assert kind == SourceAccessDeniedError.__name__
    assert "permission denied" in message
    assert CANARY_PASSWORD not in message


# -- single files ---------------------------------------------------------------------

SINGLE_FILES: list[tuple[str, str, str, dict[str, object]]] = [
    (
        "json",
        "",
        '{"accountId": "920012", "username": "jdoe", "password": "p$w"}\n',
        {"accountId": "920012", "username": "jdoe", "password": "p$w"},
    ),
    (
        "json with a BOM and a per-service object",
        "",
        '\ufeff{"accountId": 920012, "voice": {"username": "v"}}',
        {"accountId": 920012, "voice": {"username": "v"}},
    ),
    (
        "dotenv",
        "",
        "# rendered\nexport BW_ACCOUNT_ID=920012\nBW_USERNAME='jdoe'\nBW_PASSWORD=\"a b#c\"\n",
        {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "a b#c"},
    ),
    (
        "dotenv values are literal (no ${VAR} expansion)",
        "",
        "password=pa${HOME}ss\n",
        {"password": "pa${HOME}ss"},
    ),
    (
        "vault agent",
        "",
        "accountId: 920012\nusername: jdoe\npassword: p: w=x \n",
        {"accountId": "920012", "username": "jdoe", "password": "p: w=x"},
    ),
    (
        "forced vault agent",
        "?format=vault-agent",
        "username: a=b\n",
        {"username": "a=b"},
    ),
    (
        "forced dotenv",
        "?format=dotenv",
        "username=a: b\n",
        {"username": "a: b"},
    ),
    (
        "forced json",
        "?format=json",
        '  {"username": "x"}',
        {"username": "x"},
    ),
]


@pytest.mark.parametrize(
    ("label", "options", "content", "expected"), SINGLE_FILES, ids=[row[0] for row in SINGLE_FILES]
)
def test_single_file_formats(
    tmp_path: Path, label: str, options: str, content: str, expected: dict[str, object]
) -> None:
    path = tmp_path / "bandwidth"
    path.write_text(content, encoding="utf-8")

    values = fetch(f"file:{path}{options}")

    assert dict(values) == expected


BAD_FILES: list[tuple[str, str, str, str]] = [
    ("invalid json", "", '{"password": "' + CANARY_PASSWORD, "not valid JSON (line 1"),
    ("json array", "", f'["{CANARY_PASSWORD}"]', "JSON list"),
    ("unknown shape", "", f"{CANARY_PASSWORD}\n", "cannot tell the format"),
    (
        "bad vault agent line",
        "?format=vault-agent",
        f"username: jdoe\n{CANARY_PASSWORD}\n",
        "line 2 is not a 'key: value' line",
    ),
    (
        "kv v2 default rendering",
        "",
        f"data: map[password:{CANARY_PASSWORD} username:jdoe]\nmetadata: map[version:3]\n",
        "agent-inject-template",
    ),
    (
        "repeated vault agent key",
        "",
        f"password: {CANARY_PASSWORD}\npassword: {CANARY_SECRET}\n",
        "repeats the key 'password'",
    ),
    ("forced json on dotenv", "?format=json", f"BW_PASSWORD={CANARY_PASSWORD}\n", "JSON"),
    ("binary", "", "\udcff" + CANARY_PASSWORD, "not UTF-8"),
]


@pytest.mark.parametrize(
    ("label", "options", "content", "message"), BAD_FILES, ids=[row[0] for row in BAD_FILES]
)
def test_unreadable_single_file_is_a_format_error_without_values(
    tmp_path: Path, label: str, options: str, content: str, message: str
) -> None:
    path = tmp_path / "bandwidth"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))

    with pytest.raises(SourceFormatError) as caught:
        fetch(f"file:{path}{options}")

    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    text = full_error_text(caught.value)
    assert CANARY_PASSWORD not in text
    assert CANARY_SECRET not in text


@pytest.mark.parametrize("content", ["", "\n\n", "{}", "# nothing yet\n"])
def test_single_file_without_keys_is_an_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bandwidth"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(SourceNotFoundError) as caught:
        fetch(f"file:{path}")

    assert "no keys" in str(caught.value)


def test_single_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "bandwidth.json"
    path.write_text(json.dumps({"password": "x" * 100}), encoding="utf-8")

    with pytest.raises(SourceFormatError) as caught:
        fetch(f"file:{path}?max_size=64")

    assert "64-byte limit" in str(caught.value)


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:", "give the path"),
        ("file:/x?format=yaml", "'format' must be one of json, dotenv, vault-agent"),
        ("file:/x?max_size=-1", "'max_size'"),
        ("file:/x?check_interval=soon", "'check_interval'"),
        ("file:/x?interpolate=false", "unknown option"),
    ],
)
def test_bad_configuration_is_reported_when_the_resolver_is_built(uri: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Resolver([uri])

    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("uri", "expected"), [("file:/x", 5.0), ("file:/x?check_interval=0.5", 0.5)]
)
def test_check_interval_defaults_to_five_seconds(uri: str, expected: float) -> None:
    provider = provider_class("file")(parse_source(uri))

    assert provider.check_interval == expected


def test_relative_and_home_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "creds.json").write_text('{"username": "rel"}', encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))

    assert fetch("file:creds.json")["username"] == "rel"
    assert fetch("file:~/creds.json")["username"] == "rel"


# -- change detection -----------------------------------------------------------------


def test_current_version_follows_the_data_link(tmp_path: Path) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    provider = FileProvider(parse_source(f"file:{root}"))
    first = provider.fetch().version

    unchanged = provider.current_version()
    rotate(root, NEW, stamp(1))
    moved = provider.current_version()

    assert unchanged == first
    assert moved == f"..{stamp(1)}"
    assert provider.fetch().version == moved


def test_current_version_of_a_plain_directory_tracks_its_files(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    root.mkdir()
    (root / "password").write_text("one", encoding="utf-8")
    provider = FileProvider(parse_source(f"file:{root}"))
    first = provider.fetch().version

    unchanged = provider.current_version()
    (root / "password.new").write_text("two-two", encoding="utf-8")
    os.replace(root / "password.new", root / "password")
    moved = provider.current_version()

    assert unchanged == first
    assert moved != first
    assert provider.fetch().version == moved


def test_current_version_of_a_single_file_tracks_replacement(tmp_path: Path) -> None:
    path = tmp_path / "bandwidth.json"
    path.write_text('{"username": "a"}', encoding="utf-8")
    provider = FileProvider(parse_source(f"file:{path}"))
    first = provider.fetch().version

    unchanged = provider.current_version()
    (tmp_path / "next.json").write_text('{"username": "bb"}', encoding="utf-8")
    os.replace(tmp_path / "next.json", path)

    assert unchanged == first
    assert provider.current_version() != first
    assert provider.fetch().version == provider.current_version()


def test_current_version_raises_when_the_mount_is_gone(tmp_path: Path) -> None:
    provider = FileProvider(parse_source(f"file:{tmp_path / 'gone'}"))

    with pytest.raises(SourceNotFoundError) as caught:
        provider.current_version()

    assert "can no longer be read" in str(caught.value)


# -- one generation per read --------------------------------------------------------------


def test_swap_during_a_read_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    provider = FileProvider(parse_source(f"file:{root}"))
    real_read = SecretDirectory._read_entries
    calls: list[str] = []

    def read_then_rotate(self: SecretDirectory, directory: str) -> object:
        values = real_read(self, directory)
        calls.append(directory)
        if len(calls) == 1:
            rotate(root, NEW, stamp(1))  # the kubelet swaps after the files were read
        return values

    monkeypatch.setattr(SecretDirectory, "_read_entries", read_then_rotate)

    fetched = provider.fetch()

    assert dict(fetched.values) == NEW
    assert fetched.version == f"..{stamp(1)}"
    assert len(calls) == 2


def test_generation_removed_before_it_is_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    provider = FileProvider(parse_source(f"file:{root}"))
    real_read = SecretDirectory._read_entries
    calls: list[str] = []

    def rotate_then_read(self: SecretDirectory, directory: str) -> object:
        calls.append(directory)
        if len(calls) == 1:
            rotate(root, NEW, stamp(1))  # the old generation is deleted under the reader
        return real_read(self, directory)

    monkeypatch.setattr(SecretDirectory, "_read_entries", rotate_then_read)

    fetched = provider.fetch()

    assert dict(fetched.values) == NEW
    assert calls[0].endswith(f"..{FIRST_STAMP}")


def test_swap_between_two_key_reads_never_mixes_generations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    provider = FileProvider(parse_source(f"file:{root}"))
    real_read_file = try_read_file
    reads: list[str] = []

    def read_then_rotate(
        path: str, max_size: int, *, follow_symlinks: bool = True
    ) -> FileText | SecretFileError:
        data = real_read_file(path, max_size, follow_symlinks=follow_symlinks)
        reads.append(path)
        if len(reads) == 1:
            rotate(root, NEW, stamp(1))  # the swap lands after the first key was read
        return data

    monkeypatch.setattr(_secret_dir, "try_read_file", read_then_rotate)

    fetched = provider.fetch()

    assert generation_of(fetched.values) == "2"
    assert fetched.values["accountId"] == "920012"
    assert fetched.version == f"..{stamp(1)}"


def test_a_mount_that_never_settles_is_unavailable_not_mixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    provider = FileProvider(parse_source(f"file:{root}"))
    real_read = SecretDirectory._read_entries
    count = iter(range(2, 100))

    def always_rotating(self: SecretDirectory, directory: str) -> object:
        values = real_read(self, directory)
        n = next(count)
        rotate(root, {**NEW, "username": f"user-gen-{n}"}, stamp(n))
        return values

    monkeypatch.setattr(SecretDirectory, "_read_entries", always_rotating)

    with pytest.raises(SourceUnavailableError) as caught:
        provider.fetch()

    assert "changed during each" in str(caught.value)


def generation_of(values: Mapping[str, object]) -> str:
    """'1' for ('user-gen-1', 'pw-gen-1'); 'mixed' when the pair is from two generations."""
    user = str(values["username"]).removeprefix("user-gen-")
    password = str(values["password"]).removeprefix("pw-gen-")
    return user if user == password else "mixed"


def test_concurrent_rotations_never_yield_a_mixed_pair_from_fetch(tmp_path: Path) -> None:
    root = make_secret_volume(tmp_path / "bw", {"username": "user-gen-0", "password": "pw-gen-0"})
    provider = FileProvider(parse_source(f"file:{root}"))
    done = threading.Event()
    rotations = 200

    def writer() -> None:
        try:
            for n in range(1, rotations + 1):
                rotate(root, {"username": f"user-gen-{n}", "password": f"pw-gen-{n}"}, stamp(n))
        finally:
            done.set()

    observed: list[tuple[str, str | None]] = []
    errors: list[BaseException] = []
    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        try:
            fetched = provider.fetch()
        except SourceUnavailableError as exc:  # only if it swapped during every attempt
            errors.append(exc)
            continue
        observed.append((generation_of(fetched.values), fetched.version))
    thread.join()
    last = provider.fetch()

    assert observed
    assert all(gen != "mixed" for gen, _ in observed)
    assert all(version == f"..{stamp(int(gen))}" for gen, version in observed if gen != "0")
    assert generation_of(last.values) == str(rotations)
    assert len(errors) < len(observed)


# -- rotation through get_auth() -------------------------------------------------------------


def voice_pair(resolver: Resolver) -> tuple[str | None, str | None]:
    voice = resolver.get_auth("voice")
    assert voice.password is not None
    return voice.username, voice.password.get_secret_value()


def settled_pair(resolver: Resolver, background: Background) -> tuple[str | None, str | None]:
    """What get_auth() serves once any refresh it started in the background has finished."""
    voice_pair(resolver)
    background.run()
    return voice_pair(resolver)


def file_resolver(uri: str) -> tuple[Resolver, FakeClock, Background]:
    clock, background = FakeClock(), Background()
    return Resolver([uri], clock=clock, spawn=background), clock, background


@pytest.mark.parametrize(("options", "interval"), [("", 5.0), ("?check_interval=2", 2.0)])
def test_rotated_volume_is_served_once_the_check_interval_passed(
    tmp_path: Path, options: str, interval: float
) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    resolver, clock, background = file_resolver(f"file:{root}{options}")
    before = voice_pair(resolver)

    rotate(root, NEW, stamp(1))
    clock.advance(interval - 0.5)
    between_checks = settled_pair(resolver, background)
    clock.advance(0.5)
    after = settled_pair(resolver, background)

    assert before == ("user-gen-1", "pw-gen-1")
    assert between_checks == before
    assert after == ("user-gen-2", "pw-gen-2")
    assert resolver.get_auth("voice").provenance["password"].version == f"..{stamp(1)}"


def test_default_rotation_is_served_within_ten_seconds(tmp_path: Path) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    resolver, clock, background = file_resolver(f"file:{root}")
    voice_pair(resolver)

    rotate(root, NEW, stamp(1))
    clock.advance(10)

    assert settled_pair(resolver, background) == ("user-gen-2", "pw-gen-2")


def test_rotated_single_file_is_served_once_the_check_interval_passed(tmp_path: Path) -> None:
    path = tmp_path / "bandwidth.json"
    path.write_text(json.dumps(OLD), encoding="utf-8")
    resolver, clock, background = file_resolver(f"file:{path}")
    voice_pair(resolver)

    (tmp_path / "next.json").write_text(json.dumps(NEW), encoding="utf-8")
    os.replace(tmp_path / "next.json", path)
    clock.advance(5)

    assert settled_pair(resolver, background) == ("user-gen-2", "pw-gen-2")


def test_unchanged_volume_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_secret_volume(tmp_path / "bw", OLD)
    resolver, clock, background = file_resolver(f"file:{root}")
    voice_pair(resolver)
    reads: list[str] = []
    real_read = SecretDirectory._read_entries

    def counting(self: SecretDirectory, directory: str) -> object:
        reads.append(directory)
        return real_read(self, directory)

    monkeypatch.setattr(SecretDirectory, "_read_entries", counting)

    for _ in range(5):
        clock.advance(6)
        settled_pair(resolver, background)

    assert reads == []


def test_reader_thread_never_sees_a_mixed_pair_during_rotations(tmp_path: Path) -> None:
    root = make_secret_volume(
        tmp_path / "bw", {**OLD, "username": "user-gen-0", "password": "pw-gen-0"}
    )
    # check_interval=0: every get_auth() checks, so the reader races every swap.
    resolver = Resolver([f"file:{root}?check_interval=0"])
    rotations = 50
    final = str(rotations)
    stop = threading.Event()
    seen_final = threading.Event()
    observed: list[str] = []
    failures: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                gen = generation_of(
                    dict(zip(("username", "password"), voice_pair(resolver), strict=True))
                )
            except CredentialsError as exc:
                failures.append(exc)
                return
            observed.append(gen)
            if gen == final:
                seen_final.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(1, rotations + 1):
            rotate(root, {**OLD, "username": f"user-gen-{n}", "password": f"pw-gen-{n}"}, stamp(n))
        # A safety valve against a hung test, not a speed requirement.
        appeared = seen_final.wait(60)
    finally:
        stop.set()
        thread.join()

    assert failures == []
    assert "mixed" not in observed
    assert appeared
    generations = [int(gen) for gen in observed]
    assert generations == sorted(generations)


# -- leaks ----------------------------------------------------------------------------------


def test_errors_over_a_secret_volume_never_show_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_secret_volume(
        tmp_path / "bw", {"accountId": "u-1", "username": "jdoe", "password": CANARY_PASSWORD}
    )
    caplog.set_level("DEBUG")

    with pytest.raises(CredentialsError) as caught:
        Resolver([f"file:{root}"]).get_auth("voice")

    assert "user id" in str(caught.value)
    assert CANARY_PASSWORD not in full_error_text(caught.value)
    assert CANARY_PASSWORD not in caplog.text


def test_bwcreds_explain_over_a_secret_volume_masks_values(tmp_path: Path) -> None:
    import subprocess

    root = make_secret_volume(
        tmp_path / "bw", {"accountId": "920012", "username": "jdoe", "password": CANARY_PASSWORD}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env["BANDWIDTH_CREDENTIALS_TODAY"] = (
        "2026-11-30"  # Basic values, on a day Bandwidth still accepted them
    )

    result = subprocess.run(
        [str(Path(sys.executable).with_name("bwcreds")), "explain", "--sources", f"file:{root}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert f"..{FIRST_STAMP}" in result.stdout
    assert CANARY_PASSWORD not in result.stdout + result.stderr


def test_source_errors_are_source_errors_with_the_uri(tmp_path: Path) -> None:
    uri = f"file:{tmp_path / 'nope'}"

    with pytest.raises(SourceError) as caught:
        fetch(uri)

    assert caught.value.source == uri


# -- the Kubernetes examples ------------------------------------------------------------------


def manifests() -> list[Path]:
    return sorted(KUBERNETES.glob("*.yaml"))


def test_kubernetes_examples_exist() -> None:
    names = {path.name for path in manifests()}

    assert {
        "secret-volume.yaml",
        "env-file.yaml",
        "vault-agent.yaml",
        "exec-entrypoint.yaml",
    } <= names
    readme = (KUBERNETES / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in names)


@pytest.mark.parametrize("path", manifests(), ids=lambda path: path.name)
def test_every_kubernetes_manifest_parses_as_yaml(path: Path) -> None:
    documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]

    assert documents
    for document in documents:
        assert isinstance(document, dict)
        assert document.get("apiVersion")
        assert document.get("kind")
        assert document.get("metadata", {}).get("name")


def _pod_specs(path: Path) -> Iterator[dict[str, object]]:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if document and document["kind"] == "Deployment":
            yield document["spec"]["template"]


def _env(template: Mapping[str, object]) -> dict[str, object]:
    spec = template["spec"]
    assert isinstance(spec, dict)
    found: dict[str, object] = {}
    for container in spec["containers"]:
        for item in container.get("env", []):
            found[item["name"]] = item.get("value", item.get("valueFrom"))
    return found


def test_secret_volume_example_points_the_file_source_at_its_mount() -> None:
    (template,) = _pod_specs(KUBERNETES / "secret-volume.yaml")
    spec = template["spec"]
    assert isinstance(spec, dict)
    mounts = {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", [])}

    sources = _env(template)["BANDWIDTH_CREDENTIALS_SOURCES"]

    assert isinstance(sources, str)
    assert parse_source(sources.split(",")[0]).target in mounts


def test_env_file_example_uses_the_file_convention() -> None:
    (template,) = _pod_specs(KUBERNETES / "env-file.yaml")

    env = _env(template)

    assert "BW_CLIENT_SECRET_FILE" in env
    assert isinstance(env["BW_ACCOUNT_ID"], dict)
    assert "secretKeyRef" in env["BW_ACCOUNT_ID"]


def test_exec_example_runs_bwcreds_exec_as_the_entrypoint() -> None:
    (template,) = _pod_specs(KUBERNETES / "exec-entrypoint.yaml")
    spec = template["spec"]
    assert isinstance(spec, dict)

    command = spec["containers"][0]["command"]

    assert command[:2] == ["bwcreds", "exec"]
    assert "--" in command


def _render_vault_template(template: str, data: Mapping[str, str]) -> str:
    """Render the few template actions the example uses, as Vault Agent would."""
    text = re.sub(r"\{\{-?\s*with secret \"[^\"]+\"\s*-?\}\}", "", template)
    text = re.sub(r"\{\{-?\s*end\s*-?\}\}", "", text)
    text = text.replace("{{ .Data.data | toJSON }}", json.dumps(dict(data)))
    assert "{{" not in text, "the example uses template actions this test does not render"
    return text


def test_vault_agent_example_renders_a_file_the_provider_reads(tmp_path: Path) -> None:
    (template,) = _pod_specs(KUBERNETES / "vault-agent.yaml")
    metadata = template["metadata"]
    assert isinstance(metadata, dict)
    annotations = metadata["annotations"]
    prefix = "vault.hashicorp.com/agent-inject-template-"
    (name,) = [key.removeprefix(prefix) for key in annotations if key.startswith(prefix)]
    sources = _env(template)["BANDWIDTH_CREDENTIALS_SOURCES"]
    assert isinstance(sources, str)
    source = parse_source(sources)
    assert source.target == f"/vault/secrets/{name}"
    assert f"vault.hashicorp.com/agent-inject-secret-{name}" in annotations
    rendered = tmp_path / name
    kv = {"accountId": "920012", "username": "jdoe", "password": 'p w"#$'}
    rendered.write_text(_render_vault_template(annotations[prefix + name], kv), encoding="utf-8")

    local = source.text.replace(source.target, str(rendered))
    voice = Resolver([local]).get_auth("voice")

    assert voice.username == "jdoe"
    assert voice.password is not None
    assert voice.password.get_secret_value() == 'p w"#$'
