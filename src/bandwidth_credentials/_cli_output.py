"""How ``bwcreds`` writes its answers: aligned tables and headed lists, as plain text.

>>> table([["SERVICE", "READY"], ["voice", "yes"]], sys.stdout)   # doctest: +SKIP
SERVICE  READY
voice    yes
"""

from __future__ import annotations

from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

__all__ = ["printable", "table", "write_list"]


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (``\\x1b``,
    ``\\u202e``, and the line breaks ``\\n``, ``\\u2028``): names, server text and values
    from outside are data, not terminal input, and cannot start a line of their own.

    >>> printable("r\\nvoice  yes")
    'r\\\\nvoice  yes'
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """``rows`` (the first is the heading) in columns two spaces apart, no trailing blanks.
    A cell is one line: anything in it that is not printable (a line break from a
    server's text) is shown escaped (:func:`printable`)."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")


def write_list(out: TextIO, heading: str, lines: Sequence[str]) -> None:
    """A blank line, ``heading:`` and one ``  - line`` each (a line break inside an entry
    is shown escaped, :func:`printable`); nothing when empty."""
    if lines:
        out.write(f"\n{heading}:\n")
        for line in lines:
            out.write(f"  - {printable(line)}\n")
