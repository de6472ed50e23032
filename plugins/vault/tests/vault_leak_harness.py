"""Everything a failure or a run says, gathered into one text to search for canaries."""

from __future__ import annotations

import warnings

import pytest


def everything_said(
    error: BaseException | None,
    caplog: pytest.LogCaptureFixture,
    caught: list[warnings.WarningMessage],
) -> str:
    """The error's whole chain (text, repr, attributes), every log record, every warning."""
    parts: list[str] = []
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        parts += [str(error), repr(error), repr(error.args), repr(vars(error))]
        error = error.__cause__ or error.__context__
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), str(record.exc_info)]
    parts += [str(w.message) for w in caught]
    return "\n".join(parts)
