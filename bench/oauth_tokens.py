"""Token requests caused by N concurrent cold callers: this library vs bandwidth-sdk.

Both run against the same local token endpoint (loopback) in one process. Each caller
does what one API call does: ours asks ``ServiceAuth.headers()``, the SDK's asks
``Configuration.auth_settings()``. Usage: ``python bench/oauth_tokens.py [N]``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.oauth_servers import TokenServer, serve

CLIENT, SECRET = "bench-client", "bench-secret"


def storm(n: int, call: Callable[[], object]) -> int:
    """Run ``call`` in ``n`` threads released together; return how many raised.

    Shared by the other benchmarks in this folder."""
    barrier = threading.Barrier(n)
    failures: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            call()
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return len(failures)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    import bandwidth

    from bandwidth_credentials import Resolver

    rows = []
    for name in ("bandwidth-credentials", "bandwidth-sdk Configuration"):
        server = TokenServer(CLIENT, SECRET)
        server.delay = 0.05  # a realistic round trip, so cold callers overlap
        with serve(server) as url:
            token_url = url + "/api/v1/oauth2/token"
            if name == "bandwidth-credentials":
                os.environ.update(
                    BW_ACCOUNT_ID="920012",
                    BW_CLIENT_ID=CLIENT,
                    BW_CLIENT_SECRET=SECRET,
                    BW_TOKEN_URL=token_url,
                )
                auth = Resolver(["env"]).get_auth("voice")
                failed = storm(n, auth.headers)
            else:
                config = bandwidth.Configuration(
                    client_id=CLIENT, client_secret=SECRET, access_token_url=token_url
                )
                failed = storm(n, config.auth_settings)
            rows.append((name, server.requests, failed))
    print(f"{n} concurrent cold callers, one local token endpoint")
    print(f"  {'client':<30} {'token requests':>14} {'callers failed':>15}")
    for name, count, failed in rows:
        print(f"  {name:<30} {count:>14} {failed:>15}")


if __name__ == "__main__":
    main()
