"""Helpers for the file-reading tests: bounded runs of a blocking suspect, exception graphs."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import NamedTuple

import pytest

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


def exception_graph(root: BaseException) -> Iterator[object]:
    """Every object reachable from ``root`` through ``__cause__``, ``__context__``,
    ``args`` and instance attributes (recursing into exceptions and containers)."""
    seen: set[int] = set()
    pending: list[object] = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, BaseException):
            pending.extend([node.__cause__, node.__context__, *node.args])
            pending.extend(vars(node).values())
        elif isinstance(node, dict):
            pending.extend([*node.keys(), *node.values()])
        elif isinstance(node, (list, tuple, set, frozenset)):
            pending.extend(node)


def assert_clean(error: BaseException, *canaries: str) -> None:
    """No canary anywhere in ``error``'s graph or its formatted traceback, no foreign
    decoding error attached, and nothing chained."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    for node in exception_graph(error):
        assert not isinstance(node, UnicodeError), "a decoding error is reachable"
        if isinstance(node, (bytes, bytearray)):
            text += node.decode("latin-1")
        else:
            text += repr(node)
    for canary in canaries:
        assert canary not in text
    assert error.__cause__ is None
    assert error.__context__ is None
