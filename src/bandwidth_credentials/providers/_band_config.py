"""Finding and reading the Bandwidth CLI's config file, safely and with a size cap.

Where the file is follows ``config.DefaultPath`` in the CLI's
``internal/config/config.go`` (github.com/Bandwidth/cli).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from .._errors import (
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
)

__all__ = [
    "MAX_CONFIG_SIZE",
    "ConfigReadError",
    "default_config_path",
    "file_identity",
    "file_version",
    "read_config_bytes",
]

#: The CLI's config is a few hundred bytes; anything this big is not it.
MAX_CONFIG_SIZE = 64 * 1024


class ConfigReadError(Exception):
    """Why the file could not be read: ``kind`` is the :class:`SourceError` to raise.

    The reason names the path, never the content.
    """

    def __init__(self, kind: type[SourceError], reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _absent(path: Path) -> bool:
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False  # there, but unreadable: reading it reports why
    return False


def default_config_path(home: Path | None = None) -> Path:
    """The file the CLI reads: ``~/.config/band/config.json`` unless only the legacy one exists.

    As ``config.DefaultPath`` does: the home directory is used as is
    (``XDG_CONFIG_HOME`` is not consulted), and the legacy ``~/.band/config.json`` is
    chosen only when the current file does not exist and the legacy one does. Raises
    ``RuntimeError`` when the home directory cannot be determined.

    >>> default_config_path(Path("/home/dev"))  # doctest: +SKIP
    PosixPath('/home/dev/.config/band/config.json')
    """
    home = Path.home() if home is None else home
    current = home / ".config" / "band" / "config.json"
    legacy = home / ".band" / "config.json"
    if _absent(current) and not _absent(legacy):
        return legacy
    return current


def file_identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """Device, inode, size and mtime (ns): what changes when the file is rewritten."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def file_version(path: str, info: os.stat_result, raw: bytes) -> str:
    """A short digest of the file's path, identity and content."""
    # The identity catches a re-login that writes the same bytes (a new secret for the
    # same client id); the content catches a same-size rewrite within one timestamp
    # tick. The file holds ids only, so hashing it exposes nothing.
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape"))
    digest.update(repr(file_identity(info)).encode())
    digest.update(raw)
    return "band-" + digest.hexdigest()[:16]


def read_config_bytes(path: str) -> tuple[bytes, os.stat_result]:
    """The file's bytes and the ``fstat`` of the descriptor they were read from.

    Opened with ``O_NONBLOCK`` (a FIFO in the file's place must not hang the open),
    checked to be a regular file, read up to :data:`MAX_CONFIG_SIZE` bytes. Raises
    :class:`ConfigReadError`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    problem: ConfigReadError | None = None
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        problem = ConfigReadError(SourceNotFoundError, f"{path} does not exist")
    except PermissionError:
        problem = ConfigReadError(SourceAccessDeniedError, f"permission denied reading {path}")
    except OSError as exc:
        problem = ConfigReadError(SourceUnavailableError, f"cannot open {path}: {exc.strerror}")
    if problem is not None:
        raise problem
    too_large = f"{path} is larger than {MAX_CONFIG_SIZE} bytes; not a Bandwidth CLI config"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problem = ConfigReadError(SourceFormatError, f"{path} is not a regular file")
        elif info.st_size > MAX_CONFIG_SIZE:
            problem = ConfigReadError(SourceFormatError, too_large)
        else:
            # One byte past the cap, so a file that grew after fstat is still caught.
            with os.fdopen(fd, "rb", closefd=False) as stream:
                raw = stream.read(MAX_CONFIG_SIZE + 1)
            if len(raw) > MAX_CONFIG_SIZE:
                problem = ConfigReadError(SourceFormatError, too_large)
    except OSError as exc:
        problem = ConfigReadError(SourceUnavailableError, f"cannot read {path}: {exc.strerror}")
    finally:
        os.close(fd)
    if problem is not None:
        raise problem
    return raw, info
