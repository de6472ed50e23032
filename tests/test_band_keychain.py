"""``band:`` when the OS keychain misbehaves, and when the CLI's config file changes."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import InitError, KeyringLocked

from bandwidth_credentials import (
    ConfigurationError,
    Resolver,
    SourceAuthenticationError,
    SourceError,
    SourceUnavailableError,
)
from bandwidth_credentials._provider import parse_source
from bandwidth_credentials.providers.band import BandProvider
from bandwidth_credentials.testing import FakeClock

from .band_login import file_keychain, login, use, use_backend

CANARY = "canary-client-secret-9f"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("BW_API_URL", raising=False)
    with file_keychain(tmp_path / "keychain.cfg"):
        yield home


@pytest.fixture(autouse=True)
def _no_reader_left() -> Iterator[None]:
    """Each test ends with its keychain reader finished: a read still in flight would be
    shared with the next test's fetch of the same entry (one reader at a time)."""
    yield
    for thread in threading.enumerate():
        if thread.name == "bwcreds-keychain":
            thread.join(10)


class MisbehavingKeychain(KeyringBackend):
    """A keyring backend whose every read does ``behave()``; never picked by detection."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("only installed explicitly by these tests")

    def __init__(self, behave: BaseException | threading.Event) -> None:
        super().__init__()
        self.behave = behave
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        if isinstance(self.behave, threading.Event):
            self.behave.wait(30)  # as a keychain waiting at an unlock prompt
            return CANARY
        raise self.behave

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError


def fetch_error(uri: str = "band:") -> SourceError:
    with pytest.raises(SourceError) as caught:
        BandProvider(parse_source(uri)).fetch()
    return caught.value


@pytest.mark.parametrize(
    ("raised", "kind", "message"),
    [
        (KeyringLocked("Failed to unlock the collection"), SourceAuthenticationError, "locked"),
        (InitError(f"dbus said {CANARY}"), SourceUnavailableError, "failed (InitError)"),
        (RuntimeError(f"cannot decrypt {CANARY}"), SourceUnavailableError, "(RuntimeError)"),
    ],
)
def test_keychain_errors_are_translated_without_their_text(
    home: Path, raised: Exception, kind: type[SourceError], message: str
) -> None:
    login(home, client_id="cli-a", secret="s")
    use_backend(MisbehavingKeychain(raised))

    error = fetch_error()

    assert type(error) is kind
    assert message in str(error)
    assert "'band-cli'" in str(error)
    assert CANARY not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_a_keychain_that_does_not_answer_is_unavailable_after_the_timeout(home: Path) -> None:
    login(home, client_id="cli-a", secret="s")
    prompt = threading.Event()
    use_backend(MisbehavingKeychain(prompt))

    try:
        error = fetch_error("band:?timeout=0.2")
    finally:
        prompt.set()

    assert isinstance(error, SourceUnavailableError)
    assert "did not answer within 0.2 s" in str(error)


def test_a_hanging_keychain_has_one_reader_however_often_it_is_asked(home: Path) -> None:
    login(home, client_id="cli-a", secret="s")
    prompt = threading.Event()
    backend = MisbehavingKeychain(prompt)
    use_backend(backend)
    provider = BandProvider(parse_source("band:?timeout=0.05"))

    try:
        errors = []
        for _ in range(20):  # 20 reloads while the unlock prompt waits
            with pytest.raises(SourceUnavailableError) as caught:
                provider.fetch()
            errors.append(caught.value)
        readers = [t for t in threading.enumerate() if t.name == "bwcreds-keychain"]
    finally:
        prompt.set()

    assert backend.calls == 1
    assert len(readers) == 1
    assert all("did not answer within 0.05 s" in str(error) for error in errors)


def test_once_the_prompt_is_answered_the_next_fetch_reads_the_secret(home: Path) -> None:
    login(home, client_id="cli-a", secret="s")
    prompt = threading.Event()
    backend = MisbehavingKeychain(prompt)
    use_backend(backend)
    provider = BandProvider(parse_source("band:?timeout=0.05"))
    with pytest.raises(SourceUnavailableError):
        provider.fetch()  # the read is still waiting at the prompt

    prompt.set()  # the human unlocks; the next fetch takes that read's answer
    fetched = BandProvider(parse_source("band:?timeout=10")).fetch()

    assert fetched.values["client_secret"] == CANARY


class KeychainPanic(BaseException):
    """Not an Exception: what a backend's native binding may raise."""


