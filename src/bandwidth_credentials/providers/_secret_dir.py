"""Reading a directory of one file per key as one consistent generation.

**Kubelet layout.** Kubernetes writes each generation of a Secret volume to a new hidden
timestamped directory and swaps the ``..data`` symlink onto it (the atomic writer of
``pkg/volume/util/atomic_writer.go``). The reader resolves ``..data`` once, reads every
key through that generation directory and checks afterwards that ``..data`` still
points there; otherwise it reads again.

**Plain directories** (no ``..data``) carry no generation marker, so a read is accepted
only when (1) the key files have been left alone for ``settle`` seconds, judged by their
mtime and ctime and by any change this reader itself saw (a truncated file can show its
new size before its new mtime), and (2) the listing and each key file's inode, size,
mtime and ctime are identical before and after the read. The remaining limit: a writer
that pauses longer than ``settle`` between two files of one update, or rewrites a file
in place with the same size within one timestamp tick between two identical stats.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .._errors import SourceError, SourceFormatError, SourceNotFoundError, SourceUnavailableError
from .._files import SecretFileError, os_error, strip_newline, try_read_file, try_stat

DATA_LINK = "..data"
# A generation can be swapped out while it is read; after this many swaps in a row the
# mount is treated as unstable instead of retrying forever.
MAX_ATTEMPTS = 5

NOT_A_KEY = "skipped: not a credential key name (not opened)"
A_DIRECTORY = "skipped: a directory"

# File times are wall-clock times; tests replace these to skip real waits.
_wall_clock_ns = time.time_ns
_monotonic = time.monotonic
_sleep = time.sleep

ErrorFactory = Callable[[type[SourceError], str], SourceError]


def digest(parts: list[str]) -> str:
    """A short stable hash of ``parts``, used as a version string."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class Generation(NamedTuple):
    """What one consistent read produced: values, a version, entries left unread."""

    values: dict[str, object]
    version: str
    skipped: Mapping[str, str]


class _Gone(NamedTuple):
    """A file or generation directory disappeared while being read (a rotation)."""

    path: str


class _Snapshot(NamedTuple):
    """What a plain directory looked like: compared before and after a read."""

    state: tuple[str, ...]
    newest_ns: int


