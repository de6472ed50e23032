"""One read from the OS keychain through the ``keyring`` library, with a deadline.

``keyring`` is imported here, on the first read, never when the package is imported.
The read runs in a daemon thread because a keychain may wait for a human (a Secret
Service unlock prompt) without any timeout of its own; the caller stops waiting after
``timeout`` seconds. Foreign exceptions never leave this module: the outcome names
the problem and at most the exception's type, and the caller raises a fresh error.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

__all__ = ["KeychainOutcome", "read_secret"]


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
    box: list[KeychainOutcome] = []
    worker = threading.Thread(
        target=lambda: box.append(_lookup(service, user)), name="bwcreds-keychain", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if not box:
        return KeychainOutcome(None, "timeout")
    return box[0]


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
