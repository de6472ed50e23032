"""Cold start next to a bare interpreter, in one run: what a Lambda init, a container
entrypoint (``bwcreds exec``) or a short CLI run pays for this library.

    python bench/cold_start.py [--runs 10]        (also part of: tox -e bench)

Every row is a fresh process. CPU time (user + system of the child, from
``resource.getrusage(RUSAGE_CHILDREN)``) is the median of ``--runs`` runs, next to the
median of a bare ``python -c pass`` measured in the same run, interleaved, so machine
load affects both columns alike. Peak RSS is the child's ``ru_maxrss``. The package is
compiled to bytecode first, as ``pip install`` does (see ``_bytecode.py``). The cached
``get_auth()`` call is timed with ``timeit`` next to a bare method call doing one dict
lookup, in the same process: once with ``env`` alone (nothing is ever due, so the lookup
reads no clock) and once with ``BW_PASSWORD_FILE`` (the file is change-checked, so every
lookup reads the clock). Goals (issue "cold start at the interpreter's floor"):
Basic headers and OAuth base_url <= 3.0x bare, ``bwcreds exec -- true`` <= 3.5x, peak
RSS <= bare + 3.5 MiB, cached get_auth() <= 2.0x the bare lookup.
"""

from __future__ import annotations

import argparse
import os
import resource  # noqa: F401 - documents where the figures come from
import shutil
import statistics
import subprocess
import sys
import tempfile
import timeit
import warnings
from collections.abc import Callable
from pathlib import Path

from _bytecode import compile_packages

BASIC = {"BW_ACCOUNT_ID": "920012", "BW_USERNAME": "bench-user", "BW_PASSWORD": "bench-pw"}
OAUTH = {"BW_ACCOUNT_ID": "920012", "BW_CLIENT_ID": "bench-id", "BW_CLIENT_SECRET": "bench-s"}
# No .env lookup surprises: the default chain reads env and an optional ./.env.
WORKDIR = Path(__file__).resolve().parent

ROWS: list[tuple[str, list[str], dict[str, str], float | None]] = [
    ("python -c pass", [sys.executable, "-c", "pass"], {}, None),
    (
        'import; get_auth("voice").headers() (Basic, env)',
        [
            sys.executable,
            "-c",
            "import bandwidth_credentials as b; b.get_auth('voice').headers()",
        ],
        BASIC,
        3.0,
    ),
    (
        'import; get_auth("voice").base_url (OAuth, env, no token fetch)',
        [sys.executable, "-c", "import bandwidth_credentials as b; b.get_auth('voice').base_url"],
        OAUTH,
        3.0,
    ),
    (
        "bwcreds exec -- true",
        [
            shutil.which("bwcreds") or str(Path(sys.executable).with_name("bwcreds")),
            "exec",
            "--",
            "true",
        ],
        BASIC,
        3.5,
    ),
    (
        # A deployment zip built without __pycache__ (Lambda's /var/task is read-only, so
        # nothing is ever cached): the package's sources are compiled on every cold start.
        "the Basic row, package without bytecode (zip built uncompiled)",
        [sys.executable, "-c", "import bandwidth_credentials as b; b.get_auth('voice').headers()"],
        {**BASIC, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": "{uncompiled}"},
        None,
    ),
    (
        "python -c 'import base64, os, threading, logging, re, json'",
        [sys.executable, "-c", "import base64, os, threading, logging, re, json"],
        {},
        None,
    ),
]


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(extra)
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MiB) of one fresh process running ``argv``.

    A tiny wrapper runs it and reports its child's ``getrusage``, so neither figure
    includes this script or the wrapper itself.
    """
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "capture_output=True); u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(u.ru_utime + u.ru_stime, u.ru_maxrss)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, cwd=WORKDIR, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{argv!r} failed: {proc.stderr.decode(errors='replace')[-400:]}")
    cpu, rss_kib = proc.stdout.split()
    return float(cpu), int(rss_kib) / 1024.0


def _uncompiled_copy(folder: str) -> str:
    """A copy of the installed package without any ``__pycache__``; returns its parent."""
    import bandwidth_credentials

    package = Path(bandwidth_credentials.__file__).parent
    shutil.copytree(package, Path(folder, package.name), ignore=shutil.ignore_patterns("*.pyc"))
    return folder


def cold_starts(runs: int) -> None:
    cpu: dict[str, list[float]] = {name: [] for name, *_ in ROWS}
    rss: dict[str, list[float]] = {name: [] for name, *_ in ROWS}
    with tempfile.TemporaryDirectory() as folder:
        uncompiled = _uncompiled_copy(folder)
        for _ in range(runs):
            for name, argv, extra, _goal in ROWS:  # interleaved: load hits every row alike
                env = {k: v.replace("{uncompiled}", uncompiled) for k, v in extra.items()}
                seconds, peak = run_once(argv, _clean_env(env))
                cpu[name].append(seconds)
                rss[name].append(peak)
    bare_cpu = statistics.median(cpu["python -c pass"])
    bare_rss = statistics.median(rss["python -c pass"])
    print(f"\nCold start, fresh processes, CPU time median of {runs} (bare in the same run)")
    print(f"{'what':68} {'CPU ms':>8} {'vs bare':>8} {'goal':>6} {'peak RSS MiB':>13}")
    for name, _argv, _extra, goal in ROWS:
        ms = statistics.median(cpu[name]) * 1000
        ratio = statistics.median(cpu[name]) / bare_cpu
        peak = statistics.median(rss[name])
        goal_text = f"{goal:.1f}x" if goal else ""
        over = f" ({peak - bare_rss:+.1f})" if name != "python -c pass" else ""
        print(f"{name:68} {ms:8.1f} {ratio:7.2f}x {goal_text:>6} {peak:8.1f}{over}")
    print(f"peak RSS goal for the Basic row: <= bare + 3.5 MiB ({bare_rss + 3.5:.1f} MiB)")


class _Bare:
    def __init__(self) -> None:
        self.table = {"voice": object()}

    def get(self, name: str) -> object:
        return self.table.get(name)


def _per_call_ns(call: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e9


def hot_path() -> None:
    os.environ.update(BASIC)
    import bandwidth_credentials as bc

    bare = _Bare()
    number = 1_000_000
    floor = _per_call_ns(lambda: bare.get("voice"), number)
    print("\nCached get_auth(), best of 5 x 1,000,000 calls (all through a lambda)")
    print(f"  {'bare method call + one dict lookup':64} {floor:7.1f} ns/call")
    with tempfile.TemporaryDirectory() as folder:
        password_file = Path(folder, "password")
        password_file.write_text(BASIC["BW_PASSWORD"])
        cases = [
            ("get_auth('voice'), env alone: nothing ever due", {}),
            (
                "get_auth('voice'), BW_PASSWORD_FILE: change-checked (clock read)",
                {"BW_PASSWORD": None, "BW_PASSWORD_FILE": str(password_file)},
            ),
        ]
        for name, changes in cases:
            for variable, value in changes.items():
                if value is None:
                    os.environ.pop(variable, None)
                else:
                    os.environ[variable] = value
            bc.configure(["env"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # the Basic notice: not measured
                bc.get_auth("voice")
            ours = _per_call_ns(lambda: bc.get_auth("voice"), number)
            print(f"  {name:64} {ours:7.1f} ns/call  {ours / floor:4.2f}x (goal <= 2.0x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    compile_packages("bandwidth_credentials")  # what pip install does; see _bytecode.py
    print(f"Python {sys.version.split()[0]} on {os.uname().sysname} {os.uname().machine}")
    cold_starts(args.runs)
    hot_path()


if __name__ == "__main__":
    main()
