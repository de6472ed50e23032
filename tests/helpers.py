"""Test helpers: a provider whose fetches the test controls."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import ClassVar

from bandwidth_credentials import Fetched, Provider, Source, SourceError


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

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.name = source.target

    def fetch(self) -> Fetched:
        MemoryProvider.fetches[self.name] = MemoryProvider.fetches.get(self.name, 0) + 1
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