class SecretDirectory:
    """One secret directory. ``is_key`` says which entry names are worth opening;
    ``error`` builds the provider's :class:`SourceError` from a kind and a reason."""

    def __init__(
        self,
        path: str,
        *,
        max_size: int,
        settle: float,
        is_key: Callable[[str], bool],
        error: ErrorFactory,
    ) -> None:
        self.path = path
        self.max_size = max_size
        self.settle = settle
        self._is_key = is_key
        self._error = error
        # The last state of a plain directory seen by any read or check, and since when
        # (monotonic clock); -inf: the first state seen, whose file times speak for it.
        self._seen_lock = threading.Lock()
        self._seen: _Snapshot | _Gone | None = None
        self._seen_since = -math.inf

    def _failed(self, exc: SecretFileError, via: str | None = None) -> SourceError:
        reason = exc.reason if via is None or via == exc.path else f"{exc.reason} (from {via})"
        return self._error(exc.kind, reason)

    def read(self) -> Generation:
        """Every key of one generation; raises the provider's :class:`SourceError`."""
        for _ in range(MAX_ATTEMPTS):
            target = self.data_target()
            plain = target is None
            generation = self._read_plain() if plain else self._read_generation(str(target))
            if generation is not None:
                return generation
        raise self._error(
            SourceUnavailableError,
            f"{self.path} changed during each of {MAX_ATTEMPTS} attempts to read it",
        )

    def version(self) -> str | None:
        """The generation visible now (``..data``'s target or a digest of the stats)."""
        target = self.data_target()
        if target is not None:
            return target
        snapshot = self._observe()
        return None if isinstance(snapshot, _Gone) else self._version(snapshot)

    def data_target(self) -> str | None:
        link = os.path.join(self.path, DATA_LINK)
        failure: tuple[int | None, str | None]
        try:
            return os.readlink(link)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.EINVAL, errno.ENOTDIR):
                return None  # a plain directory (Docker secrets, a hand-made mount)
            failure = (exc.errno, exc.strerror)
        raise self._failed(os_error(link, *failure))

    def _read_generation(self, target: str) -> Generation | None:
        values = self._read_entries(os.path.join(self.path, target))
        # The kubelet may have swapped ..data (and deleted this generation) meanwhile;
        # the values are one generation's only if the link still points here.
        still_current = self.data_target() == target
        if isinstance(values, _Gone):
            if still_current:
                raise self._error(SourceNotFoundError, f"{values.path} does not exist")
            return None
        return values._replace(version=target) if still_current else None

    def _read_plain(self) -> Generation | None:
        before = self._observe()
        if isinstance(before, _Gone):
            raise self._error(SourceNotFoundError, f"{before.path} does not exist")
        if self._unsettled(before):
            # A writer may be half-way through an update: read only once the files have
            # been seen to stay as they are for the whole settle time.
            _sleep(self.settle)
            if self._observe() != before:
                return None
        values = self._read_entries(self.path)
        if self._observe() != before:
            return None
        if isinstance(values, _Gone):
            raise self._error(
                SourceNotFoundError, f"{values.path} does not exist (a broken symlink?)"
            )
        return values._replace(version=self._version(before))

    def _observe(self) -> _Snapshot | _Gone:
        snapshot = self._snapshot()
        with self._seen_lock:
            if snapshot != self._seen:
                self._seen_since = _monotonic() if self._seen is not None else -math.inf
                self._seen = snapshot
        return snapshot

    def _unsettled(self, snapshot: _Snapshot) -> bool:
        if not self.settle:
            return False
        with self._seen_lock:
            seen_since = self._seen_since
        if _monotonic() - seen_since < self.settle:
            return True
        return snapshot.newest_ns > _wall_clock_ns() - int(self.settle * 1e9)

    def _listing(self, directory: str) -> list[str] | _Gone:
        failure: tuple[int | None, str | None]
        try:
            return sorted(name for name in os.listdir(directory) if not name.startswith("."))
        except FileNotFoundError:
            return _Gone(directory)
        except OSError as exc:
            failure = (exc.errno, exc.strerror)
        raise self._failed(os_error(directory, *failure))

    def _read_entries(self, directory: str) -> Generation | _Gone:
        """Every key file in ``directory``, and the entries skipped without opening them."""
        root = os.path.realpath(self.path)
        names = self._listing(directory)
        if isinstance(names, _Gone):
            return names
        values: dict[str, object] = {}
        skipped: dict[str, str] = {}
        for name in names:
            if not self._is_key(name):
                skipped[name] = NOT_A_KEY
                continue
            entry = os.path.join(directory, name)
            real = os.path.realpath(entry)
            if not _within(real, root):
                raise self._error(
                    SourceFormatError,
                    f"{entry} is a symlink that resolves outside {self.path}; refusing to read it",
                )
            info = try_stat(real)
            if isinstance(info, os.stat_result) and stat.S_ISDIR(info.st_mode):
                skipped[name] = A_DIRECTORY
                continue
            # The resolved path is opened without following a final symlink, so a link
            # swapped in after the containment check cannot redirect the read.
            read = (
                info
                if isinstance(info, SecretFileError)
                else try_read_file(real, self.max_size, follow_symlinks=False)
            )
            if isinstance(read, SecretFileError):
                if read.kind is SourceNotFoundError:
                    return _Gone(entry)
                raise self._failed(read, via=entry)
            values[name] = strip_newline(read.text)
        return Generation(values, "", skipped)

    def _snapshot(self) -> _Snapshot | _Gone:
        """The listing, and the inode, size, mtime and ctime of every key file."""
        names = self._listing(self.path)
        if isinstance(names, _Gone):
            return names
        parts: list[str] = []
        newest = 0
        for name in names:
            info = try_stat(os.path.join(self.path, name)) if self._is_key(name) else None
            if not isinstance(info, os.stat_result):
                parts.append(name if info is None else f"{name}:gone")
                continue
            newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
            parts.append(
                f"{name}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"
            )
        return _Snapshot(tuple(parts), newest)

    def _version(self, snapshot: _Snapshot) -> str:
        return "files-" + digest(list(snapshot.state))
