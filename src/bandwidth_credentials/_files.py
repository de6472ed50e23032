"""Reading a secret file without blocking, without unbounded memory and without leaking it.

Every file the library reads goes through :func:`read_file`: ``file:`` entries and
single files, ``*_FILE`` variables, ``dotenv:`` files, and the token, JWT and secret-id
files of store logins. It

1. opens the path with ``O_RDONLY | O_NONBLOCK | O_CLOEXEC`` (plus ``O_NOFOLLOW`` when
   asked), so opening a FIFO or a device returns at once instead of waiting for a writer
   (open(2): "O_NONBLOCK ... the open() for reading-only returns without delay" for a FIFO);
2. checks with ``fstat`` on the open descriptor that it is a regular file; a FIFO, a
   character or block device (``/dev/zero``), a socket or a directory is refused;
3. reads at most ``max_size + 1`` bytes in chunks of :data:`CHUNK_SIZE` (a file whose
   ``fstat`` size already exceeds ``max_size`` is refused without reading it, and one that
   grows while it is read stops one byte past the limit);
4. removes a leading UTF-8 byte order mark (U+FEFF, which Windows editors write) and
   decodes the rest as strict UTF-8.

Failures raise :class:`SecretFileError`, which names the file and carries the
:class:`~bandwidth_credentials.SourceError` subclass a provider should raise. It never
quotes content, and it is raised outside every ``except`` block, so no foreign exception
(a ``UnicodeDecodeError`` keeps the raw bytes in ``.object``) hangs off ``__context__``.
"""

from __future__ import annotations

import errno
import os
import stat

from ._errors import (
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
)
from ._provider import DEFAULT_MAX_SIZE, MAX_SIZE_LIMIT, max_size_option
from ._typing import NamedTuple

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_MAX_SIZE",
    "MAX_SIZE_LIMIT",
    "FileText",
    "SecretFileError",
    "max_size_option",
    "os_error",
    "read_file",
    "read_secret_file",
    "read_text",
    "strip_newline",
    "try_read_file",
    "try_stat",
]

#: The largest ``max_size`` a source may ask for (16 MiB).
#: Bytes requested per ``read(2)``: memory grows with the file, never with ``max_size``.
CHUNK_SIZE = 64 * 1024

