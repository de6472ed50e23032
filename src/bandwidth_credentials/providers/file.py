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

**Generations.** With the kubelet's ``..data`` layout every key is read from one
generation, so a reader never pairs a new username with an old password. A plain
directory has no such marker; its reads are judged by what the files look like (see
:mod:`._secret_dir` for the rule and its remaining limit).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import TypeVar

from .._errors import (
    ConfigurationError,
    SourceError,
    SourceNotFoundError,
    SourceUnavailableError,
)
from .._files import (
    DEFAULT_MAX_SIZE,
    SecretFileError,
    max_size_option,
    read_secret_file,
    try_read_file,
    try_stat,
)
from .._provider import DEFAULT_CHECK_INTERVAL, Fetched, Provider, Source, text_option
from ._file_formats import FORMATS, parse
from ._secret_dir import A_DIRECTORY, NOT_A_KEY, Generation, SecretDirectory, digest

__all__ = [
    "A_DIRECTORY",
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_SETTLE",
    "NOT_A_KEY",
    "FileProvider",
    "SecretFileError",
    "read_secret_file",
]

#: Seconds a plain directory's key files must have been unchanged before they are read.
DEFAULT_SETTLE = 0.5
_MAX_SETTLE = 10.0
# A single file rewritten during every one of this many reads is reported as unstable.
_MAX_ATTEMPTS = 5
_T = TypeVar("_T")


def _file_version(info: os.stat_result) -> str:
    return "file-" + digest([str(info.st_ino), str(info.st_size), str(info.st_mtime_ns)])


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

    A plain directory (no ``..data``) is read as one update only on a best-effort basis:
    a writer that pauses longer than ``settle`` between two files of one update, or
    rewrites a file in place with the same size within one timestamp tick of the file
    system, between two identical stats, can still be read half-way. Writers that need
    the guarantee write a new directory and swap a ``..data`` symlink onto it.

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
        fmt = text_option(source, "format")
        if fmt is not None and fmt.lower() not in FORMATS:
            raise ConfigurationError(
                f"source {source.uri}: option 'format' must be one of {', '.join(FORMATS)}",
                source=source.uri,
            )
        self._format = fmt.lower() if fmt is not None else None
        self.max_size = max_size_option(source, DEFAULT_MAX_SIZE)
        self.check_interval = source.number("check_interval", DEFAULT_CHECK_INTERVAL)
        settle = source.number("settle", DEFAULT_SETTLE)
        if settle is None or settle > _MAX_SETTLE:
            raise ConfigurationError(
                f"source {source.uri}: option 'settle' must be from 0 to {_MAX_SETTLE:g} seconds",
                source=source.uri,
            )
        self.directory = SecretDirectory(
            self.path,
            max_size=self.max_size,
            settle=settle,
            is_key=self._is_key,
            error=self._error,
        )

    # -- errors ----------------------------------------------------------------------

    def _error(self, kind: type[SourceError], reason: str) -> SourceError:
        uri = self.source.uri
        return kind(f"source {uri}: {reason}", source=uri)

    def _checked(self, outcome: _T | SecretFileError) -> _T:
        if isinstance(outcome, SecretFileError):
            raise self._failed(outcome)
        return outcome

    def _failed(self, exc: SecretFileError) -> SourceError:
        return self._error(exc.kind, exc.reason)

    def _is_key(self, name: str) -> bool:
        return self.schema is None or self.schema.recognizes(name)

    # -- reading ---------------------------------------------------------------------

    def fetch(self) -> Fetched:
        info = self._checked(try_stat(self.path))
        if stat.S_ISDIR(info.st_mode):
            generation = self.directory.read()
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
        """The ``..data`` target, a plain directory's digest or the file's identity.

        Raises :class:`SourceNotFoundError` when the path can no longer be read (the
        volume was unmounted, the directory removed): a failed refresh, so the last
        values are served for at most ``max_stale``, not forever."""
        vanished = False
        try:
            if os.path.isdir(self.path):
                return self.directory.version()
            return _file_version(os.stat(self.path))
        except (OSError, SourceError):
            vanished = True
        assert vanished
        raise self._error(SourceNotFoundError, f"{self.path} can no longer be read")

    # -- writing (bwcreds rotate; see ._file_store) --------------------------------

    def store_problem(self) -> str | None:
        """Why this source cannot be written (a directory, Vault Agent output, an
        interrupted write's temporary file beside it), or None."""
        from ._file_store import file_store_problem

        return file_store_problem(self.path, self._format)

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Atomically replace the single JSON or dotenv file with ``values`` when it is
        still at ``expected_version`` (see :mod:`._file_store`); returns the new version.

        >>> new_values = {**fetched.values, "client_secret": new}     # doctest: +SKIP
        >>> provider.store(new_values, fetched.version)              # doctest: +SKIP
        'file-3f1c...'
        """
        from .._errors import StoreNotSupportedError
        from ._file_formats import detect_format
        from ._file_store import store_file, unwritable

        problem = unwritable(self.path, self._format)
        if problem is not None:
            raise StoreNotSupportedError(
                f"source {self.source.uri}: {problem}", source=self.source.uri
            )
        read = self._checked(try_read_file(self.path, self.max_size))
        fmt = self._format or detect_format(read.text, self.path, self._error)
        return store_file(
            self.path,
            values,
            expected_version,
            uri=self.source.uri,
            fmt=fmt,
            version_of=_file_version,
            error=self._error,
        )

    def _read_single_file(self) -> Generation:
        for _ in range(_MAX_ATTEMPTS):
            before = self._checked(try_stat(self.path))
            read = self._checked(try_read_file(self.path, self.max_size))
            after = self._checked(try_stat(self.path))
            if _file_version(before) == _file_version(after):
                values = parse(read.text, self.path, self._format, self._error)
                return Generation(values, _file_version(after), {})
        raise self._error(
            SourceUnavailableError,
            f"{self.path} changed during each of {_MAX_ATTEMPTS} attempts to read it",
        )
