"""``ini:PATH?section=NAME``: Bandwidth credentials from one section of an INI file.

An example of a third-party provider for ``bandwidth-credentials``, complete with its
distribution metadata and the shared contract tests. The file is read with the standard
library's :mod:`configparser` (no interpolation, keys kept exactly as written)::

    [bandwidth]
    BW_ACCOUNT_ID = 920012
    BW_CLIENT_ID = ...
    BW_CLIENT_SECRET = ...

>>> from bandwidth_credentials import Resolver
>>> Resolver(["ini:/etc/bandwidth.ini?section=prod"]).get_auth("voice")  # doctest: +SKIP
"""

from __future__ import annotations

import configparser
import os
import stat
from typing import NoReturn

from bandwidth_credentials import (
    Fetched,
    Provider,
    Source,
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
)

__all__ = ["MAX_SIZE", "IniProvider"]

#: Bytes read at most; a credentials file is a few hundred.
MAX_SIZE = 64 * 1024


class IniProvider(Provider):
    """Reads one section (option ``section``, default ``bandwidth``) of the INI file at
    ``PATH`` and returns its keys and values as written.

    Errors, each naming the URI and never a value: ``SourceNotFoundError`` when the file
    or the section does not exist; ``SourceAccessDeniedError`` when the file may not be
    read; ``SourceFormatError`` when it is not a regular file, not UTF-8, larger than
    :data:`MAX_SIZE` or not INI syntax. The version is the file's modification time and
    size, so a rewritten file is noticed by ``current_version()``.
    """

    scheme = "ini"
    options = frozenset({"section"})

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.path = os.path.expanduser(source.target)
        self.section = source.options.get("section", "bandwidth")

    def fetch(self) -> Fetched:
        data, version = self._read()
        parser = configparser.ConfigParser(interpolation=None)
        # configparser lowercases keys by default; keep them as stored.
        parser.optionxform = str  # type: ignore[assignment, method-assign]
        problem = None
        try:
            parser.read_string(data, source=self.path)
        except configparser.Error as exc:
            # The exception quotes the offending line, which may hold a secret: keep only
            # its type, and raise outside this block so it is not chained as __context__.
            problem = type(exc).__name__
        if problem is not None:
            self._fail(SourceFormatError, f"{self.path} is not an INI file ({problem})")
        if not parser.has_section(self.section):
            self._fail(SourceNotFoundError, f"{self.path} has no [{self.section}] section")
        return Fetched(values=dict(parser.items(self.section, raw=True)), version=version)

    def current_version(self) -> str | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return f"{info.st_mtime_ns}:{info.st_size}"

    def _read(self) -> tuple[str, str]:
        failure: tuple[type[SourceError], str] | None = None
        try:
            # O_NONBLOCK: a FIFO at PATH must not hang the caller.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            failure = (SourceNotFoundError, f"file {self.path} does not exist")
        except PermissionError:
            failure = (SourceAccessDeniedError, f"permission denied reading {self.path}")
        except OSError as exc:
            failure = (SourceFormatError, f"cannot open {self.path} ({exc.strerror})")
        if failure is not None:
            self._fail(*failure)
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            raw = stream.read(MAX_SIZE + 1) if stat.S_ISREG(info.st_mode) else None
        if raw is None:
            self._fail(SourceFormatError, f"{self.path} is not a regular file")
        if len(raw) > MAX_SIZE:
            self._fail(SourceFormatError, f"{self.path} is larger than {MAX_SIZE} bytes")
        try:
            text: str | None = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
        if text is None:
            self._fail(SourceFormatError, f"{self.path} is not UTF-8 text")
        return text, f"{info.st_mtime_ns}:{info.st_size}"

    def _fail(self, error: type[SourceError], what: str) -> NoReturn:
        uri = self.source.uri
        raise error(f"source {uri}: {what}", source=uri)
