"""``ini:PATH?section=NAME``: Bandwidth credentials from one section of an INI file.

An example of a third-party provider for ``bandwidth-credentials``, complete with its
distribution metadata and the shared contract tests. It imports only the plugin kit,
:mod:`bandwidth_credentials.plugin`: the provider interface, the safe file read, the
option parser, the foreign→own error mapping and the error helper. The file is read
with the standard library's :mod:`configparser` (no interpolation, keys kept exactly as
written)::

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

from bandwidth_credentials.plugin import (
    Fetched,
    Provider,
    SecretFileError,
    Source,
    SourceFormatError,
    SourceNotFoundError,
    map_exceptions,
    read_file,
    source_error,
    text_option,
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
    :data:`MAX_SIZE` or not INI syntax; ``ConfigurationError`` (when the source is parsed)
    for a ``section`` option holding a control character. The version is the file's
    modification time and size, so a rewritten file is noticed by ``current_version()``.
    """

    scheme = "ini"
    options = frozenset({"section"})

    def __init__(self, source: Source) -> None:
        super().__init__(source)
        self.path = os.path.expanduser(source.target)
        self.section = text_option(source, "section", "bandwidth") or "bandwidth"

    def fetch(self) -> Fetched:
        # The kit's file read: no blocking on a FIFO, a regular file only, capped, UTF-8.
        read = read_file(self.path, MAX_SIZE)
        if isinstance(read, SecretFileError):
            raise source_error(read.kind, self.source, read.reason)
        parser = configparser.ConfigParser(interpolation=None)
        # configparser lowercases keys by default; keep them as stored.
        parser.optionxform = str  # type: ignore[assignment, method-assign]
        # A parse error quotes the offending line, which may hold a secret: the kit's
        # mapping keeps only its type and raises the library error outside the except
        # block, so the original is not chained as __context__.
        map_exceptions(
            lambda: parser.read_string(read.text, source=self.path),
            [(configparser.Error, self._not_ini)],
        )
        if not parser.has_section(self.section):
            raise source_error(
                SourceNotFoundError, self.source, f"{self.path} has no [{self.section}] section"
            )
        version = f"{read.info.st_mtime_ns}:{read.info.st_size}"
        return Fetched(values=dict(parser.items(self.section, raw=True)), version=version)

    def _not_ini(self, error: BaseException) -> Exception:
        what = f"{self.path} is not an INI file ({type(error).__name__})"
        return source_error(SourceFormatError, self.source, what)

    def current_version(self) -> str | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return f"{info.st_mtime_ns}:{info.st_size}"
