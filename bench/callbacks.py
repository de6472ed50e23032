"""Callback verification next to the bare comparison it wraps, in one run.

    python bench/callbacks.py [--quick]

1. Basic: ``get_callback_auth().verify(headers, body)`` on a voice callback's headers
   vs a bare ``hmac.compare_digest(headers["Authorization"], expected)`` on the same
   header (goal: within 2x);
2. Subscriptions 2.0 HMAC over a 4 KiB body: ``verify()`` vs computing
   ``hmac.new(key, body, sha256)`` plus one ``compare_digest`` (goal: within 1.3x);
3. memory: the largest allocation ``verify()`` makes beyond the body, for bodies of
   4 KiB and 1 MiB (goal: nothing proportional to the body).

Timings are the best of many short rounds (about 0.2 ms each), the two sides' rounds
interleaved; the machine is shared, so compare the ratios within one run. Prints which
goals were missed; ``--strict`` makes a missed goal exit 1 (``tox -e bench`` only
prints). ``--floor`` also prints what each step of the Basic shortcut costs on its own
(the floor under the Basic figure).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import sys
import timeit
import tracemalloc

USER, PASSWORD, KEY = "bw-callbacks", "correct horse battery staple 42", "whsec-bench-key-2026"


def _timer(statement: str, names: dict[str, object]) -> tuple[timeit.Timer, int]:
    """A timer for ``statement`` (timeit: no wrapper call around it) and how many
    executions make a round of about 0.2 ms: short enough that some rounds run between
    two of the scheduler's time slices on a loaded machine."""
    timer = timeit.Timer(statement, globals=names)
    number = 1
    while timer.timeit(number) < 0.0002:
        number *= 2
    return timer, number


def _per_call(statement: str, names: dict[str, object], rounds: int) -> float:
    """The best of ``rounds`` rounds of ``statement``, in ns per execution."""
    timer, number = _timer(statement, names)
    return min(timer.repeat(repeat=rounds, number=number)) / number * 1e9


def _side_by_side(
    bare: str, ours: str, names: dict[str, object], rounds: int
) -> tuple[float, float]:
    """Both statements' best rounds (ns per execution), the rounds of the two sides
    interleaved one by one so that load on the shared machine falls on both alike (the
    best round is the one other processes disturbed least)."""
    timers = [_timer(statement, names) for statement in (bare, ours)]
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for side, (timer, number) in enumerate(timers):
            best[side] = min(best[side], timer.timeit(number) / number * 1e9)
    return best[0], best[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--floor", action="store_true", help="time each step of Basic's check")
    options = parser.parse_args()
    quick = options.quick
    rounds = 100 if quick else 1000

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
        (
            "Basic header",
            'compare(voice["Authorization"], expected)',
            "verify(voice, body)",
            2.0,
        ),
        (
            "4 KiB HMAC body",
            "compare(hmac.new(key, four_kib, sha256).digest(), sent)",
            "verify_orders(signed, four_kib)",
            1.3,
        ),
    ):
        b, o = _side_by_side(bare, ours, names, rounds)
        results.append((label, b, o, o / b, goal))

    print(f"{'case':<18}{'bare ns':>10}{'verify ns':>12}{'ratio':>8}{'goal':>7}")
    for label, b, o, ratio, goal in results:
        print(f"{label:<18}{b:>10.0f}{o:>12.0f}{ratio:>8.2f}{'<=' + str(goal):>7}")

    if options.floor:
        _floor(names, auth, rounds)

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


class _Empty:
    __slots__ = ()

    def verify(self, headers: object, body: object, *, max_body: int = 1 << 20) -> None:
        pass


def _floor(names: dict[str, object], auth: object, rounds: int) -> None:
    """Each step of ``verify()``'s Basic shortcut timed alone, in this run (what no
    implementation of the same checks in CPython can avoid)."""
    from operator import countOf

    resolver = auth._resolver  # type: ignore[attr-defined]
    steps = {
        "the bare comparison (the goal's base)": 'compare(voice["Authorization"], expected)',
        "an empty method call, same arguments": "empty(voice, body)",
        "read the verifier's cached plan": "a, b, c, d, e = auth._fast",
        "is the snapshot still the resolver's": "resolver._cached is snapshot",
        "headers is a plain dict": "voice.__class__ is dict",
        'headers.get("Authorization")': 'voice.get("Authorization")',
        "constant-time comparison (OpenSSL)": "compare(voice['Authorization'], expected)",
        "body is bytes within max_body": "body.__class__ is bytes and len(body) <= 1048576",
        "complete duplicate scan of the dict": "countOf(map(len, voice), 13) == 1",
    }
    scope = {
        **names,
        "empty": _Empty().verify,
        "auth": auth,
        "resolver": resolver,
        "snapshot": auth._fast[0],  # type: ignore[attr-defined]
        "countOf": countOf,
    }
    print("\nBasic shortcut, each step alone (ns):")
    for label, statement in steps.items():
        print(f"  {label:<40}{_per_call(statement, scope, rounds):>8.0f}")


if __name__ == "__main__":
    sys.exit(main())
