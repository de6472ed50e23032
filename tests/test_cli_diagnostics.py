"""What ``bwcreds`` says when something is off: it names the cause, once, for the services
asked about, with the same notes in text and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BWCREDS = str(Path(sys.executable).with_name("bwcreds"))
BASIC = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"}
BEFORE = {"BANDWIDTH_CREDENTIALS_TODAY": "2026-11-30"}  # Bandwidth still accepted Basic
AFTER = {"BANDWIDTH_CREDENTIALS_TODAY": "2026-12-06"}  # it no longer did


def bwcreds(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    environ.update(env or {})
    return subprocess.run(
        [BWCREDS, *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_version() -> None:
    result = bwcreds("--version")

    assert result.returncode == 0
    assert result.stdout.startswith("bwcreds ")


def test_a_service_named_twice_is_checked_once() -> None:
    result = bwcreds("check", "SMS", "Messages", env=BASIC)

    rows = [line for line in result.stdout.splitlines() if line.split()[:1] == ["messaging"]]
    assert len(rows) == 1


def test_notes_are_about_the_services_asked_for_and_shown_once(tmp_path: Path) -> None:
    env = {**BASIC, "BW_NUMBERS_USERNAME": "half"}  # a half pair for numbers only

    voice = bwcreds("check", "voice", env=env)
    numbers = bwcreds("check", "numbers", env=env)

    assert "numbers" not in voice.stdout.split("notes:")[-1]
    half = [line for line in numbers.stdout.splitlines() if "half pair" in line]
    assert len(half) == 1


def test_json_carries_the_same_notes_as_the_text() -> None:
    text = bwcreds("check", env=BASIC)
    data = json.loads(bwcreds("check", "--json", env=BASIC).stdout)

    assert data["notes"]
    for note in data["notes"]:
        assert note in text.stdout
    assert any("decommission" in note for note in data["notes"])


def test_a_skipped_optional_source_is_shown_with_why() -> None:
    result = bwcreds("check", env=BASIC)

    assert "optional sources skipped:" in result.stdout
    assert "dotenv:.env?optional=true: " in result.stdout


def test_a_dotenv_in_a_parent_directory_is_hinted_at(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BW_ACCOUNT_ID=920012\n")
    below = tmp_path / "app" / "src"
    below.mkdir(parents=True)

    result = bwcreds("check", "voice", cwd=below)

    assert result.returncode == 1
    assert "dotenv:../../.env" in result.stdout


def test_explain_exits_as_check_does() -> None:
    ready = bwcreds("explain", env={**BASIC, **BEFORE})
    decommissioned = bwcreds("explain", env={**BASIC, **AFTER})
    not_ready = bwcreds("explain", env={"BW_ACCOUNT_ID": "920012"})

    assert ready.returncode == 0
    assert decommissioned.returncode == 1
    assert bwcreds("check", env={**BASIC, **AFTER}).returncode == 1
    assert "voice: API user (Basic): decommissioned by Bandwidth on 2026-12-02" in (
        decommissioned.stdout
    )
    assert not_ready.returncode == 1


def test_explain_escapes_control_characters_in_key_names(tmp_path: Path) -> None:
    secrets = tmp_path / "bw.json"
    secrets.write_text(json.dumps({**BASIC, "weird\x1b[31mkey": "x"}))

    result = bwcreds("explain", "--sources", f"file:{secrets}")

    assert "\x1b" not in result.stdout
    assert "weird\\x1b[31mkey" in result.stdout


def test_a_broken_plugin_is_listed_with_its_reason(tmp_path: Path) -> None:
    dist = tmp_path / "broken_bw_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-bw-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[bandwidth_credentials.providers]\nbroken = no_such_module_here:Provider\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}

    result = bwcreds("providers", env=env)

    assert result.returncode == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("broken"))
    assert "BROKEN" in line
    assert "ModuleNotFoundError" in line
    assert "env" in result.stdout


def test_a_failing_required_source_is_reported_once_with_what_to_do(tmp_path: Path) -> None:
    result = bwcreds("check", "--sources", f"dotenv:{tmp_path / 'absent.env'}")

    assert result.returncode == 1
    assert result.stdout.count("does not exist") == 1
    assert "optional=true" in result.stdout


def test_a_mistyped_option_is_named_with_the_likely_one() -> None:
    result = bwcreds("check", "--sources", "env?optinal=true")

    assert result.returncode == 2
    assert "optinal (did you mean optional?)" in result.stderr
