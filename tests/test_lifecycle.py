"""Fork, Lambda, SnapStart, rotation through ``*_FILE`` and the default resolver's handle.

The fork tests fork for real, while another thread of the parent is in the middle of a
fetch, a background refresh or a token request, and let the child resolve on its own
under an alarm: a child that inherited a held lock or an in-flight flag hangs, is killed
by the alarm, and the test fails instead of hanging.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import bandwidth_credentials as bc
from bandwidth_credentials import Resolver, SourceNotFoundError, _lifecycle
from bandwidth_credentials._refresh import JITTER
from bandwidth_credentials.testing import FakeClock, in_forked_child

from .helpers import MemoryProvider
from .oauth_servers import CLIENT_ID, CLIENT_SECRET, TokenServer

VALUES = {"accountId": "920012", "username": "jdoe", "password": "pw"}

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork only")


def wait_for(changed: threading.Condition, condition: Callable[[], bool]) -> None:
    """Wait (at most 5 s) until ``condition`` holds, woken by each ``changed`` notice."""
    with changed:
        assert changed.wait_for(condition, 5.0), "the other thread never got there"


@pytest.fixture
def store() -> dict[str, object]:
    values: dict[str, object] = dict(VALUES)
    MemoryProvider.stores["a"] = values
    return values


def child_resolves(resolver: Resolver, expect: str = "jdoe") -> Callable[[], bool]:
    def action() -> bool:
        MemoryProvider.gate = None  # the parent's blocked fetch stays blocked over there
        resolver.invalidate()
        return resolver.get_auth("voice").username == expect

    return action


@needs_fork
@pytest.mark.usefixtures("store")
def test_a_child_forked_during_a_cold_resolution_resolves_on_its_own() -> None:
    MemoryProvider.gate = gate = threading.Event()
    resolver = Resolver(["mem:a"])
    parent = threading.Thread(target=lambda: resolver.get_auth("voice"))
    parent.start()
    wait_for(MemoryProvider.counted, lambda: MemoryProvider.fetches.get("a") == 1)

    answer = in_forked_child(child_resolves(resolver))

    gate.set()
    parent.join(10)
    assert answer == "True"


@needs_fork
@pytest.mark.usefixtures("store")
def test_a_child_forked_during_a_background_refresh_resolves_on_its_own() -> None:
    clock = FakeClock()
    resolver = Resolver(["mem:a?ttl=60"], clock=clock)
    resolver.get_auth("voice")
    MemoryProvider.gate = gate = threading.Event()
    clock.advance(60 * (1 + JITTER) + 1)
    resolver.get_auth("voice")  # serves the cached values; the refresh thread blocks
    wait_for(MemoryProvider.counted, lambda: MemoryProvider.fetches.get("a") == 2)

    answer = in_forked_child(child_resolves(resolver))

    gate.set()
    assert answer == "True"


@needs_fork
def test_a_child_forked_during_a_token_request_gets_its_own_token(
    monkeypatch: pytest.MonkeyPatch, token_server: TokenServer
) -> None:
    for name, value in {
        "BW_ACCOUNT_ID": "920012",
        "BW_CLIENT_ID": CLIENT_ID,
        "BW_CLIENT_SECRET": CLIENT_SECRET,
        "BW_TOKEN_URL": token_server.url,
    }.items():
        monkeypatch.setenv(name, value)
    voice = Resolver(["env"]).get_auth("voice")
    token_server.delay = 3.0
    parent = threading.Thread(target=voice.headers)
    parent.start()
    wait_for(token_server.arrived, lambda: token_server.requests == 1)

    def action() -> bool:
        token_server.delay = 0.0  # the child's own copy; the server runs in the parent
        return voice.headers()["Authorization"].startswith("Bearer ")

    answer = in_forked_child(action)

    parent.join(10)
    assert answer == "True"


@needs_fork
def test_the_default_resolver_and_registry_work_in_a_child(
    store: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANDWIDTH_CREDENTIALS_SOURCES", "mem:a")
    assert bc.get_auth("voice").username == "jdoe"

    answer = in_forked_child(lambda: bc.get_auth("numbers").username == "jdoe")

    assert answer == "True"


FORK_BEFORE_ANY_RESOLVER = """
import threading
from bandwidth_credentials import _default, get_auth
from bandwidth_credentials.testing import in_forked_child

held, done = threading.Event(), threading.Event()

def first_default_resolver_under_construction():
    with _default._lock:  # what _default holds while it builds the first resolver
        held.set()
        done.wait(30)

