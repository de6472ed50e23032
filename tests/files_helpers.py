"""Helpers for the file-reading tests: bounded runs of a blocking suspect, exception graphs."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import NamedTuple

import pytest

from bandwidth_credentials.testing import exception_graph

#: A generous bound for an action that must not wait at all (the machines are noisy).
FAST = 5.0


class Outcome(NamedTuple):
    """What an action did: its result or the exception it raised, and how long it took."""

    value: object
    error: BaseException | None
    elapsed: float


def run_bounded(action: Callable[[], object], timeout: float = 2 * FAST) -> Outcome:
    """Run ``action`` on a daemon thread and fail the test if it is still running after
    ``timeout`` seconds, so a read that blocks fails the test instead of hanging the suite.
    """
    box: dict[str, object] = {}

    def work() -> None:
        started = time.monotonic()
        try:
            box["value"] = action()
        except BaseException as exc:  # the test inspects whatever was raised
            box["error"] = exc
        box["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"still blocked after {timeout} s")
    error = box.get("error")
    assert error is None or isinstance(error, BaseException)
    elapsed = box["elapsed"]
    assert isinstance(elapsed, float)
    return Outcome(box.get("value"), error, elapsed)


def assert_clean(error: BaseException, *canaries: str) -> None:
    """No canary anywhere in ``error``'s graph or its formatted traceback, no foreign
    decoding error attached, and nothing chained."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    for _, node in exception_graph(error):
        assert not isinstance(node, UnicodeError), "a decoding error is reachable"
        if isinstance(node, (bytes, bytearray)):
            text += node.decode("latin-1")
        else:
            text += repr(node)
    for canary in canaries:
        assert canary not in text
    assert error.__cause__ is None
    assert error.__context__ is None
