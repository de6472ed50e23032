"""``file:PATH``: credentials from secret files (Kubernetes, CSI, Docker, Vault Agent).

Two shapes are read:

- a **directory with one file per key**, as a Kubernetes Secret volume, a CSI
  secrets-store volume or Docker secrets lay it out: the file name is the key (in any
  spelling the normalizer accepts: ``password``, ``BW_PASSWORD``, ``apiSecret``), the
  content is the value with one trailing newline removed;
- a **single file** holding every key: a JSON object, dotenv-style ``KEY=VALUE`` lines,
  or Vault Agent's default ``key: value`` rendering.

The kubelet updates a Secret volume atomically: each generation is written to a new
hidden timestamped directory and the ``..data`` symlink is swapped onto it. This
provider resolves ``..data`` once, reads every key through that one generation
directory, and checks afterwards that ``..data`` still points there, so a reader never
pairs a new username with an old password.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Mapping
from typing import NamedTuple

from .._errors import (
    ConfigurationError,
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
)
from .._provider import Fetched, Provider, Source

__all__ = [
    "DEFAULT_CHECK_INTERVAL",
    "DEFAULT_MAX_SIZE",
    "FileProvider",
    "SecretFileError",
    "read_secret_file",
]

#: Largest value file read, in bytes. Credentials are tiny; a bigger file is a mistake
#: (a log or a binary pointed at by accident) and is refused rather than loaded.
DEFAULT_MAX_SIZE = 64 * 1024
#: Seconds between cheap checks for a rotated mount (the kubelet's ``..data`` swap).
DEFAULT_CHECK_INTERVAL = 5.0

FORMATS = ("json", "dotenv", "vault-agent")
DATA_LINK = "..data"
# A generation can be swapped out while it is read; after this many swaps in a row the
# mount is treated as unstable instead of retrying forever.
_MAX_ATTEMPTS = 5

_DOTENV_LINE = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.\-]*\s*=")
_VAULT_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-]*):(?:[ \t]+(.*?))?[ \t]*$")
# Vault Agent renders a KV v2 secret without a template as Go's map syntax, which is
# ambiguous as soon as a value holds a space; it is recognized only to say so.
_GO_MAP = re.compile(r"^(?:data|metadata):\s*map\[")


class SecretFileError(Exception):
    """Why one secret file could not be read; callers turn it into a :class:`SourceError`.

    ``kind`` is the :class:`SourceError` subclass to raise. The message describes the
    file and never quotes its content.
    """

    def __init__(self, kind: type[SourceError], reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _strip_newline(text: str) -> str:
    # Only the single newline `echo` or an editor appends; anything else is the value's.
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _os_error(exc: OSError, path: str) -> SecretFileError:
    if isinstance(exc, PermissionError):
        return SecretFileError(SourceAccessDeniedError, f"permission denied reading {path}")
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return SecretFileError(SourceNotFoundError, f"{path} does not exist")
    reason = exc.strerror or type(exc).__name__
    return SecretFileError(SourceUnavailableError, f"cannot read {path}: {reason}")


def _read_bytes(path: str, max_size: int, *, follow: bool = True) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_error(exc, path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileError(SourceFormatError, f"{path} is not a regular file")
        if info.st_size > max_size:
            raise SecretFileError(SourceFormatError, _too_large(path, max_size))
        # Read one byte past the limit so a file that grew after fstat is still caught.
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(max_size + 1)
    except OSError as exc:
        raise _os_error(exc, path) from None
    finally:
        os.close(fd)
    if len(data) > max_size:
        raise SecretFileError(SourceFormatError, _too_large(path, max_size))
    return data


def _too_large(path: str, max_size: int) -> str:
    return f"{path} is larger than the {max_size}-byte limit (raise it with ?max_size=)"


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(
            SourceFormatError, f"{path} is not UTF-8 text (a binary file?)"
        ) from None


def read_secret_file(path: str, max_size: int = DEFAULT_MAX_SIZE) -> str:
    """Read one value file: UTF-8, at most ``max_size`` bytes, one trailing newline removed.

    >>> read_secret_file("/run/secrets/bw_password")                # doctest: +SKIP
    'the password'

    Raises :class:`SecretFileError` (carrying the :class:`SourceError` subclass to raise)
    with a message that names the path and never the content.
    """
    return _strip_newline(_decode(_read_bytes(path, max_size), path))


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


class _Vanished(Exception):
    """A file or generation directory disappeared while being read (a rotation)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class _Generation(NamedTuple):
    values: dict[str, object]
    version: str


