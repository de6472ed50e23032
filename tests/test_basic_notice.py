"""The Basic notice: a FutureWarning end users see, once, at their own line, dated."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path
from unittest import mock

import pytest

from bandwidth_credentials import Resolver
from bandwidth_credentials._factory import BasicDeprecationWarning, basic_notice
from bandwidth_credentials.testing import reset

BASIC = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"}


def run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (or the script at that path) in a fresh process with Basic in env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.pop("PYTHONWARNINGS", None)
    env.update(BASIC)
    program = [code] if code.endswith(".py") else ["-c", code]
    return subprocess.run(
        [sys.executable, *flags, *program],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ((2026, 11, 29), "decommissions API user credentials (HTTP Basic) on 2026-12-02"),
        ((2026, 12, 1), "decommissions API user credentials (HTTP Basic) on 2026-12-02"),
        ((2026, 12, 2), "decommissioned API user credentials (HTTP Basic) on 2026-12-02"),
        ((2027, 3, 1), "no longer accepts them"),
    ],
)
def test_the_notice_follows_the_date(today: tuple[int, int, int], expected: str) -> None:
    notice = basic_notice(today)

    assert expected in notice
    assert "BW_CLIENT_ID" in notice
    assert "BW_CLIENT_SECRET" in notice


def test_python_default_filters_show_it_at_the_callers_line() -> None:
    result = run("import bandwidth_credentials as b\nb.get_auth('voice')\nb.get_auth('numbers')")

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("BasicDeprecationWarning") == 1
    assert "<string>:2: BasicDeprecationWarning" in result.stderr


def test_under_w_error_it_surfaces_once_and_later_calls_work() -> None:
    code = (
        "import bandwidth_credentials as b\n"
        "try:\n"
        "    b.get_auth('voice')\n"
        "except FutureWarning as exc:\n"
        "    print('raised', type(exc).__name__)\n"
        "print('then', b.get_auth('voice').username, b.get_auth('numbers').username)\n"
    )

    result = run(code, "-W", "error")

    assert result.returncode == 0, result.stderr
    assert "raised BasicDeprecationWarning" in result.stdout
    assert "then jdoe jdoe" in result.stdout


def test_oauth_credentials_raise_no_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": "c",
        "BW_CLIENT_SECRET": "s",
    }.items():
        monkeypatch.setenv(name, value)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Resolver(["env"]).get_auth("voice")

    assert not [w for w in caught if issubclass(w.category, BasicDeprecationWarning)]


def test_it_is_a_future_warning() -> None:
    assert issubclass(BasicDeprecationWarning, FutureWarning)


def test_a_script_sees_the_notice_with_its_own_source_line(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("import bandwidth_credentials as b\nvoice = b.get_auth('voice')  # here\n")

    result = run(str(script))

    assert result.returncode == 0, result.stderr
    assert f"{script}:2: BasicDeprecationWarning: " in result.stderr
    assert "voice = b.get_auth('voice')  # here" in result.stderr


@pytest.mark.parametrize(
    "setup",
    [
        "import warnings\n"
        "from bandwidth_credentials import BasicDeprecationWarning\n"
        "warnings.filterwarnings('ignore', category=BasicDeprecationWarning)\n",
        "import warnings\nwarnings.simplefilter('ignore', FutureWarning)\n",
    ],
    ids=["documented-recipe", "all-future-warnings"],
)
def test_filters_set_by_the_application_silence_it(setup: str) -> None:
    result = run(setup + "import bandwidth_credentials as b\nb.get_auth('voice')\n")

    assert result.returncode == 0, result.stderr
    assert "BasicDeprecationWarning" not in result.stderr


def test_pythonwarnings_silences_it() -> None:
    result = run(
        "import bandwidth_credentials as b\nb.get_auth('voice')\n", "-W", "ignore::FutureWarning"
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_logging_capture_warnings_receives_it() -> None:
    code = (
        "import logging\n"
        "logging.basicConfig(format='LOGGED %(name)s %(message)s')\n"
        "logging.captureWarnings(True)\n"
        "import bandwidth_credentials as b\n"
        "b.get_auth('voice')\n"
    )

    result = run(code)

    assert result.returncode == 0, result.stderr
    assert "LOGGED py.warnings " in result.stderr
    assert "BasicDeprecationWarning" in result.stderr


def test_a_patched_warnings_warn_receives_the_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASIC.items():
        monkeypatch.setenv(name, value)
    reset()

    with mock.patch("warnings.warn") as warn:
        Resolver(["env"]).get_auth("voice")

    assert warn.call_count == 1
    assert warn.call_args.args[1] is BasicDeprecationWarning
