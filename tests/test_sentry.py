"""Error trackers see no secret: the real ``sentry-sdk``, local variables on, over every
error path the leak tests drive (``tests/sentry_paths.py`` lists and runs them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sentry_sdk")

ROOT = Path(__file__).resolve().parent.parent


def test_no_canary_in_any_event_sentry_records() -> None:
    # A fresh process: Sentry installs global hooks (excepthook, logging, threading).
    result = subprocess.run(
        [sys.executable, "-m", "tests.sentry_paths"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    raised = [name for name in report["cases"] if report["raised"][name]]
    assert report["leaks"] == []  # [case, where in the event] for every canary found
    # Sentry did record locals: the library's frames between the call and the raise.
    assert report["library_frames_with_locals"] >= 70
    assert len(raised) >= 70  # the paths ran and failed as planned
    families = ("rotate: ", "callbacks: verify ", "callbacks: averify ", "token: refused, ")
    for family in families:  # every family of paths is driven, and every one of them raised
        ran = [name for name in report["cases"] if name.startswith(family)]
        assert len(ran) >= 4, family
        assert [name for name in ran if not report["raised"][name]] == [], family
    assert [name for name in raised if report["events"][name] < 1] == []  # Sentry saw them
