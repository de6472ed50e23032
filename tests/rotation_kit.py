"""Helpers for the core's rotation tests beyond the store contract
(:class:`bandwidth_credentials.testing.StoreContract` runs the scenarios every writable
store passes): the loopback Bandwidth with the rotated client and an admin, the values a
store is seeded with, and the checks made after a rotation."""

from __future__ import annotations

from typing import Any, Protocol

from bandwidth_credentials.testing._store_kit import (
    ADMIN_ID,
    ADMIN_SECRET,
    CANARIES,
    CLIENT_ID,
    NEW_EXPIRY,
    OLD_EXPIRY,
    OLD_SECRET,
    Crash,
    admin_file,
    bandwidth,
    frames_holding,
    run_cli,
    seed_values,
    served_secret,
    server_instant,
)
from bandwidth_credentials.testing._store_kit import assert_rotated as rotated

__all__ = [
    "ADMIN_ID",
    "ADMIN_SECRET",
    "CANARIES",
    "CLIENT_ID",
    "NEW_EXPIRY",
    "OLD_EXPIRY",
    "OLD_SECRET",
    "Crash",
    "Store",
    "admin_file",
    "assert_rotated",
    "bandwidth",
    "frames_holding",
    "run_cli",
    "seeded",
    "served_secret",
    "server_instant",
]


class Store(Protocol):
    """One writable store as a test sees it: its URI, seeded and read through the store's
    own client."""

    uri: str

    def seed(self, values: Any) -> None: ...

    def read(self) -> dict[str, Any]: ...


def seeded(store: Store, api_url: str) -> None:
    """Seed ``store`` with the client's credentials, API host ``api_url``."""
    store.seed(seed_values(api_url))


def assert_rotated(store: Store, server: Any, number: int = 0) -> None:
    """The store serves the ``number``-th created secret, with its expiry, no pending keys,
    and Bandwidth accepts it."""
    rotated(store.read(), store.uri, server, number)
