"""The ``*_FILE`` convention of the ``env`` provider (``BW_PASSWORD_FILE=/run/secrets/...``)."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    CredentialsError,
    Resolver,
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    parse_source,
)
from bandwidth_credentials.providers.env import EnvProvider
from bandwidth_credentials.testing import CANARY_PASSWORD, CANARY_SECRET

from .helpers import error_unprivileged

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))


def secret_file(path: Path, value: str | bytes) -> str:
    if isinstance(value, bytes):
        path.write_bytes(value)
    else:
        path.write_text(value, encoding="utf-8")
    return str(path)


def full_error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + repr(exc)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")


@pytest.mark.usefixtures("account")
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (CANARY_PASSWORD + "\n", CANARY_PASSWORD),
        (CANARY_PASSWORD + "\r\n", CANARY_PASSWORD),
        (CANARY_PASSWORD, CANARY_PASSWORD),
        ("  " + CANARY_PASSWORD + "  \n", CANARY_PASSWORD),  # the normalizer trims spaces
    ],
)
def test_password_file_supplies_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    monkeypatch.setenv("BW_PASSWORD_FILE", secret_file(tmp_path / "bw_password", content))

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == expected


@pytest.mark.usefixtures("account")
@pytest.mark.parametrize("newline", ["\n", "\r\n", ""])
def test_a_leading_bom_is_not_part_of_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str
) -> None:
    content = b"\xef\xbb\xbf" + (CANARY_PASSWORD + newline).encode()
    monkeypatch.setenv("BW_PASSWORD_FILE", secret_file(tmp_path / "bw_password", content))

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == CANARY_PASSWORD
    assert voice.headers()["Authorization"].isascii()


@pytest.mark.usefixtures("account")
def test_provenance_names_the_file_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BW_PASSWORD_FILE", secret_file(tmp_path / "pw", "pw\n"))

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.provenance["password"].source == "env"
    assert voice.provenance["password"].key.startswith("BW_PASSWORD_FILE")
    assert voice.provenance["username"].key == "BW_USERNAME"


@pytest.mark.parametrize(
    ("variable", "service", "field", "extra"),
    [
        ("BW_PASSWORD_FILE", "voice", "password", {}),
        ("BANDWIDTH_PASSWORD_FILE", "voice", "password", {}),
        # A per-service pair is taken whole, so the scoped username comes along.
        ("BW_VOICE_PASSWORD_FILE", "voice", "password", {"BW_VOICE_USERNAME": "vuser"}),
        ("BW_API_SECRET_FILE", "messaging", "api_secret", {}),
        ("BW_ACCOUNT_ID_FILE", "voice", "account_id", {}),
    ],
)
def test_any_credential_variable_takes_the_file_suffix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    service: str,
    field: str,
    extra: dict[str, str],
) -> None:
    base = {
        "BW_ACCOUNT_ID": "920012",
        "BW_USERNAME": "jdoe",
        "BW_PASSWORD": "shared-pw",
        "BW_API_TOKEN": "tok",
        "BW_API_SECRET": "shared-secret",
        **extra,
    }
    plain = variable.removesuffix("_FILE").replace("BANDWIDTH_", "BW_")
    value = "920012" if field == "account_id" else CANARY_SECRET
    for name, default in base.items():
        if name != plain:
            monkeypatch.setenv(name, default)
    monkeypatch.setenv(variable, secret_file(tmp_path / "value", value + "\n"))

    auth = Resolver(["env"]).get_auth(service)

    got = auth.account_id if field == "account_id" else auth.password
    assert got is not None
    assert (got if isinstance(got, str) else got.get_secret_value()) == value
    assert auth.provenance[field].key.startswith(variable)


def test_custom_prefix_applies_to_file_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("APP_BW_USERNAME", "jdoe")
    monkeypatch.setenv("APP_BW_PASSWORD_FILE", secret_file(tmp_path / "pw", "app-pw\n"))
    monkeypatch.setenv("BW_PASSWORD_FILE", str(tmp_path / "not-read"))

    voice = Resolver(["env?prefix=APP_BW_"]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == "app-pw"
    assert voice.provenance["password"].key.startswith("APP_BW_PASSWORD_FILE")


@pytest.mark.usefixtures("account")
def test_value_and_file_with_different_values_is_an_error_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BW_PASSWORD", CANARY_SECRET)
    monkeypatch.setenv("BW_PASSWORD_FILE", secret_file(tmp_path / "pw", CANARY_PASSWORD + "\n"))

    with pytest.raises(ConfigurationError) as caught:
        Resolver(["env"]).get_auth("voice")

    message = str(caught.value)
    assert "'BW_PASSWORD'" in message
    assert "BW_PASSWORD_FILE" in message
    text = full_error_text(caught.value)
    assert CANARY_PASSWORD not in text
    assert CANARY_SECRET not in text


@pytest.mark.usefixtures("account")
def test_value_and_file_with_the_same_value_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BW_PASSWORD", "same")
    monkeypatch.setenv("BW_PASSWORD_FILE", secret_file(tmp_path / "pw", "same\n"))

    voice = Resolver(["env"]).get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == "same"


@pytest.mark.parametrize(
    ("make", "error", "reason"),
    [
        (lambda d: str(d / "absent"), SourceNotFoundError, "does not exist"),
        (lambda d: str(d), SourceFormatError, "is a directory, not a regular file"),
        (
            lambda d: secret_file(d / "bin", CANARY_PASSWORD.encode() + b"\xff\xfe"),
            SourceFormatError,
            "not UTF-8",
        ),
        (
            lambda d: secret_file(d / "big", CANARY_PASSWORD * 3000),
            SourceFormatError,
            "65536-byte limit",
        ),
    ],
    ids=["missing", "directory", "binary", "oversized"],
)
def test_unusable_file_is_a_source_error_naming_the_variable_and_path(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: object,
    error: type[SourceError],
    reason: str,
) -> None:
    assert callable(make)
    path = make(tmp_path)
    monkeypatch.setenv("BW_PASSWORD_FILE", path)

    with pytest.raises(error) as caught:
        EnvProvider(parse_source("env")).fetch()

    message = str(caught.value)
    assert "BW_PASSWORD_FILE" in message
    assert path in message
    assert reason in message
    assert caught.value.source == "env"
    assert CANARY_PASSWORD not in full_error_text(caught.value)


def test_max_size_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_PASSWORD_FILE", secret_file(tmp_path / "pw", "x" * 20))

    with pytest.raises(SourceFormatError):
        EnvProvider(parse_source("env?max_size=19")).fetch()
    fetched = EnvProvider(parse_source("env?max_size=20")).fetch()

    assert "x" * 20 in fetched.values.values()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX permissions only")
def test_unreadable_file_is_access_denied(shared_dir: Path) -> None:
    path = shared_dir / "pw"
    path.write_text(CANARY_PASSWORD, encoding="utf-8")
    path.chmod(0)
    environ = {"BW_PASSWORD_FILE": str(path)}

    kind, message = fetch_env_unprivileged(environ)

    assert kind == SourceAccessDeniedError.__name__
    assert "BW_PASSWORD_FILE" in message
    assert str(path) in message
    assert CANARY_PASSWORD not in message


def fetch_env_unprivileged(environ: dict[str, str]) -> tuple[str, str]:
    """(error type name, message) of fetching ``environ`` as a user without read access."""
    return error_unprivileged(lambda: EnvProvider(parse_source("env"), environ=environ).fetch())


@pytest.mark.usefixtures("account")
def test_file_variables_that_name_no_credential_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BW_PASSWORD", "pw")
    monkeypatch.setenv("BW_LOG_FILE", str(tmp_path / "does-not-exist.log"))
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_FILE", str(tmp_path / "nope"))

    fetched = EnvProvider(parse_source("env")).fetch()
    voice = Resolver(["env"]).get_auth("voice")

    assert "BW_LOG_FILE" not in fetched.values
    assert "BW_LOG_FILE" not in fetched.skipped  # not ours: not even reported
    assert voice.password is not None


@pytest.mark.usefixtures("account")
def test_empty_file_variable_is_an_ignored_empty_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_PASSWORD_FILE", "")

    with pytest.raises(CredentialsError) as caught:
        Resolver(["env"]).get_auth("voice")

    assert not isinstance(caught.value, SourceError)
    assert "password" in str(caught.value)


def test_environ_without_file_variables_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")

    fetched = EnvProvider(parse_source("env")).fetch()

    assert dict(fetched.values) == {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe"}
    assert dict(fetched.key_names) == {
        "BW_ACCOUNT_ID": "BW_ACCOUNT_ID",
        "BW_USERNAME": "BW_USERNAME",
    }


def test_the_file_is_read_again_on_reload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")
    path = tmp_path / "pw"
    monkeypatch.setenv("BW_PASSWORD_FILE", secret_file(path, "first\n"))
    resolver = Resolver(["env"])
    resolver.get_auth("voice")

    secret_file(path, "second\n")
    resolver.reload()
    voice = resolver.get_auth("voice")

    assert voice.password is not None
    assert voice.password.get_secret_value() == "second"


def test_bwcreds_explain_shows_the_file_variable_never_the_value(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(
        BW_ACCOUNT_ID="920012",
        BW_CLIENT_ID="CLI-1",
        BW_CLIENT_SECRET_FILE=secret_file(tmp_path / "secret", CANARY_PASSWORD + "\n"),
    )

    explain = subprocess.run(
        [BWCREDS, "explain", "--sources", "env"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    check = subprocess.run(
        [BWCREDS, "check", "voice", "--sources", "env"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert explain.returncode == 0, explain.stderr
    assert check.returncode == 0, check.stderr
    assert "BW_CLIENT_SECRET_FILE" in explain.stdout
    assert "BW_CLIENT_SECRET_FILE" in check.stdout
    for output in (explain.stdout, explain.stderr, check.stdout, check.stderr):
        assert CANARY_PASSWORD not in output
