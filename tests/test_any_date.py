"""The suite passes on any date: the library reads the date in one place
(``_calendar.today``), and the tests whose outcome follows the date pass with the process
clock set before, on and after Bandwidth's decommissioning of API users (2026-12-02).

The clock is moved for real with libfaketime (Debian's ``faketime``, installed by
``.ci/run``), for the test process and every ``bwcreds`` it starts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bandwidth_credentials import ConfigurationError, _calendar
from bandwidth_credentials._factory import basic_notice
from bandwidth_credentials.testing import today_is

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "src" / "bandwidth_credentials"

#: The modules whose outcome would follow the date if anything read it on its own.
DATE_SENSITIVE = [
    "tests/test_basic_notice.py",
    "tests/test_docs_readme.py",
    "tests/test_cli.py",
    "tests/test_cli_diagnostics.py",
    "tests/test_testing_reset.py",
    "tests/test_decommission.py",
]


@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs faketime (libfaketime)")
@pytest.mark.parametrize("day", ["2026-01-01", "2026-12-01", "2026-12-02", "2030-12-31"])
def test_the_date_sensitive_tests_pass_on(day: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}

    result = subprocess.run(
        ["faketime", "-f", f"@{day} 12:00:00", sys.executable, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "-W", "error", *DATE_SENSITIVE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def test_only_the_calendar_module_reads_the_date() -> None:
    pattern = re.compile(r"\b(gmtime|localtime|date\.today|datetime\.now|datetime\.utcnow)\(")

    readers = [
        str(path.relative_to(ROOT))
        for path in sorted(SOURCES.rglob("*.py"))
        if path.name != "_calendar.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]

    assert readers == []


@pytest.mark.parametrize("day", [(0, 1, 1), (10_000, 1, 1), (2027, 2, 29), (2026, 0, 1)])
def test_pinning_a_day_that_is_no_date_is_refused(day: tuple[int, int, int]) -> None:
    try:
        with pytest.raises(ValueError, match="not a calendar date"):
            _calendar.pin(day)
        pinned = _calendar.pinned()
    finally:
        _calendar.pin(None)

    assert pinned is None


@pytest.mark.parametrize(
    ("day", "tense"),
    [
        ((2026, 1, 1), "decommissions"),
        ((2026, 12, 2), "decommissioned"),
        ((2030, 12, 31), "decommissioned"),
    ],
)
def test_today_is_pins_the_date_for_the_library(day: tuple[int, int, int], tense: str) -> None:
    with today_is(day):
        notice = basic_notice()

    assert notice.startswith(f"Bandwidth {tense} ")
    assert _calendar.pinned() is None


@pytest.mark.parametrize(
    ("text", "day"), [("2027-03-01", (2027, 3, 1)), (" 2028-02-29 ", (2028, 2, 29))]
)
def test_the_environment_sets_the_date_for_a_process(
    monkeypatch: pytest.MonkeyPatch, text: str, day: tuple[int, int, int]
) -> None:
    monkeypatch.setenv(_calendar.TODAY_VARIABLE, text)

    assert _calendar.today() == day


@pytest.mark.parametrize(
    "text",
    [
        "2027-02-29",
        "2027-13-01",
        "27-1-1x",
        "\uff12\uff10\uff12\uff17-01-01",
        "tomorrow",
        "0000-01-01",  # no year 0 in the calendar (nor in datetime)
        "10000-01-01",  # past what datetime holds
        "9" * 5000 + "-01-01",  # int() refuses past 4300 digits with a bare ValueError
        "2027-001-01",
    ],
    ids=lambda text: text if len(text) < 20 else f"{len(text)} characters",
)
def test_a_bad_date_in_the_environment_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(_calendar.TODAY_VARIABLE, text)

    with pytest.raises(ConfigurationError, match="BANDWIDTH_CREDENTIALS_TODAY") as caught:
        _calendar.today()

    assert text.strip() not in str(caught.value)
