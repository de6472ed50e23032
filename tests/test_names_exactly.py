"""Names exactly as documented: ASCII case only in the environment and ``.env``, loose
spellings in stores ignore only ``_``, ``-``, case and camelCase; one name twice in one
``.env`` is an error; Bitwarden's ``BW_PASSWORD`` is not Bandwidth's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bandwidth_credentials import (
    ConfigurationError,
    CredentialNotFoundError,
    Resolver,
)
from bandwidth_credentials.testing import CANARY_PASSWORD

from .helpers import MemoryProvider

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
pytestmark = pytest.mark.filterwarnings("ignore:Bandwidth decommission")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("BW_", "BANDWIDTH_"))}
    env.update(extra)
    return env


def _set(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name in [n for n in os.environ if n.upper().startswith(("BW_", "BANDWIDTH_"))]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


# Unicode case mapping folds these onto documented names: U+017F (long s) upper-cases to
# "S", U+0131 (dotless i) to "I".
LOOK_ALIKES = [
    ("long s", {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PA\u017f\u017fWORD": "x"}),
    (
        "dotless i",
        {"bw_account_\u0131d": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"},
    ),
    ("dotless i in _FILE", {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe"}),
]


@pytest.mark.parametrize(("name", "values"), LOOK_ALIKES, ids=[case[0] for case in LOOK_ALIKES])
def test_look_alike_variable_names_are_not_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, values: dict[str, str]
) -> None:
    secret = tmp_path / "password"
    secret.write_text(CANARY_PASSWORD + "\n", encoding="utf-8")
    if name == "dotless i in _FILE":
        values = {**values, "BW_PASSWORD_F\u0131LE": str(secret)}
    _set(monkeypatch, values)

    with pytest.raises(CredentialNotFoundError):
        Resolver(["env"]).get_auth("voice")


def test_a_look_alike_name_in_a_dotenv_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "creds.env"
    path.write_text(
        "BW_ACCOUNT_ID=920012\nBW_USERNAME=jdoe\nBW_PA\u017f\u017fWORD=x\n", encoding="utf-8"
    )

    with pytest.raises(CredentialNotFoundError):
        Resolver([f"dotenv:{path}"]).get_auth("voice")


def test_documented_names_still_match_in_any_ascii_case(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, {"bw_account_id": "920012", "Bw_Username": "jdoe", "BW_password": "pw"})

    auth = Resolver(["env"]).get_auth("voice")

    assert (auth.account_id, auth.username) == ("920012", "jdoe")


@pytest.mark.parametrize(
    "key", ["pass\u200bword", "password\u00e9", "pa\u017f\u017fword", "pass word"]
)
def test_store_keys_ignore_only_separators_case_and_camel_case(key: str) -> None:
    MemoryProvider.stores["a"] = {"accountId": "920012", "username": "jdoe", key: "pw"}

    with pytest.raises(CredentialNotFoundError):
        Resolver(["mem:a"]).get_auth("voice")


@pytest.mark.parametrize("key", ["password", "PASSWORD", "Password", "api-password", "BW_PASSWORD"])
def test_store_keys_in_the_accepted_spellings_are_read(key: str) -> None:
    MemoryProvider.stores["a"] = {"account-id": "920012", "userName": "jdoe", key: "pw"}

    auth = Resolver(["mem:a"]).get_auth("voice")

    assert auth.password is not None
    assert auth.password.get_secret_value() == "pw"


def test_one_name_twice_in_a_dotenv_file_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "creds.env"
    path.write_text(
        f"BW_ACCOUNT_ID=920012\nBW_PASSWORD={CANARY_PASSWORD}\nBW_USERNAME=jdoe\n"
        "# rotated\nBW_PASSWORD=newer\n",
        encoding="utf-8",
    )

    with pytest.raises(ConfigurationError) as caught:
        Resolver([f"dotenv:{path}"]).get_auth("voice")

    message = str(caught.value)
    assert "BW_PASSWORD" in message
    assert "lines 2 and 5" in message
    assert CANARY_PASSWORD not in message
    assert "newer" not in message


def test_one_name_twice_with_the_same_value_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "creds.env"
    path.write_text(
        "BW_ACCOUNT_ID=920012\nBW_PASSWORD=pw\nBW_USERNAME=jdoe\nBW_PASSWORD=pw\n",
        encoding="utf-8",
    )

    assert Resolver([f"dotenv:{path}"]).get_auth("voice").username == "jdoe"


# -- Bitwarden's BW_PASSWORD -----------------------------------------------------------------


@pytest.mark.parametrize("bitwarden", ["BW_SESSION", "BW_CLIENTID", "BW_CLIENTSECRET"])
def test_bw_password_next_to_bitwardens_variables_is_not_read(
    monkeypatch: pytest.MonkeyPatch, bitwarden: str
) -> None:
    _set(
        monkeypatch,
        {
            bitwarden: "bitwarden-value",
            "BW_ACCOUNT_ID": "920012",
            "BW_USERNAME": "jdoe",
            "BW_PASSWORD": CANARY_PASSWORD,
        },
    )

    with pytest.raises(CredentialNotFoundError):
        Resolver(["env"]).get_auth("voice")


def test_bandwidth_password_is_read_next_to_bitwardens_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set(
        monkeypatch,
        {
            "BW_SESSION": "bitwarden-session",
            "BW_PASSWORD": CANARY_PASSWORD,
            "BW_ACCOUNT_ID": "920012",
            "BW_USERNAME": "jdoe",
            "BANDWIDTH_PASSWORD": "bandwidth-pw",
        },
    )

    auth = Resolver(["env"]).get_auth("voice")

    assert auth.password is not None
    assert auth.password.get_secret_value() == "bandwidth-pw"


def test_bw_password_without_bitwarden_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"})

    assert Resolver(["env"]).get_auth("voice").username == "jdoe"


@pytest.mark.parametrize("command", ["check", "explain"])
def test_check_and_explain_say_why_bw_password_was_not_read(command: str, tmp_path: Path) -> None:
    env = clean_env(
        BW_SESSION="bitwarden-session",
        BW_ACCOUNT_ID="920012",
        BW_USERNAME="jdoe",
        BW_PASSWORD=CANARY_PASSWORD,
    )

    result = subprocess.run(
        [BWCREDS, command, "--sources", "env"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "BW_SESSION is set" in result.stdout
    assert "BANDWIDTH_PASSWORD" in result.stdout
    assert CANARY_PASSWORD not in result.stdout + result.stderr
