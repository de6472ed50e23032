from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BWCREDS = str(Path(sys.executable).with_name("bwcreds"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(extra)
    return env


def test_readme_command_checks_the_bundled_example() -> None:
    result = subprocess.run(
        [BWCREDS, "check", "--sources", "dotenv:examples/example.env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split()[:4] for line in result.stdout.splitlines()[1:9]]
    assert {tuple(row[1:]) for row in rows} == {("yes", "bearer", "oauth")}
    assert "correct-horse-battery-staple" not in result.stdout
    assert "Xq7v2LmT9pRw4sZk8YbN3cHf6JdG5aUe" not in result.stdout


def test_quickstart_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, "examples/quickstart.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(BANDWIDTH_CREDENTIALS_SOURCES="dotenv:examples/example.env"),
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "https://messaging.bandwidth.com/api/v2/users/920012/messages" in result.stdout
    assert "Authorization: Bearer ****" in result.stdout
    assert "correct-horse" not in result.stdout
    # One column per field, however long the service name.
    assert len({line.index("https://") for line in result.stdout.splitlines()}) == 1
