"""``bwcreds``' argument parser: argparse's, sized without importing :mod:`shutil`.

argparse builds a help formatter for every ``add_argument()`` (to check the argument's
format), and its formatter imports ``shutil`` (with ``bz2``, ``lzma`` and ``fnmatch``)
to ask for the terminal's width. That costs about a third of a bare interpreter's
start-up, on every ``bwcreds exec`` container start, for a width that is only used when
help is printed. The formatter here finds the same width the same way
(``shutil.get_terminal_size``: ``$COLUMNS``, else the terminal of ``sys.__stdout__``,
else 80 columns) without that import; everything else is argparse's own.
"""

from __future__ import annotations

import argparse
import os
import sys

from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Parser"]


def terminal_columns() -> int:
    """The terminal's width in columns, as :func:`shutil.get_terminal_size` finds it."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """:class:`argparse.HelpFormatter` with the width argparse would pick by default."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
        **options: Any,
    ) -> None:
        if width is None:
            width = terminal_columns() - 2  # what argparse subtracts from shutil's answer
        super().__init__(prog, indent_increment, max_help_position, width, **options)


class Parser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` whose help formatter (and its subcommands') is
    :class:`HelpFormatter` unless another is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
