"""``band:``: the provider contract, no secret in any output, and keyring imported lazily."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from keyring.backends import fail

from bandwidth_credentials import CredentialsError, Resolver, SourceError
from bandwidth_credentials._provider import parse_source
from bandwidth_credentials.providers.band import BandProvider
from bandwidth_credentials.testing import (
    CANARY_PASSWORD,
    CANARY_SECRET,
    ProviderContract,
    exception_graph,
)

from .band_login import config_path, file_keychain, login, save_config, use_backend

CANARIES = (CANARY_PASSWORD, CANARY_SECRET)
BWCREDS = str(Path(sys.executable).with_name("bwcreds"))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("BW_API_URL", raising=False)
    with file_keychain(tmp_path / "data" / "python_keyring" / "keyring_pass.cfg"):
        yield home


class TestBandContract(ProviderContract):
    """The shared suite, with the one test that needs API user fields replaced.

    A band login holds OAuth client credentials only, so ``store()`` keeps the account
    id, and the password canary as the client secret; the Basic fields have no place
    in it. ``test_resolves_every_service_through_a_resolver`` asks for a username and
    password and is replaced by its OAuth equivalent below.
    """

    scheme = "band"

    @pytest.fixture(autouse=True)
    def _home(self, home: Path) -> None:
        self.home = home

    def store(self, values: Mapping[str, str]) -> str:
        login(
            self.home,
            client_id="contract-client",
            secret=values["BW_PASSWORD"],
            accounts=[values["BW_ACCOUNT_ID"]],
        )
        return "band:"

    def keys_for(self, values: Mapping[str, str]) -> Mapping[str, str]:
        return {"account_id": values["BW_ACCOUNT_ID"], "client_secret": values["BW_PASSWORD"]}

    def missing_uri(self) -> str:
        return f"band:{self.home}/nowhere/config.json"

    def test_resolves_every_service_through_a_resolver(self) -> None:
        uri = self.store({"BW_ACCOUNT_ID": "920012", "BW_PASSWORD": CANARY_PASSWORD})
        resolver = Resolver([uri])

        voice = resolver.get_auth("voice")
        messaging = resolver.get_auth("messaging")

        assert (voice.scheme, voice.account_id, voice.client_id) == (
            "bearer",
            "920012",
            "contract-client",
        )
        assert messaging.scheme == "bearer"
        assert voice.provenance["client_secret"].source == uri


def assert_clean(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


def error_graph_text(exc: BaseException) -> str:
    texts = ["".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    return "\n".join(texts + [repr(value) for _, value in exception_graph(exc)])


def broken_json(home: Path) -> None:
    config_path(home).write_text('{"client_id": "' + CANARY_SECRET + '", oops}')


def secret_typed_field(home: Path) -> None:
    save_config(config_path(home), {"profiles": {"default": {"client_id": "c"}}})
    data = json.loads(config_path(home).read_text())
    data["profiles"]["default"]["account_id"] = [CANARY_SECRET]
    config_path(home).write_text(json.dumps(data))


def no_backend(home: Path) -> None:
    use_backend(fail.Keyring())


def other_client(home: Path) -> None:
    save_config(config_path(home), {"client_id": "cli-without-secret"})


FAILURES = [broken_json, secret_typed_field, no_backend, other_client]


@pytest.mark.parametrize("break_it", FAILURES, ids=lambda f: f.__name__)
def test_no_canary_in_errors_logs_or_warnings(
    home: Path, caplog: pytest.LogCaptureFixture, break_it: object
) -> None:
    login(home, client_id="cli-a", secret=CANARY_PASSWORD, accounts=["920012"])
    assert callable(break_it)
    break_it(home)
    caplog.set_level(logging.DEBUG)  # every logger, keyring's own included

    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        with pytest.raises(CredentialsError) as caught:
            Resolver(["band:"]).get_auth("voice")

    error = caught.value
    assert isinstance(error, SourceError)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert_clean(error_graph_text(error))
    assert_clean("\n".join(record.getMessage() for record in caplog.records))
    assert_clean("\n".join(str(w.message) for w in caught_warnings))


def test_no_canary_on_success(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    login(home, client_id="cli-a", secret=CANARY_PASSWORD, accounts=["920012"])
    caplog.set_level(logging.DEBUG)
    provider = BandProvider(parse_source("band:"))

    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        fetched = provider.fetch()
        voice = Resolver(["band:"]).get_auth("voice")

    assert fetched.values["client_secret"] == CANARY_PASSWORD
    assert_clean(repr(fetched) + repr(provider) + repr(voice) + str(voice))
    assert_clean("\n".join(record.getMessage() for record in caplog.records))
    assert_clean("\n".join(str(w.message) for w in caught_warnings))


def _run(args: list[str], tmp_path: Path, home: Path, backend: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    environ.update(
        HOME=str(home),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHON_KEYRING_BACKEND=backend,
        BANDWIDTH_CREDENTIALS_SOURCES="band:",
    )
    done = subprocess.run(args, capture_output=True, text=True, env=environ, timeout=60)
    return done.stdout + done.stderr


@pytest.mark.parametrize("args", [("check",), ("check", "--json"), ("explain",)])
def test_no_canary_in_cli_output(home: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    login(home, client_id="cli-a", secret=CANARY_PASSWORD, accounts=["920012"])

    output = _run([BWCREDS, *args], tmp_path, home, "keyrings.alt.file.PlaintextKeyring")

    assert "band:" in output
    assert "client_secret" in output  # read from the keychain file in the child process
    assert_clean(output)


LAZY = """
import json, sys
import bandwidth_credentials
from bandwidth_credentials import Resolver, SourceError
resolver = Resolver(["band:"])
seen = {"built": "keyring" in sys.modules}
try:
    resolver.get_auth("voice")
except SourceError as exc:
    seen["error"] = str(exc)
seen["fetched"] = "keyring" in sys.modules
print(json.dumps(seen))
"""


def test_keyring_is_imported_only_when_the_source_fetches(home: Path, tmp_path: Path) -> None:
    login(home, client_id="cli-a", secret="s", accounts=["920012"])

    output = _run([sys.executable, "-c", LAZY], tmp_path, home, "keyring.backends.fail.Keyring")

    seen = json.loads(output)
    assert seen["built"] is False
    assert seen["fetched"] is True
    assert "no usable keyring backend (keyring.backends.fail.Keyring" in seen["error"]
