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

__all__ = ["table", "write_list"]


def table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """``rows`` (the first is the heading) in columns two spaces apart, no trailing blanks."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")


def write_list(out: TextIO, heading: str, lines: Sequence[str]) -> None:
    """A blank line, ``heading:`` and one ``  - line`` each; nothing when empty."""
    if lines:
        out.write(f"\n{heading}:\n")
        for line in lines:
            out.write(f"  - {line}\n")
