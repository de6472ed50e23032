"""The leak harness: run code with canary secrets planted and prove none of them escaped.

Every channel a secret could leave through is watched while the code runs:

- **log records** of every logger at every level, DEBUG included: the root logger and
  every named one, the SDKs' own (``hvac``, ``botocore``, ``urllib3``, ``httpx``,
  ``google``, ``azure``, ...) and loggers created while watching, whatever their level,
  ``propagate`` flag or handlers; the message, its arguments, any ``extra`` fields and
  the attached exception are all checked;
- **warnings**, whatever the active filters say (they are re-issued afterwards, so
  ``filterwarnings = error`` still applies);
- **stdout and stderr**, both ``sys.stdout``/``sys.stderr`` and file descriptors 1 and 2
  (so output of C code and child processes counts too), without pytest's ``capsys``;
- **the exception** that escapes, as a whole graph (see :func:`find_leaks`).

A canary is found in plain text, UTF-16, or base64 at any alignment (an
``Authorization: Basic`` header). A failure names every place, never the whole canary.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TypeVar

from ._graph import Leak, find_in_graph, find_in_text, shorten

__all__ = [
    "CANARIES",
    "CANARY_PASSWORD",
    "CANARY_SECRET",
    "LeakFound",
    "LeakWatch",
    "check_no_leaks",
    "find_leaks",
    "watch_for_leaks",
]

# Distinctive values: if one of these shows up in any output, a secret leaked.
CANARY_PASSWORD = "canary-pw-7f3a9c1e-DO-NOT-LEAK"
CANARY_SECRET = "canary-secret-52b8d0e4-DO-NOT-LEAK"
#: The canaries the leak harness looks for unless told otherwise.
CANARIES = (CANARY_PASSWORD, CANARY_SECRET)

T = TypeVar("T")


class LeakFound(AssertionError):
    """A canary appeared in some output; the message lists where (``leaks`` has them all)."""

    def __init__(self, leaks: list[Leak], canaries: tuple[str, ...]) -> None:
        lines = [f"  canary {shorten(canaries[leak.canary])!r} in {leak.where}" for leak in leaks]
        super().__init__("secret canary found:\n" + "\n".join(lines))
        self.leaks = leaks


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[tuple[logging.LogRecord, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        self.records.append((record, message))


class LeakWatch:
    """What was captured while watching: ``records`` (log records), ``warnings``,
    ``stdout``, ``stderr`` and the escaping ``exception`` (or ``None``).

    Use it for further assertions after the ``with`` block of :func:`watch_for_leaks`.
    """

    def __init__(self, canaries: tuple[str, ...]) -> None:
        self.canaries = canaries
        self.records: list[logging.LogRecord] = []
        self.warnings: list[warnings.WarningMessage] = []
        self.stdout = ""
        self.stderr = ""
        self.exception: BaseException | None = None
        self._recorder = _Recorder()
        self._stack = contextlib.ExitStack()
        self._caught: list[warnings.WarningMessage] | None = None

    def _start(self, fd: bool) -> None:
        self._stack.enter_context(_every_record(self._recorder))
        self._stack.enter_context(_captured_output(self, fd))
        caught = self._stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        self._caught = caught

    def _finish(self) -> LeakFound | None:
        """Stop watching; the error to raise when a canary was seen, else ``None``."""
        self._stack.close()
        self.warnings = list(self._caught or ())
        self.records = [record for record, _ in self._recorder.records]
        leaks = self._leaks(self._recorder.records)
        if leaks:
            self.exception = None
            return LeakFound(leaks, self.canaries)
        sys.stdout.write(self.stdout)
        sys.stderr.write(self.stderr)
        for item in self.warnings:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
        return None

    def _leaks(self, messages: list[tuple[logging.LogRecord, str]]) -> list[Leak]:
        found: list[Leak] = []
        for record, message in messages:
            where = f"log record of {record.name!r} ({record.levelname})"
            found += find_in_text(message, self.canaries, where + " message")
            for name, value in vars(record).items():
                found += find_in_graph(value, self.canaries, f"{where}.{name}")
        for caught in self.warnings:
            where = f"warning {caught.category.__name__} from {caught.filename}:{caught.lineno}"
            found += find_in_graph(caught.message, self.canaries, where)
        found += find_in_text(self.stdout, self.canaries, "stdout")
        found += find_in_text(self.stderr, self.canaries, "stderr")
        if self.exception is not None:
            found += find_in_graph(self.exception, self.canaries, "exception")
        return found


def find_leaks(value: object, canaries: Iterable[str] | None = None) -> list[str]:
    """Where in ``value`` (an exception, a repr, any object graph) a canary appears.

    Returns the paths (``value`` is the root), each once per way the canary is reached
    or shown; empty when clean. ``canaries`` defaults to :data:`CANARIES`; each must be
    at least 8 characters (``ValueError`` otherwise).

    >>> from bandwidth_credentials.testing import CANARY_PASSWORD, find_leaks
    >>> find_leaks(ValueError("bad", {"k": CANARY_PASSWORD}))[-1]
    "value.args[1]['k']"
    """
    planted = _planted(canaries)
    return [leak.where for leak in find_in_graph(value, planted, "value")]


@contextlib.contextmanager
def watch_for_leaks(
    canaries: Iterable[str] | None = None,
    *,
    fd: bool = True,
) -> Iterator[LeakWatch]:
    """Watch every output channel while the ``with`` body runs; raise :class:`LeakFound`
    when a canary appears in any of them.

    ``canaries`` defaults to :data:`CANARIES`; ``fd=False`` leaves file descriptors 1
    and 2 alone. Every logger is treated as enabled at DEBUG while watching (its level
    and handlers are not touched, so what real handlers receive does not change). An
    exception from the body is walked and re-raised unchanged when it is clean; when it
    leaks, ``LeakFound`` replaces it ``from None``, so the leaking exception is not shown
    (the interpreter still links it as ``__context__``; :func:`check_no_leaks` does not).
    Clean output is written through to the real stdout and stderr afterwards, and clean
    warnings are issued again, so the caller's warning filters still apply.

    >>> with watch_for_leaks() as watch:                                  # doctest: +SKIP
    ...     provider.fetch()
    >>> watch.records                                                     # doctest: +SKIP
    """
    watch = LeakWatch(_planted(canaries))
    watch._start(fd)
    try:
        yield watch
    except BaseException as exc:  # walked below, then re-raised unchanged when clean
        watch.exception = exc
    error = watch._finish()
    if error is not None:
        raise error from None
    if watch.exception is not None:
        raise watch.exception


def check_no_leaks(action: Callable[[], T], canaries: Iterable[str] | None = None) -> T:
    """Run ``action()`` with every output channel watched (as :func:`watch_for_leaks`)
    and return its result.

    Its exception, when clean, propagates unchanged, so it composes with
    ``pytest.raises``::

        with pytest.raises(SourceNotFoundError):
            check_no_leaks(provider.fetch)

    Raises :class:`LeakFound` (an ``AssertionError``, with no ``__cause__`` or
    ``__context__``) naming each place a canary appeared.
    """
    watch = LeakWatch(_planted(canaries))
    watch._start(fd=True)
    try:
        result: T | None = action()
    except BaseException as exc:  # walked below, then re-raised unchanged when clean
        watch.exception = exc
        result = None
    error = watch._finish()
    if error is not None:
        raise error
    if watch.exception is not None:
        raise watch.exception
    return result  # type: ignore[return-value]


def _planted(canaries: Iterable[str] | None) -> tuple[str, ...]:
    planted = tuple(CANARIES if canaries is None else canaries)
    if not planted or any(len(canary) < 8 for canary in planted):
        raise ValueError("canaries must be distinctive strings of at least 8 characters")
    return planted


@contextlib.contextmanager
def _every_record(recorder: _Recorder) -> Iterator[None]:
    """Make every logger enabled at every level and hand each record it handles to
    ``recorder``, whatever the logger's level, ``propagate`` flag or handlers, including
    loggers created while watching. A logger's own filters (a redaction filter) still
    apply; real handlers receive only what their logger's level let through before."""
    enabled = logging.Logger.isEnabledFor
    call_handlers = logging.Logger.callHandlers

    def always(self: logging.Logger, level: int) -> bool:
        return True

    def record_then_call(self: logging.Logger, record: logging.LogRecord) -> None:
        recorder.handle(record)
        if enabled(self, record.levelno):
            call_handlers(self, record)

    logging.Logger.isEnabledFor = always  # type: ignore[method-assign]
    logging.Logger.callHandlers = record_then_call  # type: ignore[method-assign]
    try:
        yield
    finally:
        logging.Logger.isEnabledFor = enabled  # type: ignore[method-assign]
        logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]


