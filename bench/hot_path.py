"""The hot path next to its floors, in one run: ``headers()`` and ``get_auth()``.

    python bench/hot_path.py        (also part of: tox -e bench)

- ``headers()`` of a bearer ``ServiceAuth`` whose OAuth token is cached (fetched once from
  a loopback token endpoint, then served from the token manager's snapshot; the account
  check is done once per token), next to its floor: a bare method returning a new
  one-key dict. Goal: <= 3.0x.
- cached ``get_auth("voice")`` with OAuth client credentials from ``env`` (nothing ever
  due: no clock read), next to its floor: a bare method doing one dict lookup.
  Goal: <= 2.0x.

Each figure is the best of 9 rounds of 300,000 calls, every call through a lambda on both
sides, and each case's rounds alternate with its floor's, so load on a shared machine
hits both alike: compare the ratios, measured in the same run. A benchmark, not a
test: nothing here asserts a time.
"""

from __future__ import annotations

import os
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.oauth_servers import TokenServer, serve

CLIENT, SECRET = "bench-client", "bench-secret"
NUMBER = 300_000
ROUNDS = 9


class _Bare:
    """The floors: what any auth object's ``headers()`` and any cache's lookup cost."""

    def __init__(self) -> None:
        self.value = "Bearer " + "x" * 40
        self.table = {"voice": object()}

    def headers(self) -> dict[str, str]:
        return {"Authorization": self.value}

    def get(self, name: str) -> object:
        return self.table.get(name)


def versus(floor: Callable[[], object], ours: Callable[[], object]) -> tuple[float, float]:
    """(floor, ours) in ns per call: the best of :data:`ROUNDS` alternating rounds."""
    best = [float("inf"), float("inf")]
    for _ in range(ROUNDS):
        for side, call in enumerate((floor, ours)):
            best[side] = min(best[side], timeit.timeit(call, number=NUMBER) / NUMBER * 1e9)
    return best[0], best[1]


def main() -> None:
    from bandwidth_credentials import Resolver

    bare = _Bare()
    server = TokenServer(CLIENT, SECRET)
    with serve(server) as url:
        os.environ.update(
            BW_ACCOUNT_ID="920012",
            BW_CLIENT_ID=CLIENT,
            BW_CLIENT_SECRET=SECRET,
            BW_TOKEN_URL=url + "/api/v1/oauth2/token",
        )
        resolver = Resolver(["env"])
        voice = resolver.get_auth("voice")
        voice.headers()  # the one token request; every call below is served from cache
        headers = versus(lambda: bare.headers(), lambda: voice.headers())
        lookup = versus(lambda: bare.get("voice"), lambda: resolver.get_auth("voice"))
        assert server.requests == 1, server.requests
    rows = [
        (
            "bare method returning a new one-key dict",
            "headers(), bearer token cached",
            headers,
            3.0,
        ),
        ("bare method call + one dict lookup", "get_auth('voice'), OAuth from env", lookup, 2.0),
    ]
    print(f"Python {sys.version.split()[0]}: hot path, best of {ROUNDS} x {NUMBER:,} calls")
    for floor_name, name, (floor, ours), goal in rows:
        print(f"  {floor_name:44} {floor:7.1f} ns/call  (floor)")
        print(f"  {name:44} {ours:7.1f} ns/call  {ours / floor:4.2f}x (goal <= {goal:.1f}x)")


if __name__ == "__main__":
    main()
