"""Everything a failure or a run says, gathered into one text to search for canaries."""

from __future__ import annotations

import warnings

import pytest

from bandwidth_credentials.testing import exception_graph


def everything_said(
    error: BaseException | None,
    caplog: pytest.LogCaptureFixture,
    caught: list[warnings.WarningMessage],
) -> str:
    """The error's whole graph (text and repr of everything reachable), every log record,
    every warning."""
    parts: list[str] = []
    if error is not None:
        parts += [f"{value} {value!r}" for _, value in exception_graph(error)]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), str(record.exc_info)]
    parts += [str(w.message) for w in caught]
    return "\n".join(parts)