threading.Thread(target=first_default_resolver_under_construction, daemon=True).start()
held.wait(10)
print(in_forked_child(lambda: get_auth("voice").kind, timeout=5))
done.set()
"""


@needs_fork
def test_a_child_forked_before_any_resolver_exists_gets_fresh_locks() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BW_", "BANDWIDTH_"))}
    env.update(BW_ACCOUNT_ID="920012", BW_ACCESS_TOKEN="opaque-token")

    result = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", FORK_BEFORE_ANY_RESOLVER],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.stdout.strip() == "access_token", result.stdout + result.stderr


# -- Lambda and SnapStart ---------------------------------------------------------------


def test_in_lambda_a_due_refresh_runs_in_the_calling_thread(
    store: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "bandwidth-handler")
    clock = FakeClock()
    spawned: list[object] = []
    resolver = Resolver(["mem:a?ttl=60"], clock=clock, spawn=spawned.append)
    assert resolver.get_auth("voice").username == "jdoe"
    store["username"] = "rotated"
    threads = threading.active_count()

    clock.advance(60 * (1 + JITTER) + 1)
    voice = resolver.get_auth("voice")

    assert voice.username == "rotated"  # the very next call after the TTL
    assert spawned == []
    assert threading.active_count() == threads


def test_in_lambda_a_failed_inline_refresh_serves_the_last_values_within_the_bound(
    store: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "bandwidth-handler")
    clock = FakeClock()
    resolver = Resolver(["mem:a?ttl=60&max_stale=600"], clock=clock)
    first = resolver.get_auth("voice")
    MemoryProvider.fail["a"] = bc.SourceUnavailableError("source mem:a: down", source="mem:a")

    clock.advance(60 * (1 + JITTER) + 1)

    assert resolver.get_auth("voice") is first


def test_a_snapstart_restore_drops_tokens_and_makes_every_source_due(
    store: dict[str, object],
) -> None:
    resolver = Resolver(["mem:a"])
    resolver.get_auth("voice")
    store["username"] = "after-restore"

    _lifecycle.restored()

    assert resolver.get_auth("voice").username == "after-restore"
    assert MemoryProvider.fetches == {"a": 2}


def test_a_snapstart_restore_reseeds_the_random_module() -> None:
    # Retry jitter in dependencies (botocore's, google-api-core's) reads the random
    # module, whose state every environment restored from one snapshot shares.
    import random

    state = random.getstate()
    try:
        random.seed(20261206)
        in_the_snapshot = random.random()
        random.seed(20261206)

        _lifecycle.restored()

        after_restore = random.random()
    finally:
        random.setstate(state)

    assert after_restore != in_the_snapshot


def test_a_snapstart_restore_makes_every_source_due_even_while_backing_off(
    store: dict[str, object],
) -> None:
    clock = FakeClock()
    resolver = Resolver(["mem:a?ttl=60"], clock=clock, inline=True)
    resolver.get_auth("voice")
    MemoryProvider.fail["a"] = bc.SourceUnavailableError("source mem:a: down", source="mem:a")
    clock.advance(60 * (1 + JITTER) + 1)
    assert resolver.get_auth("voice").username == "jdoe"  # failed: stale, backing off
    del MemoryProvider.fail["a"]
    store["username"] = "after-restore"

    _lifecycle.restored()  # the failure and its backoff are as old as the snapshot

    assert resolver.get_auth("voice").username == "after-restore"
    assert MemoryProvider.fetches == {"a": 3}


# -- rotation through *_FILE ------------------------------------------------------------


def kubelet_volume(root: Path, generation: str, values: dict[str, str]) -> None:
    """The kubelet's atomic writer: a timestamped directory, ``..data`` swapped onto it,
    and one symlink per key through ``..data``."""
    root.mkdir(exist_ok=True)
    target = root / f"..{generation}"
    target.mkdir()
    for key, value in values.items():
        (target / key).write_text(value + "\n", encoding="utf-8")
    link = root / "..data_tmp"
    link.symlink_to(target.name)
    link.replace(root / "..data")
    for key in values:
        entry = root / key
        if not entry.is_symlink():
            entry.symlink_to(f"..data/{key}")


def test_a_rotated_secret_behind_a_file_variable_is_served_after_the_check_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    volume = tmp_path / "bandwidth"
    kubelet_volume(volume, "2026_11_29_01", {"password": "old-pw"})
    monkeypatch.setenv("BW_ACCOUNT_ID", "920012")
    monkeypatch.setenv("BW_USERNAME", "jdoe")
    monkeypatch.setenv("BW_PASSWORD_FILE", str(volume / "password"))
    clock = FakeClock()
    resolver = Resolver(["env"], clock=clock, spawn=lambda work: work())
    assert resolver.get_auth("voice").password.get_secret_value() == "old-pw"  # type: ignore[union-attr]

    kubelet_volume(volume, "2026_11_29_02", {"password": "new-pw"})
    clock.advance(5.0)  # the default check interval
    resolver.get_auth("voice")  # the check sees the swap; the refresh runs

    voice = resolver.get_auth("voice")
    assert voice.password is not None
    assert voice.password.get_secret_value() == "new-pw"
    assert voice.provenance["password"].key == "BW_PASSWORD_FILE"


def test_a_vanished_secret_directory_is_served_stale_then_raised(
    tmp_path: Path,
) -> None:
    volume = tmp_path / "bandwidth"
    kubelet_volume(volume, "g1", {"accountId": "920012", "username": "jdoe", "password": "pw"})
    clock = FakeClock()
    resolver = Resolver([f"file:{volume}?max_stale=600"], clock=clock, spawn=lambda work: work())
    first = resolver.get_auth("voice")
    for entry in volume.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            for child in entry.iterdir():
                child.unlink()
            entry.rmdir()
        else:
            entry.unlink()
    volume.rmdir()

    clock.advance(5.0)
    during = resolver.get_auth("voice")
    clock.advance(600.0 + 10.0)

    assert during is first
    with pytest.raises(SourceNotFoundError) as caught:
        resolver.get_auth("voice")
    assert str(volume) in str(caught.value)


# -- configure() and the handle of the default resolver ------------------------------------


def test_auth_objects_and_adapters_follow_configure(
    store: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    MemoryProvider.stores["b"] = {**VALUES, "username": "second"}
    bc.configure(["mem:a"])
    voice = bc.get_auth("voice")

    bc.configure(["mem:b"])

    assert voice.current().username == "second"
    assert voice.current() is bc.get_auth("voice")