@contextlib.contextmanager
def _captured_output(watch: LeakWatch, fd: bool) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        streams = {}
        for number, name in ((1, "stdout"), (2, "stderr")):
            streams[name] = stack.enter_context(_captured_stream(number, name, fd))
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    watch.stdout = streams["stdout"].getvalue()
    watch.stderr = streams["stderr"].getvalue()


@contextlib.contextmanager
def _captured_stream(number: int, name: str, fd: bool) -> Iterator[io.StringIO]:
    """Python-level writes to ``sys.<name>``, plus (on exit) what reached the descriptor."""
    collected = io.StringIO()
    original: IO[str] = getattr(sys, name)
    original.flush()
    saved_fd = _dup(number) if fd else None
    spool = tempfile.TemporaryFile() if saved_fd is not None else None  # noqa: SIM115
    if spool is not None:
        os.dup2(spool.fileno(), number)
    setattr(sys, name, collected)
    try:
        yield collected
    finally:
        setattr(sys, name, original)
        if spool is not None and saved_fd is not None:
            os.dup2(saved_fd, number)
            os.close(saved_fd)
            spool.seek(0)
            collected.write(spool.read().decode("utf-8", "replace"))
            spool.close()


def _dup(number: int) -> int | None:
    try:
        return os.dup(number)
    except OSError:
        return None
