"""The cached lookup with an ``account_id`` next to the plain one, in one run.

    python bench/accounts.py [N]

One OAuth client whose token (from a local token endpoint on loopback, issuing a JWT that
lists two accounts) serves the configured account and a second one. After one warm-up
call each, both lookups are answered from memory; this prints ns/call for
``get_auth("voice")`` and ``get_auth("voice", account_id=...)``, through the module
function and through a ``Resolver``, and the ratio (the goal: at most 2x). Medians of 7
tight loops; the machine may be shared, so read the ratio, not the absolute numbers.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.oauth_servers import TokenServer, serve

CLIENT, SECRET = "bench-client", "bench-secret"
GOAL = 2.0


def per_call_ns(
    calls: tuple[Callable[[], object], Callable[[], object]], n: int, repeats: int = 7
) -> tuple[float, float]:
    """Per call, the median over ``repeats`` of the mean cost in a tight loop; the two
    loops take turns, so a busy moment of a shared machine falls on both alike."""
    results: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for call, found in zip(calls, results, strict=True):
            start = time.perf_counter_ns()
            for _ in range(n):
                call()
            found.append((time.perf_counter_ns() - start) / n)
    return statistics.median(results[0]), statistics.median(results[1])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    server = TokenServer(CLIENT, SECRET)
    server.claims = {"accounts": ["920012", "920013"]}
    with serve(server) as url:
        server.url = url + "/api/v1/oauth2/token"
        os.environ.update(
            BW_ACCOUNT_ID="920012",
            BW_CLIENT_ID=CLIENT,
            BW_CLIENT_SECRET=SECRET,
            BW_TOKEN_URL=server.url,
        )
        import bandwidth_credentials as bw

        bw.configure(["env"])
        resolver = bw.Resolver(["env"])
        get_auth = bw.get_auth
        for lookup in (get_auth, resolver.get_auth):  # warm up: resolve, check the account
            assert lookup("voice").account_id == "920012"
            assert lookup("voice", account_id="920013").account_id == "920013"
        rows = []
        for label, lookup in (("get_auth", get_auth), ("Resolver.get_auth", resolver.get_auth)):
            plain, chosen = per_call_ns(
                (
                    lambda lookup=lookup: lookup("voice"),
                    lambda lookup=lookup: lookup("voice", account_id="920013"),
                ),
                n,
            )
            rows.append((label, plain, chosen))
        requests = server.requests
    print(f"cached lookups, ns/call (median of 7 loops of {n}; Python {sys.version.split()[0]})")
    print(f"{'entry':<20}{'plain':>10}{'account_id':>13}{'ratio':>9}")
    for label, plain, chosen in rows:
        verdict = "ok" if chosen / plain <= GOAL else f"over {GOAL:.0f}x"
        print(f"{label:<20}{plain:>10.0f}{chosen:>13.0f}{chosen / plain:>8.2f}x  {verdict}")
    print(f"token requests for both accounts and both entries: {requests}")


if __name__ == "__main__":
    main()
