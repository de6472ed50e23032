"""Run a check in a forked child process and wait for its answer, boundedly."""

from __future__ import annotations

import os
import select
import signal
import threading
import time
import warnings
from collections.abc import Callable

__all__ = ["forked_during", "in_forked_child"]


def in_forked_child(action: Callable[[], object], timeout: float = 10.0) -> str:
    """Run ``action`` in a child made with :func:`os.fork` and return ``str()`` of what it
    returned there: ``"True"`` for a check that held. If it raised, the answer is
    ``"raised TypeName: message"``; if the child gave no answer within ``timeout`` seconds,
    it is killed and the answer is ``"no answer within N s"`` (``"no answer (exit status
    N)"`` if it died first). The wait is on the pipe the
    child answers through, not a sleep. POSIX only (skip where ``os.fork`` is missing).

    For what must hold after a fork: locks and in-flight fetches reset, clients rebuilt.
    Python 3.12+ warns about ``fork()`` in a process with threads (the point of such a
    test); that warning is silenced for the fork only.

    Example::

        from bandwidth_credentials import Resolver
        from bandwidth_credentials.testing import in_forked_child

        def test_a_child_resolves_on_its_own():
            resolver = Resolver(["env"])
            assert in_forked_child(lambda: resolver.get_auth("voice").username) == "jdoe"
    """
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        answer = "raised BaseException"
        try:
            os.close(read_end)
            signal.alarm(int(timeout) + 10)  # outlives the parent's wait: never lingers
            answer = str(action())
        except Exception as exc:  # every failure becomes the answer the parent checks
            answer = f"raised {type(exc).__name__}: {exc}"
        finally:
            os.write(write_end, b"=" + answer.encode("utf-8", "replace"))  # "=": answered
            os._exit(0)
    os.close(write_end)
    return _answer(pid, read_end, timeout)


def _answer(pid: int, read_end: int, timeout: float) -> str:
    """Read the child's answer until it closes the pipe, then reap it; kill it at the deadline."""
    deadline = time.monotonic() + timeout
    data = b""
    with os.fdopen(read_end, "rb", buffering=0) as stream:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([stream], [], [], left)[0]:
                break
            chunk = stream.read(65536)
            if not chunk:
                _, status = os.waitpid(pid, 0)
                if not data:  # killed before it could answer
                    return f"no answer (exit status {os.waitstatus_to_exitcode(status)})"
                return data[1:].decode("utf-8", "replace")
            data += chunk
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return f"no answer within {timeout:g} s"


def forked_during(
    action: Callable[[], object],
    started: threading.Event,
    check: Callable[[], object],
    release: threading.Event,
    timeout: float = 30.0,
) -> str:
    """Fork while ``action`` is in flight in another thread, and run ``check`` in the
    child: the answer, as :func:`in_forked_child` gives it.

    ``action`` runs in a thread of this process (its exceptions are swallowed: the
    parent's outcome is not the point); once ``started`` is set (waited for at most
    10 s: a loopback server sets it when the request arrives, and holds the answer),
    the process forks and the child runs ``check`` within ``timeout`` seconds. Then
    ``release`` is set (the server lets the held request go) and the thread is joined,
    at most ``timeout`` seconds. For what a pre-forking server's worker must do when
    the parent was mid-fetch: fetch on its own, not wait for the parent's flight.

    Example::

        with misbehaving(hang(), answer(200, SECRET)) as server:
            resolver = Resolver([uri])
            said = forked_during(lambda: resolver.get_auth("voice"), server.arrived,
                                 lambda: resolver.get_auth("voice").username == "jdoe",
                                 server.stop)
        assert said == "True"
    """

    def quietly() -> None:
        try:
            action()
        except Exception:  # the parent's outcome does not matter here
            return

    parent = threading.Thread(target=quietly, daemon=True)
    parent.start()
    try:
        if not started.wait(10):
            return "the action did not start within 10 s"
        return in_forked_child(check, timeout=timeout)
    finally:
        release.set()
        parent.join(timeout)
