"""Client-secret expiry: ``client_secret_expires_at`` kept next to the secret, judged by date.

``bwcreds check`` warns from 14 days before (configurable) and reports the service not
ready once the instant has passed; ``get_auth()`` logs one warning per secret and process
within the window. The date comes only from ``_calendar`` (pinned here).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bandwidth_credentials import InvalidCredentialsError, Resolver
from bandwidth_credentials._calendar import format_instant, parse_instant
from bandwidth_credentials._cli import main
from bandwidth_credentials.testing import today_is

TODAY = (2026, 12, 6)


def _source(tmp_path: Path, expires_at: str, key: str = "client_secret_expires_at") -> str:
    path = tmp_path / "bw.json"
    values = {
        "account_id": "920012",
        "client_id": "CLI-1",
        "client_secret": "canary-sec-ret-77",
        key: expires_at,
    }
    path.write_text(json.dumps(values))
    return f"file:{path}"


@pytest.mark.parametrize(
    ("expires_at", "window", "ready", "note"),
    [
        ("2027-03-06T00:00:00Z", None, True, None),
        ("2026-12-20T00:00:01Z", None, True, None),  # 14 days and a second: not yet
        ("2026-12-20T00:00:00Z", None, True, "expires at 2026-12-20T00:00:00Z (in 14 days)"),
        ("2026-12-07T12:00:00Z", None, True, "(in 1 day)"),
        ("2026-12-06T12:00:00Z", None, True, "(in less than a day)"),
        ("2026-12-20T00:00:01Z", "30", True, "expires at 2026-12-20T00:00:01Z"),
        ("2026-12-10T00:00:00Z", "3", True, None),
        ("2026-12-06T00:00:00Z", None, False, "expired at 2026-12-06T00:00:00Z"),
        ("2026-11-30", None, False, "expired at 2026-11-30"),
    ],
)
def test_check_warns_within_the_window_and_fails_after(
    expires_at: str,
    window: str | None,
    ready: bool,
    note: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = _source(tmp_path, expires_at)
    args = ["check", "voice", "--sources", source, "--json"]
    args += ["--expiry-warning-days", window] if window else []

    with today_is(TODAY):
        code = main(args)

    document = json.loads(capsys.readouterr().out)
    assert code == (0 if ready else 1)
    assert document["services"][0]["ready"] is ready
    assert document["services"][0]["client_secret_expires_at"] == expires_at
    expiry_notes = [n for n in document["notes"] if "client secret of CLI-1" in n]
    if note is None:
        assert expiry_notes == []
    else:
        assert [note in text for text in expiry_notes] == [True]


def test_the_window_comes_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_EXPIRY_WARNING_DAYS", "60")

    with today_is(TODAY):
        main(["check", "voice", "--sources", _source(tmp_path, "2027-01-20T00:00:00Z")])

    assert "expires at 2027-01-20T00:00:00Z" in capsys.readouterr().out


def test_the_environment_variable_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": "CLI-1",
        "BW_CLIENT_SECRET": "canary-sec-ret-77",
        "BW_CLIENT_SECRET_EXPIRES_AT": "2026-12-01T00:00:00Z",
    }.items():
        monkeypatch.setenv(name, value)

    with today_is(TODAY):
        code = main(["check", "voice", "--sources", "env"])

    assert code == 1
    assert "expired at 2026-12-01T00:00:00Z" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad", ["2027-03-06T00:00:00+02:00", "tomorrow", "2027-02-30", "2027-03-06T25:00:00Z"]
)
def test_an_unreadable_expiry_is_an_invalid_value(bad: str, tmp_path: Path) -> None:
    resolver = Resolver([_source(tmp_path, bad)])

    with pytest.raises(InvalidCredentialsError, match="client_secret_expires_at"):
        resolver.get_auth("voice")


def test_get_auth_logs_once_within_the_window(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bandwidth_credentials")

    with today_is(TODAY):
        for _ in range(3):
            resolver = Resolver([_source(tmp_path, "2026-12-12T00:00:00Z")])
            resolver.get_auth("voice")
            resolver.get_auth("numbers")
            resolver.close()

    records = [r for r in caplog.records if "client secret of CLI-1" in r.getMessage()]
    assert len(records) == 1
    assert "expires at 2026-12-12T00:00:00Z" in records[0].getMessage()


def test_get_auth_logs_nothing_outside_the_window(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bandwidth_credentials")

    with today_is(TODAY):
        Resolver([_source(tmp_path, "2027-03-06T00:00:00Z")]).get_auth("voice")

    assert [r for r in caplog.records if "client secret" in r.getMessage()] == []


def test_an_expiry_in_another_source_is_not_taken(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"client_secret_expires_at": "2026-12-01T00:00:00Z"}))
    resolver = Resolver([_source(tmp_path, "2027-03-06T00:00:00Z", key="note"), f"file:{other}"])

    with today_is(TODAY):
        resolution = resolver.resolve()

    credentials = resolution.services["voice"]
    assert not isinstance(credentials, Exception)
    assert credentials[0].client_secret_expires_at is None


@pytest.mark.parametrize(
    "text", ["2026-12-31T23:59:59Z", "2026-12-31T23:59:59.250Z", "2026-12-31T23:59:59+00:00"]
)
def test_instants_read_back(text: str) -> None:
    instant = parse_instant(text)

    assert instant is not None
    assert format_instant(instant) == "2026-12-31T23:59:59Z"


@pytest.mark.parametrize(
    ("flag", "variable", "named"),
    [
        ("99999999999999999999", None, "--expiry-warning-days"),
        ("-1", None, "--expiry-warning-days"),
        (None, "nan", "BANDWIDTH_CREDENTIALS_EXPIRY_WARNING_DAYS"),
    ],
)
def test_a_bad_window_names_where_it_came_from(
    flag: str | None,
    variable: str | None,
    named: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if variable is not None:
        monkeypatch.setenv("BANDWIDTH_CREDENTIALS_EXPIRY_WARNING_DAYS", variable)
    args = ["check", "voice", "--sources", _source(tmp_path, "2027-03-06T00:00:00Z")]
    args += ["--expiry-warning-days", flag] if flag is not None else []

    with today_is(TODAY):
        code = main(args)

    err = capsys.readouterr().err
    assert code == 2
    assert f"({named})" in err
