"""The Basic notice: a FutureWarning end users see, once, at their own line, dated."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

from bandwidth_credentials import Resolver
from bandwidth_credentials._factory import BasicDeprecationWarning, basic_notice

BASIC = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "jdoe", "BW_PASSWORD": "pw"}


def run(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(BASIC)
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
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
