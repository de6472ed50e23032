"""One read from the OS keychain through the ``keyring`` library, with a deadline.

``keyring`` is imported here, on the first read, never when the package is imported.
The read runs in a daemon thread because a keychain may wait for a human (a Secret
Service unlock prompt) without any timeout of its own; the caller stops waiting after
``timeout`` seconds. One reader at a time per entry: a caller that comes while a read is
still waiting (a retry, a reload, another thread) waits for that same read and shares its
outcome, instead of starting another thread (and, on a desktop, another unlock prompt).

Nothing the backend says leaves this module: the outcome names the problem and at most
the exception's type, the caller raises a fresh error, and the reader catches every
exception, ``BaseException`` subclasses included, so none reaches
``threading.excepthook`` (which would print its message, perhaps a secret, to stderr).
"""

from __future__ import annotations

import os
import threading
from typing import NamedTuple

__all__ = ["KeychainOutcome", "read_secret"]


class _Read:
    """One keychain read in flight: its outcome once ``done`` is set."""

    __slots__ = ("done", "outcome")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.outcome: KeychainOutcome | None = None


_lock = threading.Lock()
_reads: dict[tuple[str, str], _Read] = {}


def _after_fork() -> None:
    # The reader threads did not survive the fork; their entries must not either.
    global _lock
    _lock = threading.Lock()
    _reads.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class KeychainOutcome(NamedTuple):
    """What a keychain read produced.

    ``problem`` is ``None`` (``secret`` is the value, or ``None`` when there is no
    entry), ``"not-installed"`` (no ``keyring`` package), ``"no-backend"`` (keyring
    has only its fail or null backend), ``"locked"``, ``"timeout"`` or ``"failed"``.
    ``detail`` is a backend or exception type name, never a value.
    """

    secret: str | None
    problem: str | None = None
    detail: str = ""

    def __repr__(self) -> str:
        held = "set" if self.secret else "none"
        return f"KeychainOutcome(secret={held}, problem={self.problem!r})"


def read_secret(service: str, user: str, timeout: float) -> KeychainOutcome:
    """Look up ``(service, user)`` in the keyring backend this process has configured.

    When nothing is stored there it also tries ``service:user`` as the service name:
    the Windows credential the Go library ``zalando/go-keyring`` writes
    (``keyring_windows.go``: target ``service + ":" + user``, user name ``user``) is
    found by keyring's Windows backend under that name.
    """
    key = (service, user)
    worker: threading.Thread | None = None
    with _lock:
        read = _reads.get(key)
        if read is None:
            read = _reads[key] = _Read()
            worker = threading.Thread(
                target=_run, args=(key, read), name="bwcreds-keychain", daemon=True
            )
    if worker is not None:
        worker.start()
    if not read.done.wait(timeout) or read.outcome is None:
        return KeychainOutcome(None, "timeout")
    return read.outcome


def _run(key: tuple[str, str], read: _Read) -> None:
    """The reader thread: one lookup, its outcome published to every waiter."""
    outcome = KeychainOutcome(None, "failed")
    try:
        outcome = _lookup(*key)
    except BaseException as exc:  # all of them: nothing may reach threading.excepthook
        outcome = KeychainOutcome(None, "failed", type(exc).__name__)
    finally:
        read.outcome = outcome
        with _lock:
            if _reads.get(key) is read:
                del _reads[key]
        read.done.set()


def _lookup(service: str, user: str) -> KeychainOutcome:
    try:
        import keyring
        from keyring.backends import fail, null
        from keyring.errors import KeyringLocked, NoKeyringError
    except ImportError:
        return KeychainOutcome(None, "not-installed")
    problem, detail = "failed", ""
    try:
        backend = keyring.get_keyring()
        if isinstance(backend, (fail.Keyring, null.Keyring)):
            kind = type(backend)
            return KeychainOutcome(None, "no-backend", f"{kind.__module__}.{kind.__name__}")
        secret = backend.get_password(service, user)
        if secret is None:
            secret = backend.get_password(f"{service}:{user}", user)
        return KeychainOutcome(secret)
    except NoKeyringError:
        problem, detail = "no-backend", "NoKeyringError"
    except KeyringLocked:
        problem = "locked"
    except Exception as exc:
        # The type only: a backend's message may quote what it read.
        detail = type(exc).__name__
    return KeychainOutcome(None, problem, detail)