class FileProvider(Provider):
    """Reads credentials from a secret directory or a single secret file.

    URI: ``file:PATH`` with options

    - ``format=json|dotenv|vault-agent`` for a single file (default: detected from the
      content: ``{`` starts JSON, ``KEY=VALUE`` is dotenv, ``key: value`` is Vault Agent);
    - ``max_size=BYTES``, the per-file limit (default 65536);
    - ``check_interval=SECONDS``, how often the resolver asks whether the files changed
      (default 5; the check reads the ``..data`` link or the files' mtimes, not values).

    >>> from bandwidth_credentials import Resolver
    >>> Resolver(["file:/var/run/secrets/bandwidth"]).get_auth("voice")  # doctest: +SKIP

    Entries whose names start with ``.`` (the kubelet's ``..data`` and timestamped
    directories, dotfiles) and subdirectories are not keys. A symlink that resolves
    outside the directory is refused. Values in dotenv files are taken literally
    (no ``${VAR}`` expansion): a secret may contain ``$``.
    """

    scheme = "file"
    options = frozenset({"format", "max_size", "check_interval"})

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
        max_size = source.number("max_size", DEFAULT_MAX_SIZE)
        assert max_size is not None
        self.max_size = int(max_size)
        self.check_interval = source.number("check_interval", DEFAULT_CHECK_INTERVAL)

    # -- errors ----------------------------------------------------------------------

    def _error(self, kind: type[SourceError], reason: str) -> SourceError:
        uri = self.source.uri
        return kind(f"source {uri}: {reason}", source=uri)

    def _raise(self, exc: SecretFileError) -> SourceError:
        return self._error(exc.kind, exc.reason)

    # -- reading ---------------------------------------------------------------------

    def fetch(self) -> Fetched:
        try:
            info = os.stat(self.path)
        except OSError as exc:
            raise self._raise(_os_error(exc, self.path)) from None
        try:
            if stat.S_ISDIR(info.st_mode):
                generation = self._read_directory()
            else:
                generation = self._read_single_file()
        except _Vanished as gone:
            raise self._error(SourceNotFoundError, f"{gone.path} does not exist") from None
        if not generation.values:
            raise self._error(
                SourceNotFoundError,
                f"{self.path} holds no keys (is the secret mounted and populated?)",
            )
        return Fetched(values=generation.values, version=generation.version)

    def current_version(self) -> str | None:
        try:
            if os.path.isdir(self.path):
                target = self._data_target()
                return target if target is not None else self._plain_version()
            return self._file_version()
        except (OSError, SourceError, _Vanished):
            # The resolver keeps what it has; the next fetch reports the problem.
            return None

    def _data_target(self) -> str | None:
        link = os.path.join(self.path, DATA_LINK)
        if not os.path.islink(link):
            return None  # a plain directory (Docker secrets, a hand-made mount)
        try:
            return os.readlink(link)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._raise(_os_error(exc, link)) from None

    def _read_directory(self) -> _Generation:
        for _ in range(_MAX_ATTEMPTS):
            target = self._data_target()
            if target is None:
                before = self._plain_version()
                try:
                    values = self._read_entries(self.path)
                except _Vanished as gone:
                    if self._plain_version() == before:
                        raise self._error(
                            SourceNotFoundError, f"{gone.path} does not exist (a broken symlink?)"
                        ) from None
                    continue
                if self._plain_version() == before:
                    return _Generation(values, before)
                continue
            try:
                values = self._read_entries(os.path.join(self.path, target))
            except _Vanished as gone:
                if self._data_target() == target:
                    raise self._error(SourceNotFoundError, f"{gone.path} does not exist") from None
                continue
            # The kubelet may have swapped ..data (and deleted this generation) meanwhile;
            # the values are one generation's only if the link still points here.
            if self._data_target() == target:
                return _Generation(values, target)
        raise self._error(
            SourceUnavailableError,
            f"{self.path} changed during each of {_MAX_ATTEMPTS} attempts to read it",
        )

    def _listing(self, directory: str) -> list[str]:
        try:
            return sorted(name for name in os.listdir(directory) if not name.startswith("."))
        except FileNotFoundError:
            raise _Vanished(directory) from None
        except OSError as exc:
            raise self._raise(_os_error(exc, directory)) from None

    def _read_entries(self, directory: str) -> dict[str, object]:
        """Every key file in ``directory``; raises :class:`_Vanished` if one disappears."""
        root = os.path.realpath(self.path)
        values: dict[str, object] = {}
        for name in self._listing(directory):
            entry = os.path.join(directory, name)
            real = os.path.realpath(entry)
            if not _within(real, root):
                raise self._error(
                    SourceFormatError,
                    f"{entry} is a symlink that resolves outside {self.path}; refusing to read it",
                )
            try:
                if stat.S_ISDIR(os.stat(real).st_mode):
                    continue  # nested directories are not keys
                # The resolved path is opened without following a final symlink, so a
                # link swapped in after the containment check cannot redirect the read.
                data = _read_bytes(real, self.max_size, follow=False)
                values[name] = _strip_newline(_decode(data, entry))
            except FileNotFoundError:
                raise _Vanished(entry) from None
            except OSError as exc:
                raise self._raise(_os_error(exc, entry)) from None
            except SecretFileError as exc:
                if exc.kind is SourceNotFoundError:
                    raise _Vanished(entry) from None
                raise self._raise(exc) from None
        return values

    def _plain_version(self) -> str:
        """A digest of the names, sizes, mtimes and inodes of a directory's key files."""
        parts: list[str] = []
        for name in self._listing(self.path):
            try:
                info = os.stat(os.path.join(self.path, name))
            except OSError:
                parts.append(f"{name}:gone")
                continue
            parts.append(f"{name}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}")
        return "files-" + _digest(parts)

    def _file_version(self) -> str:
        info = os.stat(self.path)
        return "file-" + _digest([str(info.st_ino), str(info.st_size), str(info.st_mtime_ns)])

    def _read_single_file(self) -> _Generation:
        for _ in range(_MAX_ATTEMPTS):
            try:
                before = self._file_version()
                text = _decode(_read_bytes(self.path, self.max_size), self.path)
                after = self._file_version()
            except OSError as exc:
                raise self._raise(_os_error(exc, self.path)) from None
            except SecretFileError as exc:
                raise self._raise(exc) from None
            if before == after:
                return _Generation(self._parse(text), after)
        raise self._error(
            SourceUnavailableError,
            f"{self.path} changed during each of {_MAX_ATTEMPTS} attempts to read it",
        )

    # -- single-file formats -----------------------------------------------------------

    def _parse(self, text: str) -> dict[str, object]:
        text = text.removeprefix("\ufeff")
        fmt = self._format or self._detect(text)
        if fmt == "json":
            return self._parse_json(text)
        if fmt == "dotenv":
            return self._parse_dotenv(text)
        return self._parse_vault_agent(text)

    def _detect(self, text: str) -> str:
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):
            return "json"
        for line in stripped.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if _DOTENV_LINE.match(line):
                return "dotenv"
            if _VAULT_LINE.match(line):
                return "vault-agent"
            raise self._error(
                SourceFormatError,
                f"cannot tell the format of {self.path} (not a JSON object, KEY=VALUE lines "
                "or key: value lines); set ?format=json, dotenv or vault-agent",
            )
        return "dotenv"  # blank or comments only: no keys either way, reported by fetch()

    def _parse_json(self, text: str) -> dict[str, object]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            # Position only: the parser's own message may not quote the text, but a
            # chained cause would carry the document.
            raise self._error(
                SourceFormatError,
                f"{self.path} is not valid JSON (line {exc.lineno}, column {exc.colno})",
            ) from None
        if not isinstance(data, Mapping):
            raise self._error(
                SourceFormatError,
                f"{self.path} holds a JSON {type(data).__name__}, expected an object of keys",
            )
        return {str(key): value for key, value in data.items()}

    def _parse_dotenv(self, text: str) -> dict[str, object]:
        # Imported here so `import bandwidth_credentials` stays cheap.
        from dotenv import dotenv_values

        raw = dotenv_values(stream=io.StringIO(text), interpolate=False)
        return {key: value for key, value in raw.items() if value is not None}

    def _parse_vault_agent(self, text: str) -> dict[str, object]:
        values: dict[str, object] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if _GO_MAP.match(line):
                raise self._error(
                    SourceFormatError,
                    f"{self.path} line {number} is Vault Agent's default rendering of a KV v2 "
                    "secret (data: map[...]), which cannot be split into keys reliably; add "
                    "an agent-inject-template that renders 'key: value' lines or JSON",
                )
            match = _VAULT_LINE.match(line)
            if match is None:
                raise self._error(
                    SourceFormatError,
                    f"{self.path} line {number} is not a 'key: value' line",
                )
            key, value = match.group(1), match.group(2) or ""
            if key in values:
                raise self._error(
                    SourceFormatError, f"{self.path} line {number} repeats the key {key!r}"
                )
            values[key] = value
        return values
