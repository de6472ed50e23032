"""What :class:`~bandwidth_credentials.testing.StoreContract` runs a rotation with: the
loopback Bandwidth holding the rotated client and an admin, the values a store is seeded
with, and the checks made after a rotation (the normal chain serves the new secret; no
frame between a failure and its caller holds it).

The names are fixed so the leak harness knows every secret in advance: the old secret,
the admin's, and each secret the loopback Bandwidth creates (:func:`new_secret`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._resolver import Resolver
from ._credentials_api import (
    CREATED_CANARIES,
    CREDENTIAL_ACCESS,
    Bandwidth,
    new_secret,
    serve_bandwidth,
)
from ._leaks import check_no_leaks

__all__ = [
    "ADMIN_ID",
    "ADMIN_SECRET",
    "CANARIES",
    "CLIENT_ID",
    "NEW_EXPIRY",
    "OLD_EXPIRY",
    "OLD_SECRET",
    "Crash",
    "admin_file",
    "assert_rotated",
    "bandwidth",
    "frames_holding",
    "new_secret",
    "run_cli",
    "seed_values",
    "served_secret",
    "server_instant",
]

CLIENT_ID = "CLI-5f3a9c1e"
OLD_SECRET = "canary-old-client-secret-7Hq"
ADMIN_ID = "CLI-admin-0042"
ADMIN_SECRET = "canary-admin-client-secret-3Rk"
#: Every secret a rotation test may see: none may show up in any output.
CANARIES = (OLD_SECRET, ADMIN_SECRET, *CREATED_CANARIES)
OLD_EXPIRY = "2026-12-20T00:00:00Z"
#: With the date pinned to 2026-12-06 (midnight UTC), ``--expires-in 90d`` gives this.
NEW_EXPIRY = "2027-03-06T00:00:00Z"


class Crash(BaseException):
    """A process killed at a step boundary (not an Exception: nothing may catch it)."""


@contextmanager
def bandwidth() -> Iterator[tuple[Bandwidth, str]]:
    """The loopback Bandwidth with the client (no role, its secret expiring at
    :data:`OLD_EXPIRY`) and an admin (*Credential access*); yields it and its URL."""
    server = Bandwidth()
    server.add_client(CLIENT_ID, OLD_SECRET, expires=server_instant(OLD_EXPIRY))
    server.add_client(ADMIN_ID, ADMIN_SECRET, roles=(CREDENTIAL_ACCESS,))
    with serve_bandwidth(server) as url:
        yield server, url


def server_instant(text: str) -> float:
    """Seconds since the epoch of the ISO 8601 UTC instant ``text``."""
    from .._calendar import parse_instant

    instant = parse_instant(text)
    assert instant is not None, text
    return instant


def seed_values(api_url: str) -> dict[str, str]:
    """What a store holds before a rotation: the client, its secret and expiry, and the
    loopback Bandwidth as its API host."""
    return {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": OLD_SECRET,
        "BW_CLIENT_SECRET_EXPIRES_AT": OLD_EXPIRY,
        "BW_API_URL": api_url,
    }


def admin_file(directory: Path, api_url: str) -> str:
    """A ``file:`` source (in ``directory``) with the admin's client credentials."""
    path = directory / "admin.json"
    path.write_text(
        json.dumps({"client_id": ADMIN_ID, "client_secret": ADMIN_SECRET, "api_url": api_url})
    )
    return f"file:{path}"


def run_cli(*args: str) -> int:
    """``bwcreds rotate ARGS`` under the leak harness; its exit code."""
    from .._cli import main

    code: int = check_no_leaks(lambda: main(["rotate", *args]), CANARIES)
    return code


def served_secret(uri: str) -> str | None:
    """The client secret a fresh resolver serves from ``uri`` (the normal chain)."""
    resolver = Resolver([uri])
    try:
        outcome = resolver.resolve().services["voice"]
    finally:
        resolver.close()
    assert not isinstance(outcome, Exception), outcome
    secret = outcome[0].client_secret
    return None if secret is None else secret.get_secret_value()


def assert_rotated(held: Mapping[str, Any], uri: str, server: Bandwidth, number: int = 0) -> None:
    """The store's values ``held`` (read through its own client) hold the ``number``-th
    secret created, with its expiry and no pending keys; the normal chain serves it from
    ``uri``; Bandwidth accepts it."""
    assert held["BW_CLIENT_SECRET"] == new_secret(number)
    assert held["BW_CLIENT_SECRET_EXPIRES_AT"] == NEW_EXPIRY
    assert "BW_CLIENT_SECRET_PENDING" not in held
    assert "BW_CLIENT_SECRET_PENDING_EXPIRES_AT" not in held
    assert served_secret(uri) == new_secret(number)
    assert new_secret(number) in server.active(CLIENT_ID)


def frames_holding(error: BaseException, canary: str) -> list[str]:
    """Names of locals, in the library's frames between the caller and ``error``, holding
    ``canary`` (as a str, or a str inside a dict, list or tuple)."""

    def holds(value: object, depth: int = 0) -> bool:
        if isinstance(value, str):
            return canary in value
        if depth > 3:
            return False
        if isinstance(value, Mapping):
            return any(holds(v, depth + 1) or holds(k, depth + 1) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(holds(v, depth + 1) for v in value)
        return False

    found = []
    seen: set[int] = set()
    chained: BaseException | None = error
    while chained is not None and id(chained) not in seen:
        seen.add(id(chained))
        tb = chained.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            tb = tb.tb_next
            filename = frame.f_code.co_filename
            if "bandwidth_credentials" not in filename or "testing" in filename:
                continue  # the test's and the leak harness's own frames
            found += [
                f"{frame.f_code.co_name}:{name}"
                for name, value in frame.f_locals.items()
                if holds(value)
            ]
        chained = chained.__cause__ or chained.__context__
    return found
