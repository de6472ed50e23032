"""``file:PATH``: credentials from secret files (Kubernetes, CSI, Docker, Vault Agent).

Two shapes are read:

- a **directory with one file per key**, as a Kubernetes Secret volume, a CSI
  secrets-store volume or Docker secrets lay it out: the file name is the key (in any
  spelling the normalizer accepts: ``password``, ``BW_PASSWORD``, ``apiSecret``), the
  content is the value with one trailing newline removed;
- a **single file** holding every key: a JSON object, dotenv-style ``KEY=VALUE`` lines,
  or Vault Agent's default ``key: value`` rendering.

Every file is read through :mod:`bandwidth_credentials._files`: opened without
blocking, checked to be a regular file, capped at ``max_size``, a leading BOM removed.
Entries of a directory whose names are not credential keys (a certificate, a keystore,
a FIFO, a nested directory) are never opened; they are listed as skipped in
``bwcreds explain``.

**Generations.** The kubelet updates a Secret volume atomically: each generation is
written to a new hidden timestamped directory and the ``..data`` symlink is swapped onto
it. This provider resolves ``..data`` once, reads every key through that one generation
directory, and checks afterwards that ``..data`` still points there, so a reader never
pairs a new username with an old password.

A **plain directory** (no ``..data``, as Docker secrets or a hand-written mount) has no
such marker, so a reader can only judge by what it sees. A read is accepted only when
the listing and each key file's inode, size, mtime and ctime are identical before and
after it, *and* the key files have been left alone for ``settle`` seconds (when one
changed more recently the provider waits that long and compares again). What remains
possible: a writer that pauses longer than ``settle`` between two files it means as one
update, or one that rewrites a file in place with the same size within one timestamp
tick of the file system, between two identical stats. Writers that need a guarantee
should use the ``..data`` layout (write a new directory, swap one symlink).
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import stat
import threading
import time
from collections.abc import Mapping
from typing import NamedTuple, TypeVar

from .._errors import (
    ConfigurationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
)
from .._files import (
    DEFAULT_MAX_SIZE,
    FileText,
    SecretFileError,
    max_size_option,
    os_error,
    read_file,
    read_secret_file,
    strip_newline,
)
from .._provider import Fetched, Provider, Source
from ._file_formats import FORMATS, parse

__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_SETTLE",
    "FileProvider",
    "SecretFileError",
    "read_secret_file",
]

#: Seconds between cheap checks for a rotated mount (the kubelet's ``..data`` swap).
DEFAULT_CHECK_INTERVAL = 5.0
#: Seconds a plain directory's key files must have been unchanged before they are read.
DEFAULT_SETTLE = 0.5
_MAX_SETTLE = 10.0
_T = TypeVar("_T")
# File times are wall-clock times; tests replace these two to skip real waits.
_wall_clock_ns = time.time_ns
_monotonic = time.monotonic
_sleep = time.sleep

DATA_LINK = "..data"
# A generation can be swapped out while it is read; after this many swaps in a row the
# mount is treated as unstable instead of retrying forever.
_MAX_ATTEMPTS = 5

NOT_A_KEY = "skipped: not a credential key name (not opened)"
A_DIRECTORY = "skipped: a directory"


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _attempt(path: str, max_size: int, *, follow: bool) -> FileText | SecretFileError:
    try:
        return read_file(path, max_size, follow_symlinks=follow)
    except SecretFileError as exc:
        return exc


def _stat(path: str) -> os.stat_result | SecretFileError:
    failure: tuple[int | None, str | None]
    try:
        return os.stat(path)
    except OSError as exc:
        failure = (exc.errno, exc.strerror)
    return os_error(path, *failure)


class _Gone(NamedTuple):
    """A file or generation directory disappeared while being read (a rotation)."""

    path: str


class _Entries(NamedTuple):
    values: dict[str, object]
    skipped: dict[str, str]


class _Snapshot(NamedTuple):
    """What a plain directory looked like: compared before and after a read."""

    state: tuple[str, ...]
    newest_ns: int


class _Generation(NamedTuple):
    values: dict[str, object]
    version: str
    skipped: Mapping[str, str]


class FileProvider(Provider):
    """Reads credentials from a secret directory or a single secret file.

    URI: ``file:PATH`` with options

    - ``format=json|dotenv|vault-agent`` for a single file (default: detected from the
      content: ``{`` starts JSON, ``KEY=VALUE`` is dotenv, ``key: value`` is Vault Agent);
    - ``max_size=BYTES``, the per-file limit (default 65536, at most 16 MiB);
    - ``check_interval=SECONDS``, how often the resolver asks whether the files changed
      (default 5; the check reads the ``..data`` link or the files' mtimes, not values);
    - ``settle=SECONDS``, how long a plain directory's key files must have been left
      alone before they are read (default 0.5, at most 10; ``0`` turns the wait off).
      A fetch waits at most ``5 * settle`` seconds before it gives up as unavailable.

    >>> from bandwidth_credentials import Resolver
    >>> Resolver(["file:/var/run/secrets/bandwidth"]).get_auth("voice")  # doctest: +SKIP

    Entries whose names start with ``.`` (the kubelet's ``..data`` and timestamped
    directories, dotfiles) are not keys; nor are subdirectories. When the resolver has
    set :attr:`schema`, entries whose names are not credential keys are skipped unopened
    (``Fetched.skipped``); a provider used on its own reads every entry. A key file that
    is a symlink resolving outside the directory is refused. Values in dotenv files are
    taken literally (no ``${VAR}`` expansion): a secret may contain ``$``.

    Raises :class:`SourceNotFoundError` (missing path, no keys),
    :class:`SourceAccessDeniedError` (a key file or the directory is unreadable),
    :class:`SourceFormatError` (a key file that is a FIFO, device or socket, too large,
    not UTF-8, or an unparseable single file) and :class:`SourceUnavailableError` (the
    files kept changing during every attempt).
    """

    scheme = "file"
    options = frozenset({"format", "max_size", "check_interval", "settle"})

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        if not source.target:
            raise ConfigurationError(
                f"source {source.uri}: give the path of a secret directory or file, "
                "for example file:/var/run/secrets/bandwidth",
                source=source.uri,
            )
        self.path = os.path.abspath(os.path.expanduser(source.target))
        fmt = source.options.get("format")
        if fmt is not None and fmt.strip().lower() not in FORMATS:
            raise ConfigurationError(
                f"source {source.uri}: option 'format' must be one of {', '.join(FORMATS)}",
                source=source.uri,
            )
        self._format = fmt.strip().lower() if fmt is not None else None
        self.max_size = max_size_option(source, DEFAULT_MAX_SIZE)
        self.check_interval = source.number("check_interval", DEFAULT_CHECK_INTERVAL)
        settle = source.number("settle", DEFAULT_SETTLE)
        if settle is None or settle > _MAX_SETTLE:
            raise ConfigurationError(
                f"source {source.uri}: option 'settle' must be from 0 to {_MAX_SETTLE:g} seconds",
                source=source.uri,
            )
        self.settle = settle
        # The last state of a plain directory seen by any read or check, and when (by the
        # monotonic clock) it was first seen; -inf: nothing seen change yet.
        self._seen_lock = threading.Lock()
        self._seen: _Snapshot | _Gone | None = None
        self._seen_since = -math.inf

    # -- errors ----------------------------------------------------------------------

    def _error(self, kind: type[SourceError], reason: str) -> SourceError:
        uri = self.source.uri
        return kind(f"source {uri}: {reason}", source=uri)

    def _checked(self, outcome: _T | SecretFileError) -> _T:
        if isinstance(outcome, SecretFileError):
            raise self._failed(outcome)
        return outcome

    def _failed(self, exc: SecretFileError, via: str | None = None) -> SourceError:
        reason = exc.reason if via is None or via == exc.path else f"{exc.reason} (from {via})"
        return self._error(exc.kind, reason)

    # -- reading ---------------------------------------------------------------------

    def fetch(self) -> Fetched:
        info = self._checked(_stat(self.path))
        if stat.S_ISDIR(info.st_mode):
            generation = self._read_directory()
        else:
            generation = self._read_single_file()
        if not generation.values:
            skipped = f"; skipped: {', '.join(sorted(generation.skipped))}"
            raise self._error(
                SourceNotFoundError,
                f"{self.path} holds no keys (is the secret mounted and populated?)"
                + (skipped if generation.skipped else ""),
            )
        return Fetched(
            values=generation.values, version=generation.version, skipped=generation.skipped
        )

    def current_version(self) -> str | None:
        try:
            if os.path.isdir(self.path):
                target = self._data_target()
                if target is not None:
                    return target
                snapshot = self._observe()
                return None if isinstance(snapshot, _Gone) else self._version(snapshot)
            return self._file_version()
        except (OSError, SourceError):
            # The resolver keeps what it has; the next fetch reports the problem.
            return None

    def _data_target(self) -> str | None:
        link = os.path.join(self.path, DATA_LINK)
        failure: tuple[int | None, str | None]
        try:
            return os.readlink(link)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EINVAL, errno.ENOTDIR):
                return None  # a plain directory (Docker secrets, a hand-made mount)
            failure = (exc.errno, exc.strerror)
        raise self._failed(os_error(link, *failure))

    def _read_directory(self) -> _Generation:
        for _ in range(_MAX_ATTEMPTS):
            target = self._data_target()
            plain = target is None
            generation = self._read_plain() if plain else self._read_generation(str(target))
            if generation is not None:
                return generation
        raise self._error(
            SourceUnavailableError,
            f"{self.path} changed during each of {_MAX_ATTEMPTS} attempts to read it",
        )

    def _read_generation(self, target: str) -> _Generation | None:
        entries = self._read_entries(os.path.join(self.path, target))
        # The kubelet may have swapped ..data (and deleted this generation) meanwhile;
        # the values are one generation's only if the link still points here.
        still_current = self._data_target() == target
        if isinstance(entries, _Gone):
            if still_current:
                raise self._error(SourceNotFoundError, f"{entries.path} does not exist")
            return None
        return _Generation(entries.values, target, entries.skipped) if still_current else None

    def _read_plain(self) -> _Generation | None:
        before = self._observe()
        if isinstance(before, _Gone):
            raise self._error(SourceNotFoundError, f"{before.path} does not exist")
        if self._unsettled(before):
            # A writer may be half-way through an update: read only once the files have
            # been seen to stay as they are for the whole settle time.
            _sleep(self.settle)
            if self._observe() != before:
                return None
        entries = self._read_entries(self.path)
        if self._observe() != before:
            return None
        if isinstance(entries, _Gone):
            raise self._error(
                SourceNotFoundError, f"{entries.path} does not exist (a broken symlink?)"
            )
        return _Generation(entries.values, self._version(before), entries.skipped)

    def _observe(self) -> _Snapshot | _Gone:
        snapshot = self._snapshot()
        with self._seen_lock:
            if snapshot != self._seen:
                # The first state seen has no known start: its file times speak for it.
                self._seen_since = _monotonic() if self._seen is not None else -math.inf
                self._seen = snapshot
        return snapshot

    def _unsettled(self, snapshot: _Snapshot) -> bool:
        """Whether the files changed less than ``settle`` seconds ago, by their times or
        by what this provider saw (a file's size can change before its mtime does)."""
        if not self.settle:
            return False
        with self._seen_lock:
            seen_since = self._seen_since
        if _monotonic() - seen_since < self.settle:
            return True
        return snapshot.newest_ns > _wall_clock_ns() - int(self.settle * 1e9)

    def _is_key(self, name: str) -> bool:
        return self.schema is None or self.schema.recognizes(name)

    def _listing(self, directory: str) -> list[str] | _Gone:
        failure: tuple[int | None, str | None] | None = None
        try:
            return sorted(name for name in os.listdir(directory) if not name.startswith("."))
        except FileNotFoundError:
            return _Gone(directory)
        except OSError as exc:
            failure = (exc.errno, exc.strerror)
        raise self._failed(os_error(directory, *failure))

    def _read_entries(self, directory: str) -> _Entries | _Gone:
        """Every key file in ``directory``, and the entries skipped without opening them."""
        root = os.path.realpath(self.path)
        names = self._listing(directory)
        if isinstance(names, _Gone):
            return names
        entries = _Entries({}, {})
        for name in names:
            if not self._is_key(name):
                entries.skipped[name] = NOT_A_KEY
                continue
            entry = os.path.join(directory, name)
            real = os.path.realpath(entry)
            if not _within(real, root):
                raise self._error(
                    SourceFormatError,
                    f"{entry} is a symlink that resolves outside {self.path}; refusing to read it",
                )
            info = _stat(real)
            if isinstance(info, os.stat_result) and stat.S_ISDIR(info.st_mode):
                entries.skipped[name] = A_DIRECTORY
                continue
            # The resolved path is opened without following a final symlink, so a link
            # swapped in after the containment check cannot redirect the read.
            read = (
                info
                if isinstance(info, SecretFileError)
                else _attempt(real, self.max_size, follow=False)
            )
            if isinstance(read, SecretFileError):
                if read.kind is SourceNotFoundError:
                    return _Gone(entry)
                raise self._failed(read, via=entry)
            entries.values[name] = strip_newline(read.text)
        return entries

    def _snapshot(self) -> _Snapshot | _Gone:
        """The listing, and the inode, size, mtime and ctime of every key file."""
        names = self._listing(self.path)
        if isinstance(names, _Gone):
            return names
        parts: list[str] = []
        newest = 0
        for name in names:
            if not self._is_key(name):
                parts.append(name)
                continue
            try:
                info = os.stat(os.path.join(self.path, name))
            except OSError:
                parts.append(f"{name}:gone")
                continue
            newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
            parts.append(
                f"{name}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"
            )
        return _Snapshot(tuple(parts), newest)

    def _version(self, snapshot: _Snapshot) -> str:
        return "files-" + _digest(list(snapshot.state))

    def _file_version(self) -> str:
        return _file_digest(os.stat(self.path))

    def _read_single_file(self) -> _Generation:
        for _ in range(_MAX_ATTEMPTS):
            before = self._checked(_stat(self.path))
            read = self._checked(_attempt(self.path, self.max_size, follow=True))
            after = self._checked(_stat(self.path))
            if _file_digest(before) == _file_digest(after):
                values = parse(read.text, self.path, self._format, self._error)
                return _Generation(values, _file_digest(after), {})
        raise self._error(
            SourceUnavailableError,
            f"{self.path} changed during each of {_MAX_ATTEMPTS} attempts to read it",
        )


def _file_digest(info: os.stat_result) -> str:
    return "file-" + _digest([str(info.st_ino), str(info.st_size), str(info.st_mtime_ns)])