_BOM = b"\xef\xbb\xbf"
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class SecretFileError(Exception):
    """Why one file could not be read; callers turn it into a :class:`SourceError`.

    ``kind`` is the :class:`SourceError` subclass to raise, ``path`` the file and
    ``reason`` a sentence naming it. Nothing here quotes the file's content.
    """

    def __init__(self, kind: type[SourceError], path: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.path = path
        self.reason = reason


class FileText(NamedTuple):
    """A file's text (BOM removed) and the ``fstat`` of the descriptor it was read from."""

    text: str
    info: os.stat_result


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def os_error(
    path: str, code: int | None, strerror: str | None, *, nofollow: bool = False
) -> SecretFileError:
    """The :class:`SecretFileError` for an ``OSError``'s ``errno`` and ``strerror`` on ``path``."""
    if code in (errno.EACCES, errno.EPERM):
        return SecretFileError(SourceAccessDeniedError, path, f"permission denied reading {path}")
    if code in (errno.ENOENT, errno.ENOTDIR):
        return SecretFileError(SourceNotFoundError, path, f"{path} does not exist")
    if code == errno.ENXIO:  # open(2) on a socket, or a device with nothing behind it
        return SecretFileError(
            SourceFormatError, path, f"{path} is not a regular file (a socket or a device?)"
        )
    if code == errno.ELOOP and nofollow:
        return SecretFileError(
            SourceFormatError, path, f"{path} is a symbolic link where a file was expected"
        )
    reason = strerror or "input/output error"
    return SecretFileError(SourceUnavailableError, path, f"cannot read {path}: {reason}")


def _too_large(path: str, max_size: int) -> SecretFileError:
    return SecretFileError(
        SourceFormatError,
        path,
        f"{path} is larger than the {max_size}-byte limit (raise it with ?max_size=)",
    )


def _read_fd(fd: int, max_size: int) -> bytes | None:
    """Up to ``max_size`` bytes from ``fd``; ``None`` when there are more."""
    chunks: list[bytes] = []
    total = 0
    while total <= max_size:
        chunk = os.read(fd, min(CHUNK_SIZE, max_size + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
    chunks.clear()  # a refused file's bytes are not kept alive by a traceback
    return None


def read_file(
    path: str, max_size: int = DEFAULT_MAX_SIZE, *, follow_symlinks: bool = True
) -> FileText:
    """Read one regular file as UTF-8 text: the library's only way of reading a file.

    ``max_size`` is in bytes (at most :data:`MAX_SIZE_LIMIT`); ``follow_symlinks=False``
    adds ``O_NOFOLLOW``, so a symbolic link as the last path component is refused.

    >>> read_file("/run/secrets/bw_password").text                  # doctest: +SKIP
    'the password\\n'

    Raises :class:`SecretFileError`: ``kind`` is :class:`SourceNotFoundError` for a
    missing path, :class:`SourceAccessDeniedError` for a permission error,
    :class:`SourceFormatError` for anything but a regular file, a file over ``max_size``
    or one that is not UTF-8, and :class:`SourceUnavailableError` for other I/O errors.
    """
    failure: SecretFileError | None = None
    os_failure: tuple[int | None, str | None] | None = None
    try:
        fd = os.open(path, _FLAGS | (0 if follow_symlinks else _NOFOLLOW))
    except OSError as exc:
        os_failure = (exc.errno, exc.strerror)
    if os_failure is not None:
        raise os_error(path, *os_failure, nofollow=not follow_symlinks)
    data: bytes | None = None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            failure = SecretFileError(
                SourceFormatError, path, f"{path} is {_describe(info.st_mode)}, not a regular file"
            )
        elif info.st_size > max_size:
            failure = _too_large(path, max_size)
        else:
            data = _read_fd(fd, max_size)
            if data is None:
                failure = _too_large(path, max_size)  # it grew after fstat
    except OSError as exc:
        os_failure = (exc.errno, exc.strerror)
    finally:
        os.close(fd)
    if failure is None and os_failure is not None:
        failure = os_error(path, *os_failure, nofollow=not follow_symlinks)
    if failure is not None:
        raise failure
    assert data is not None
    text = _decode(data.removeprefix(_BOM))
    del data
    if text is None:
        raise SecretFileError(SourceFormatError, path, f"{path} is not UTF-8 text (a binary file?)")
    return FileText(text, info)


def try_read_file(
    path: str, max_size: int = DEFAULT_MAX_SIZE, *, follow_symlinks: bool = True
) -> FileText | SecretFileError:
    """:func:`read_file`, returning its error instead of raising it, so the caller can
    raise its own error outside any ``except`` block."""
    try:
        return read_file(path, max_size, follow_symlinks=follow_symlinks)
    except SecretFileError as exc:
        return exc


def try_stat(path: str) -> os.stat_result | SecretFileError:
    """``os.stat(path)``, or the :class:`SecretFileError` describing why it failed."""
    failure: tuple[int | None, str | None]
    try:
        return os.stat(path)
    except OSError as exc:
        failure = (exc.errno, exc.strerror)
    return os_error(path, *failure)


def _decode(data: bytes) -> str | None:
    # Only the outcome leaves this function: the UnicodeDecodeError holds the bytes.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_text(path: str, max_size: int = DEFAULT_MAX_SIZE, *, follow_symlinks: bool = True) -> str:
    """:func:`read_file`'s text only (a token file, a JWT). Raises :class:`SecretFileError`."""
    return read_file(path, max_size, follow_symlinks=follow_symlinks).text


def strip_newline(text: str) -> str:
    """``text`` without one trailing ``\\n`` or ``\\r\\n``: what ``echo`` or an editor adds."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def read_secret_file(path: str, max_size: int = DEFAULT_MAX_SIZE) -> str:
    """Read one value file: UTF-8, at most ``max_size`` bytes, BOM and one newline removed.

    >>> read_secret_file("/run/secrets/bw_password")                # doctest: +SKIP
    'the password'

    Raises :class:`SecretFileError` as :func:`read_file` does.
    """
    return strip_newline(read_text(path, max_size))
