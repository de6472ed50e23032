"""Callback verification next to the bare comparison it wraps, in one run.

    python bench/callbacks.py [--quick]

1. Basic: ``get_callback_auth().verify(headers, body)`` on a voice callback's headers
   vs a bare ``hmac.compare_digest(headers["Authorization"], expected)`` on the same
   header (goal: within 2x);
2. Subscriptions 2.0 HMAC over a 4 KiB body: ``verify()`` vs computing
   ``hmac.new(key, body, sha256)`` plus one ``compare_digest`` (goal: within 1.3x);
3. memory: the largest allocation ``verify()`` makes beyond the body, for bodies of
   4 KiB and 1 MiB (goal: nothing proportional to the body).

Timings are the median of several rounds of many calls each; the machine is shared, so
compare the ratios within one run. Prints which goals were missed; ``--strict`` makes a
missed goal exit 1 (``tox -e bench`` only prints).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import statistics
import sys
import timeit
import tracemalloc

USER, PASSWORD, KEY = "bw-callbacks", "correct horse battery staple 42", "whsec-bench-key-2026"


def _per_call(statement: str, names: dict[str, object], calls: int, rounds: int) -> float:
    """Best of ``rounds`` medians... : the median ns per execution of ``statement`` over
    ``rounds`` rounds of ``calls`` executions (timeit: no wrapper call around it)."""
    timer = timeit.Timer(statement, globals=names)
    return statistics.median(timer.repeat(repeat=rounds, number=calls)) / calls * 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    options = parser.parse_args()
    quick = options.quick
    rounds, calls = (5, 20_000) if quick else (15, 100_000)

    for name in [n for n in os.environ if n.startswith(("BW_", "BANDWIDTH_"))]:
        del os.environ[name]
    os.environ.update(
        {
            "BW_CALLBACK_USERNAME": USER,
            "BW_CALLBACK_PASSWORD": PASSWORD,
            "BW_ORDERS_WEBHOOK_SECRET": KEY,
        }
    )
    from bandwidth_credentials import Resolver

    # The voice application's endpoint (Basic), and the Subscriptions 2.0 endpoint of an
    # application "orders" (its own key; the shared Basic pair applies there too).
    resolver = Resolver(["env"])
    auth = resolver.get_callback_auth()
    orders = resolver.get_callback_auth("orders")
    compare = hmac.compare_digest
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    voice = {
        "Host": "callbacks.example.com",
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": "412",
        "User-Agent": "BandwidthAPI/v2",
        "Accept-Encoding": "gzip",
        "Authorization": expected,
    }
    body = b'{"eventType":"answer"}'
    assert auth.verify(voice, body).scheme == "basic"

    verify = auth.verify

    four_kib = (b'{"eventType":"ORDER_CHANGE","padding":"' + b"x" * 4096)[:4095] + b"}"
    signature = base64.b64encode(hmac.new(KEY.encode(), four_kib, hashlib.sha256).digest())
    signed = {
        "Content-Type": "application/json",
        "X-Bandwidth-Signature-SHA-256": signature.decode(),
    }
    sent = base64.b64decode(signature)
    key = KEY.encode()
    assert orders.verify(signed, four_kib).scheme == "subscriptions"

    names = {
        "compare": compare,
        "verify": verify,
        "verify_orders": orders.verify,
        "voice": voice,
        "expected": expected,
        "body": body,
        "hmac": hmac,
        "sha256": hashlib.sha256,
        "key": key,
        "four_kib": four_kib,
        "sent": sent,
        "signed": signed,
    }
    results = []
    for label, bare, ours, goal in (
        ("Basic header", 'compare(voice["Authorization"], expected)', "verify(voice, body)", 2.0),
        (
            "4 KiB HMAC body",
            "compare(hmac.new(key, four_kib, sha256).digest(), sent)",
            "verify_orders(signed, four_kib)",
            1.3,
        ),
    ):
        # Interleaved, so a load spike on the shared machine hits both sides alike.
        bare_ns, ours_ns = [], []
        for _ in range(3):
            bare_ns.append(_per_call(bare, names, calls, rounds))
            ours_ns.append(_per_call(ours, names, calls, rounds))
        b, o = min(bare_ns), min(ours_ns)
        results.append((label, b, o, o / b, goal))

    print(f"{'case':<18}{'bare ns':>10}{'verify ns':>12}{'ratio':>8}{'goal':>7}")
    for label, b, o, ratio, goal in results:
        print(f"{label:<18}{b:>10.0f}{o:>12.0f}{ratio:>8.2f}{'<=' + str(goal):>7}")

    print("\nlargest allocation during verify() beyond the body (tracemalloc peak):")
    worst = 0
    for size in (4096, 1024 * 1024):
        big = b"{" + b" " * (size - 2) + b"}"
        headers = {
            "X-Bandwidth-Signature-SHA-256": base64.b64encode(
                hmac.new(key, big, hashlib.sha256).digest()
            ).decode()
        }
        orders.verify(headers, big, max_body=size)  # warm
        tracemalloc.start()
        tracemalloc.reset_peak()
        orders.verify(headers, big, max_body=size)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        worst = max(worst, peak)
        print(f"  body {size:>8} bytes: peak {peak} bytes")
    missed = [label for label, _, _, ratio, goal in results if ratio > goal]
    if worst > 64 * 1024:
        missed.append("allocation grows with the body")
    if missed:
        print("\ngoals missed: " + ", ".join(missed))
    return 1 if missed and options.strict else 0


if __name__ == "__main__":
    sys.exit(main())
