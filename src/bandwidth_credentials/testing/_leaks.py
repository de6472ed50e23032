"""The leak harness: run code with canary secrets planted and prove none of them escaped.

Every channel a secret could leave through is watched while the code runs:

- **log records** of every logger at DEBUG: the root logger and every named one,
  including the SDKs' own (``hvac``, ``botocore``, ``boto3``, ``urllib3``, ``httpx``,
  ``httpcore``, ``requests``, ``google``, ``azure``); the message, its arguments, any
  ``extra`` fields and the attached exception are all checked;
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
    "SDK_LOGGERS",
    "LeakFound",
    "LeakWatch",
    "check_no_leaks",
    "find_leaks",
    "watch_for_leaks",
]

T = TypeVar("T")

#: Loggers set to DEBUG by name (besides the root logger and every logger that exists).
SDK_LOGGERS = (
    "bandwidth_credentials",
    "hvac",
    "botocore",
    "boto3",
    "urllib3",
    "requests",
    "httpx",
    "httpcore",
    "google",
    "azure",
    "msal",
)


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

    def leaks(self, messages: list[tuple[logging.LogRecord, str]]) -> list[Leak]:
        found: list[Leak] = []
        for record, message in messages:
            where = f"log record of {record.name!r} ({record.levelname})"
            found += find_in_text(message, self.canaries, where + " message")
            found += find_in_graph(vars(record), self.canaries, where)
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

    Returns the paths, such as ``exception.__context__.doc``; empty when clean.
    ``canaries`` defaults to :data:`CANARIES`.

    >>> find_leaks(ValueError("x", {"k": CANARY_PASSWORD}))           # doctest: +SKIP
    ["value.args[1]['k']", ...]
    """
    planted = _planted(canaries)
    return [leak.where for leak in find_in_graph(value, planted, "value")]


@contextlib.contextmanager
def watch_for_leaks(
    canaries: Iterable[str] | None = None,
    *,
    loggers: Iterable[str] = SDK_LOGGERS,
    fd: bool = True,
) -> Iterator[LeakWatch]:
    """Watch every output channel while the ``with`` body runs; raise :class:`LeakFound`
    when a canary appears in any of them.

    ``canaries`` defaults to :data:`CANARIES`; ``loggers`` are set to DEBUG besides the
    root logger (levels, ``propagate`` and ``logging.disable`` are restored afterwards);
    ``fd=False`` leaves file descriptors 1 and 2 alone. An exception from the body is
    walked and then re-raised unchanged when it is clean; when it leaks, ``LeakFound``
    replaces it (without chaining, so the secret is not printed with it). Clean output
    is written through to the real stdout and stderr afterwards.

    >>> with watch_for_leaks() as watch:                                  # doctest: +SKIP
    ...     provider.fetch()
    """
    watch = LeakWatch(_planted(canaries))
    recorder = _Recorder()
    with (
        _all_loggers_at_debug(recorder, loggers),
        _captured_output(watch, fd),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            yield watch
        except BaseException as exc:  # walked below, then re-raised unchanged when clean
            watch.exception = exc
        watch.warnings = list(caught)
    watch.records = [record for record, _ in recorder.records]
    leaks = watch.leaks(recorder.records)
    if leaks:
        error = LeakFound(leaks, watch.canaries)
        watch.exception = None
        raise error
    sys.stdout.write(watch.stdout)
    sys.stderr.write(watch.stderr)
    for item in watch.warnings:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if watch.exception is not None:
        raise watch.exception


def check_no_leaks(action: Callable[[], T], canaries: Iterable[str] | None = None) -> T:
    """Run ``action()`` under :func:`watch_for_leaks` and return its result.

    Its exception, when clean, propagates unchanged, so it composes with
    ``pytest.raises``::

        with pytest.raises(SourceNotFoundError):
            check_no_leaks(provider.fetch)

    Raises :class:`LeakFound` (an ``AssertionError``) naming each place a canary appeared.
    """
    with watch_for_leaks(canaries):
        return action()
    raise AssertionError("unreachable")  # pragma: no cover - mypy cannot see the re-raise


def _planted(canaries: Iterable[str] | None) -> tuple[str, ...]:
    from ._contract import CANARIES

    planted = tuple(CANARIES if canaries is None else canaries)
    if not planted or any(len(canary) < 8 for canary in planted):
        raise ValueError("canaries must be distinctive strings of at least 8 characters")
    return planted


@contextlib.contextmanager
def _all_loggers_at_debug(handler: logging.Handler, names: Iterable[str]) -> Iterator[None]:
    root = logging.getLogger()
    named = [logging.getLogger(name) for name in names]
    existing = [
        item
        for item in logging.root.manager.loggerDict.values()
        if isinstance(item, logging.Logger)
    ]
    loggers = list(dict.fromkeys([root, *named, *existing]))
    saved = [(item, item.level) for item in loggers]
    disabled = logging.root.manager.disable
    # A logger that does not propagate never reaches the root handler: listen on it too.
    isolated = [item for item in existing if not item.propagate]
    logging.disable(logging.NOTSET)
    for item in loggers:
        item.setLevel(logging.DEBUG)
    root.addHandler(handler)
    for item in isolated:
        item.addHandler(handler)
    try:
        yield
    finally:
        for item in (root, *isolated):
            item.removeHandler(handler)
        for item, level in saved:
            item.setLevel(level)
        logging.disable(disabled)


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
