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

It can also be written (``bwcreds rotate --source ini:...``): :meth:`IniProvider.store`
replaces the section atomically after a check of the version read.

>>> from bandwidth_credentials import Resolver
>>> Resolver(["ini:/etc/bandwidth.ini?section=prod"]).get_auth("voice")  # doctest: +SKIP
"""

from __future__ import annotations

import configparser
import io
import os
import secrets
from collections.abc import Mapping

from bandwidth_credentials.plugin import (
    Fetched,
    Provider,
    SecretFileError,
    Source,
    SourceAccessDeniedError,
    SourceFormatError,
    SourceNotFoundError,
    StoreConflictError,
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
        parser, version = self._parsed()
        if not parser.has_section(self.section):
            raise source_error(
                SourceNotFoundError, self.source, f"{self.path} has no [{self.section}] section"
            )
        return Fetched(values=dict(parser.items(self.section, raw=True)), version=version)

    def _parsed(self, text: str | None = None) -> tuple[configparser.ConfigParser, str]:
        """The file (or ``text``) parsed, and the file's version."""
        version = ""
        if text is None:
            # The kit's file read: no blocking on a FIFO, a regular file only, capped, UTF-8.
            read = read_file(self.path, MAX_SIZE)
            if isinstance(read, SecretFileError):
                raise source_error(read.kind, self.source, read.reason)
            text, version = read.text, f"{read.info.st_mtime_ns}:{read.info.st_size}"
        parser = configparser.ConfigParser(interpolation=None)
        # configparser lowercases keys by default; keep them as stored.
        parser.optionxform = str  # type: ignore[assignment, method-assign]
        # A parse error quotes the offending line, which may hold a secret: the kit's
        # mapping keeps only its type and raises the library error outside the except
        # block, so the original is not chained as __context__.
        source = text
        map_exceptions(
            lambda: parser.read_string(source, source=self.path),
            [(configparser.Error, self._not_ini)],
        )
        return parser, version

    # -- writing (optional: bwcreds rotate) ------------------------------------------

    def store_problem(self) -> str | None:
        """``None``: a single INI file can be written (the base class says "not
        supported" for providers that cannot)."""
        return None

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Replace the section with ``values`` when the file is still at
        ``expected_version`` (its modification time and size, as :meth:`fetch` reports
        it), keeping every other section; returns the new version.

        The new file is written beside the old one (mode 0600), read back to prove it
        holds exactly ``values``, then renamed over it (atomic on POSIX). Raises
        ``StoreConflictError`` when the file changed since it was read (nothing written),
        ``SourceFormatError`` when a value cannot be written as INI unchanged (a line
        break, surrounding spaces, a nested object), ``SourceAccessDeniedError`` when the
        directory cannot be written, and the errors of :meth:`fetch`.

        >>> fetched = provider.fetch()                                    # doctest: +SKIP
        >>> provider.store({**fetched.values, "BW_CLIENT_SECRET": new}, fetched.version)
        ... # doctest: +SKIP
        '1733500000000000000:96'
        """
        parser, found = self._parsed()
        if expected_version is not None and found != expected_version:
            raise StoreConflictError(
                f"source {self.source.uri}: {self.path} changed since it was read; nothing "
                "was written: read it again and retry",
                source=self.source.uri,
                expected=expected_version,
                found=found,
            )
        if parser.has_section(self.section):
            parser.remove_section(self.section)
        parser.add_section(self.section)
        for key, value in values.items():
            if isinstance(value, str):
                parser.set(self.section, key, value)
        stream = io.StringIO()
        parser.write(stream)
        text = stream.getvalue()
        written = self._parsed(text)[0]
        same = dict(written.items(self.section, raw=True)) == dict(values)
        if not same:
            del text, stream, parser, written  # they hold the values: no frame keeps them
            raise source_error(
                SourceFormatError,
                self.source,
                f"the values cannot be written to {self.path} as INI unchanged",
            )
        data = text.encode("utf-8")
        del text, stream, parser, written
        map_exceptions(lambda: self._replace(data), [(OSError, self._not_written)])
        return self.current_version()

    def _replace(self, data: bytes) -> None:
        """Write ``data`` to a new file beside the old one, then rename it over it."""
        directory = os.path.dirname(os.path.abspath(self.path))
        name = f".{os.path.basename(self.path)}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        temporary = os.path.join(directory, name)
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(descriptor, data)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, self.path)
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)

    def _not_written(self, error: BaseException) -> Exception:
        what = f"cannot replace {self.path} ({type(error).__name__})"
        return source_error(SourceAccessDeniedError, self.source, what)

    def _not_ini(self, error: BaseException) -> Exception:
        what = f"{self.path} is not an INI file ({type(error).__name__})"
        return source_error(SourceFormatError, self.source, what)

    def current_version(self) -> str | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return f"{info.st_mtime_ns}:{info.st_size}"