def test_a_base_exception_from_the_backend_reaches_neither_stderr_nor_the_caller(
    home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    login(home, client_id="cli-a", secret="s")
    use_backend(MisbehavingKeychain(KeychainPanic(f"decrypted {CANARY}")))

    error = fetch_error("band:?timeout=5")
    out, err = capfd.readouterr()

    assert isinstance(error, SourceUnavailableError)
    assert "failed (KeychainPanic)" in str(error)
    assert "did not answer" not in str(error)
    assert CANARY not in out + err
    assert CANARY not in str(error)


def test_without_the_keyring_package_the_extra_is_named(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(home, client_id="cli-a", secret="s")
    monkeypatch.setitem(sys.modules, "keyring", None)  # as if it were not installed

    with pytest.raises(ConfigurationError) as caught:
        BandProvider(parse_source("band:")).fetch()

    assert "bandwidth-credentials[band]" in str(caught.value)
    assert "from a checkout of bandwidth-credentials, pip install '.[band]'" in str(caught.value)


# -- change checks -------------------------------------------------------------------------


def test_current_version_follows_the_file(home: Path) -> None:
    path = login(home, client_id="cli-a", secret="s", accounts=["920001"], profile="one")
    provider = BandProvider(parse_source("band:"))
    fetched = provider.fetch()
    unchanged = provider.current_version()

    login(home, client_id="cli-b", secret="s", accounts=["920002"], profile="two")
    after_login = provider.current_version()
    use(path, "one")
    after_use = provider.current_version()
    path.unlink()

    assert unchanged == fetched.version
    assert after_login not in (None, fetched.version)
    assert after_use not in (None, fetched.version, after_login)
    assert provider.current_version() is None


def test_same_size_rewrite_and_same_bytes_rewrite_are_both_seen(home: Path) -> None:
    path = login(home, client_id="cli-a", secret="s", accounts=["920001", "920002"])
    provider = BandProvider(parse_source("band:"))
    first = provider.fetch().version
    stamp = path.stat()

    # `band auth switch 920002`: same length, possibly within one timestamp tick.
    path.write_text(path.read_text().replace('"account_id": "920001"', '"account_id": "920002"'))
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    switched = provider.current_version()
    # A later `band auth login` with a new secret for the same client id: same bytes.
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    relogged = provider.current_version()

    assert path.stat().st_size == stamp.st_size
    assert len({first, switched, relogged}) == 3


@pytest.mark.parametrize(("options", "interval"), [("", 5.0), ("?check_interval=2", 2.0)])
def test_resolver_serves_a_new_login_once_the_check_interval_passed(
    home: Path, options: str, interval: float
) -> None:
    login(home, client_id="cli-a", secret="old-secret", accounts=["920001"])
    clock = FakeClock()
    resolver = Resolver([f"band:{options}"], clock=clock, spawn=lambda work: work())
    before = resolver.get_auth("voice")

    login(home, client_id="cli-a", secret="new-secret", accounts=["920002"])
    clock.now += interval - 0.5
    between = resolver.get_auth("voice")
    clock.now += 0.5
    resolver.get_auth("voice")  # the check runs; the refresh it starts runs inline here
    after = resolver.get_auth("voice")

    assert (before.account_id, between.account_id, after.account_id) == (
        "920001",
        "920001",
        "920002",
    )
    assert after.provenance["client_secret"].source == f"band:{options}"
    assert after.provenance["client_secret"].version != before.provenance["client_secret"].version
