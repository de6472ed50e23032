from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
#: Basic credentials, on a day when Bandwidth still accepted them (before 2026-12-02).
FULL = {
    "BW_ACCOUNT_ID": "920012",
    "BW_USERNAME": "jdoe",
    "BW_PASSWORD": "correct-horse-battery-staple",
    "BW_API_TOKEN": "tok-123",
    "BW_API_SECRET": "sec-456",
    "BANDWIDTH_CREDENTIALS_TODAY": "2026-11-30",
}


def bwcreds(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    environ.update(env or {})
    return subprocess.run(
        [BWCREDS, *args], capture_output=True, text=True, env=environ, timeout=60, check=False
    )


def test_console_script_is_installed() -> None:
    assert Path(BWCREDS).exists()


def test_check_all_ready_exits_0_with_a_table() -> None:
    result = bwcreds("check", env=FULL)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["SERVICE", "READY", "SCHEME", "CREDENTIALS", "FROM"]
    voice = next(line for line in lines if line.startswith("voice"))
    assert voice.split()[:4] == ["voice", "yes", "basic", "api_user"]
    assert "env (BW_ACCOUNT_ID, BW_USERNAME, BW_PASSWORD)" in voice
    messaging = next(line for line in lines if line.startswith("messaging"))
    assert "messaging_token" in messaging
    # Columns are aligned: every row's READY column starts at the same offset.
    offsets = {line.index(line.split()[1]) for line in lines[:5]}
    assert len(offsets) == 1


def test_check_some_not_ready_exits_1_and_says_why() -> None:
    env = {k: v for k, v in FULL.items() if k not in ("BW_USERNAME", "BW_PASSWORD")}

    result = bwcreds("check", env=env)

    assert result.returncode == 1
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:8]}
    assert rows["voice"] == "NO"
    assert rows["messaging"] == "yes"
    assert "voice: no credentials for the voice API" in result.stdout


def test_check_only_the_requested_services() -> None:
    env = {k: v for k, v in FULL.items() if k not in ("BW_USERNAME", "BW_PASSWORD")}

    result = bwcreds("check", "messaging", env=env)

    assert result.returncode == 0
    assert "voice" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--sources", "nosuch:x"),
        ("check", "--sources", "vault-x:"),
        ("check", "fax"),
        ("explain", "--sources", "env?bogus=1"),
    ],
)
def test_configuration_errors_exit_2(args: tuple[str, ...]) -> None:
    result = bwcreds(*args, env=FULL)

    assert result.returncode == 2
    assert "configuration error" in result.stderr


def test_conflicting_keys_in_one_source_exit_2() -> None:
    result = bwcreds("check", env={**FULL, "BANDWIDTH_USERNAME": "someone-else"})

    assert result.returncode == 2
    assert "BW_USERNAME" in result.stderr
    assert "BANDWIDTH_USERNAME" in result.stderr


@pytest.mark.parametrize(
    ("services", "label"),
    [((), "every service"), (("voice",), "voice"), (("voice", "sms"), "voice, messaging")],
)
def test_failing_source_exits_1_naming_the_services_asked_for(
    tmp_path: Path, services: tuple[str, ...], label: str
) -> None:
    result = bwcreds("check", *services, "--sources", f"dotenv:{tmp_path / 'missing.env'}")

    assert result.returncode == 1
    assert f"\n{label}: source dotenv:" in result.stdout
    assert "does not exist" in result.stdout


def test_check_json() -> None:
    result = bwcreds("check", "--json", env=FULL)

    data = json.loads(result.stdout)
    assert data["ready"] is True
    assert data["sources"] == ["env", "dotenv:.env?optional=true"]
    voice = next(s for s in data["services"] if s["service"] == "voice")
    assert voice["scheme"] == "basic"
    assert voice["sources"]["password"] == ["env", "BW_PASSWORD"]


def test_explain_shows_source_and_key_per_field(tmp_path: Path) -> None:
    dotenv = tmp_path / "bw.env"
    dotenv.write_text("BW_ACCOUNT_ID=920012\nBW_USERNAME=file-user\nBW_PASSWORD=file-pw\n")

    result = bwcreds(
        "explain",
        "--sources",
        f"env,dotenv:{dotenv}",
        env={
            "BW_API_TOKEN": "t",
            "BW_API_SECRET": "s",
            "BANDWIDTH_CREDENTIALS_TODAY": "2026-11-30",
        },
    )

    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["voice", "password", f"dotenv:{dotenv}", "BW_PASSWORD"] == rows[3][:4] or any(
        row[:4] == ["voice", "password", f"dotenv:{dotenv}", "BW_PASSWORD"] for row in rows
    )
    assert any(row[:4] == ["messaging", "api_secret", "env", "BW_API_SECRET"] for row in rows)
    assert any(row[:2] == ["env", "BW_API_SECRET"] and "masked" in row for row in rows)


def test_explain_json() -> None:
    result = bwcreds("explain", "--json", env={**FULL, "BW_VOICE_USERNAME": "half"})

    data = json.loads(result.stdout)
    voice = next(s for s in data["services"] if s["service"] == "voice")
    fields = {f["field"]: f for f in voice["fields"]}
    assert fields["username"]["key"] == "BW_USERNAME"
    assert fields["account_id"]["source"] == "env"
    assert any("half pair" in note for note in data["notes"])
    assert all(k["value"] in ("masked", "present") for k in data["keys"])


def test_providers_lists_the_builtin_schemes() -> None:
    result = bwcreds("providers")

    assert result.returncode == 0
    schemes = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert {"env", "dotenv"} <= schemes


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bandwidth_credentials", "check", "--json"],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))},
            **FULL,
        },
        check=False,
    )

    assert result.returncode == 0
    assert json.loads(result.stdout)["ready"] is True


def test_check_notes_that_basic_is_deprecated() -> None:
    result = bwcreds("check", env=FULL)

    assert "Bandwidth decommission" in result.stdout
    assert "BW_CLIENT_ID" in result.stdout
    assert "Warning" not in result.stderr  # the note says it; no warning on top


def test_check_with_oauth_shows_bearer_and_no_deprecation_note() -> None:
    env = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "cid", "BW_CLIENT_SECRET": "cs"}

    result = bwcreds("check", env=env)

    assert result.returncode == 0, result.stderr
    voice = next(line for line in result.stdout.splitlines() if line.startswith("voice"))
    assert voice.split()[:4] == ["voice", "yes", "bearer", "oauth"]
    assert "decommission" not in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("check", "--sources", "dotenv:examples/example.env"),
        ("check", "--json", "--sources", "dotenv:examples/example.env"),
        ("explain", "--sources", "dotenv:examples/example.env"),
        ("providers",),
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_a_reader_that_went_away_gets_no_traceback(command: tuple[str, ...]) -> None:
    # `bwcreds check | head -3`: the pipe's read end is closed before bwcreds writes.
    read_end, write_end = os.pipe()
    os.close(read_end)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    try:
        result = subprocess.run(
            [BWCREDS, *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=environ,
            cwd=Path(__file__).resolve().parents[1],
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)

    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr
    assert result.returncode == 1
