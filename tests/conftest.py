from __future__ import annotations

from collections.abc import Iterator

import pytest

from bandwidth_credentials import register_provider, unregister_provider

from .helpers import MemoryProvider


@pytest.fixture(autouse=True)
def _memory_provider() -> Iterator[None]:
    MemoryProvider.reset()
    register_provider("mem", MemoryProvider)
    yield
    unregister_provider("mem")
    MemoryProvider.reset()
