"""Test helpers: a provider whose fetches the test controls, and unprivileged reads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import ClassVar

import pytest

from bandwidth_credentials import Fetched, Provider, Source, SourceError
from bandwidth_credentials.testing import in_forked_child


class MemoryProvider(Provider):
    """``mem:NAME`` serves the mapping stored under NAME in ``MemoryProvider.stores``.

    It counts fetches, can be told to fail, and can block until released.
    """

    scheme = "mem"
    options = frozenset({"version"})
    stores: ClassVar[dict[str, Mapping[str, object]]] = {}
    fetches: ClassVar[dict[str, int]] = {}
    fail: ClassVar[dict[str, Exception]] = {}
    gate: ClassVar[threading.Event | None] = None
    counted: ClassVar[threading.Condition] = threading.Condition()  # notified per fetch

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.name = source.target

    def fetch(self) -> Fetched:
        with MemoryProvider.counted:
            MemoryProvider.fetches[self.name] = MemoryProvider.fetches.get(self.name, 0) + 1
            MemoryProvider.counted.notify_all()
        if MemoryProvider.gate is not None:
            MemoryProvider.gate.wait(10)
        error = MemoryProvider.fail.get(self.name)
        if error is not None:
            raise error
        if self.name not in MemoryProvider.stores:
            raise SourceError(f"source {self.source.uri}: no such store", source=self.source.uri)
        return Fetched(values=dict(MemoryProvider.stores[self.name]), version="v1")

    @classmethod
    def reset(cls) -> None:
        cls.stores = {}
        cls.fetches = {}
        cls.fail = {}
        cls.gate = None


NOBODY = 65534

needs_posix = pytest.mark.skipif(
    not hasattr(os, "geteuid") or not hasattr(os, "fork"), reason="POSIX permissions only"
)


def error_of(action: Callable[[], object]) -> tuple[str, str]:
    """(error type name, message) raised by ``action``, or ("ok", "")."""
    try:
        action()
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


def error_unprivileged(action: Callable[[], object]) -> tuple[str, str]:
    """``error_of(action)`` as a user that cannot read root's files.

    Root reads any file whatever its mode, so ``chmod 0`` alone proves nothing there:
    as root, ``action`` runs in a forked child that switched to ``nobody``.
    """
    if os.geteuid() != 0:
        return error_of(action)

    def as_nobody() -> str:
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        except OSError:
            return "setuid-failed\n"
        return "\n".join(error_of(action))

    kind, _, message = in_forked_child(as_nobody).partition("\n")
    if kind == "setuid-failed":
        pytest.skip("running as root without the right to switch to an unprivileged user")
    return kind, message


class Background:
    """Collects background refreshes (a resolver's ``spawn``); the test runs them when it
    chooses, and work they start meanwhile waits for the next ``run()``."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, work: Callable[[], None]) -> None:
        self.pending.append(work)

    def run(self) -> None:
        work, self.pending = self.pending, []
        for item in work:
            item()
