"""bwcreds' argument parser sizes its help as argparse does, without importing shutil."""

from __future__ import annotations

import argparse
import shutil

import pytest

from bandwidth_credentials._cli import _parser
from bandwidth_credentials._cli_parser import HelpFormatter, terminal_columns


@pytest.mark.parametrize("columns", ["50", "132", "0", "-3", "wide", ""])
def test_the_width_is_the_one_shutil_finds(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)

    assert terminal_columns() == shutil.get_terminal_size().columns


def test_without_columns_the_width_is_the_one_shutil_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)

    assert terminal_columns() == shutil.get_terminal_size().columns


def _help(parser: argparse.ArgumentParser, command: str | None) -> str:
    if command is None:
        return parser.format_help()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command].format_help()


@pytest.mark.parametrize("columns", ["40", "80", "200"])
@pytest.mark.parametrize("command", [None, "check", "explain", "exec"])
def test_help_reads_exactly_as_with_argparses_own_formatter(
    monkeypatch: pytest.MonkeyPatch, columns: str, command: str | None
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    ours = _parser()
    monkeypatch.setattr(HelpFormatter, "__init__", argparse.HelpFormatter.__init__)
    theirs = _parser()

    assert _help(ours, command) == _help(theirs, command)


def test_the_width_reaches_the_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    narrow = _help(_parser(), "check")
    monkeypatch.setenv("COLUMNS", "200")
    wide = _help(_parser(), "check")

    assert len(narrow.splitlines()) > len(wide.splitlines())
