"""Writing a ``file:`` source: an atomic, checked replace of a single JSON or dotenv file.

The new content is written to a temporary file in the same directory (created
exclusively; the old file's owner, group and mode, never wider: the group bits are
dropped when the group cannot be kept; flushed and ``fsync``-ed), read back
and parsed to prove it holds exactly the values given, then moved over the file with
:func:`os.replace` (atomic on POSIX within one file system), and the directory is
``fsync``-ed. A reader sees the old file or the new one, never half of either. A
symbolic link is followed: the file it names is replaced in its own directory and the
link stays.

**The version check.** The file's version is what :class:`FileProvider` reports (inode,
size and modification time). It is compared just before the rename; a writer that
replaces the file between that comparison and the rename (microseconds) is not seen:
the check catches a store changed since it was *read*, not two writers racing on one
file in the same instant.

**An interrupted write.** The temporary file is named ``.NAME.PID.RANDOM.tmp`` after the
writing process. A process killed between writing it and the rename leaves it behind,
holding every value of the write (the secrets, and a newly created client secret that
may exist nowhere else). Nothing removes it on its own, since it may be the only copy:
while such a file of a process no longer running lies beside the source,
:func:`file_store_problem` names it (``bwcreds rotate`` and its dry run stop before
anything is created) and :func:`store_file` refuses to write; the message says how to
finish or discard that write. Liveness is asked with signal 0 (POSIX only; elsewhere a
leftover file is not recognised); where the process start time can be read (Linux's
``/proc``), a process that started after the file was last written is not its writer
but a later one given the same PID (a restarted container's PID 1 is always 1), so the
file is named as left behind.

**Not written**: a directory of key files (a Kubernetes Secret volume, which the
kubelet owns and replaces; a plain directory cannot be replaced atomically) and Vault
Agent's ``key: value`` rendering (the agent rewrites it from Vault: rotate Vault).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable, Mapping

from .._errors import (
    SourceAccessDeniedError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    StoreConflictError,
    StoreNotSupportedError,
)
from ._file_formats import ErrorFactory, parse

__all__ = ["file_store_problem", "interrupted_write", "store_file", "unwritable"]

_SAFE_SINGLE_QUOTED = frozenset("'\n\r")


def _dotenv_line(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("dotenv values are strings")
    if not any(char in _SAFE_SINGLE_QUOTED for char in value):
        return f"{key}='{value}'"  # single quotes: taken literally, no escapes
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{key}="{escaped}"'


def _render(values: Mapping[str, object], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(dict(values), indent=2) + "\n"
    return "".join(_dotenv_line(key, value) + "\n" for key, value in values.items())


def file_store_problem(path: str, configured_format: str | None) -> str | None:
    """Why ``path`` cannot be written by :func:`store_file` now, or ``None``: a kind of
    file never written (:func:`unwritable`), or an interrupted write's temporary file
    beside it (:func:`interrupted_write`)."""
    return unwritable(path, configured_format) or interrupted_write(path)


def interrupted_write(path: str) -> str | None:
    """What to do about a temporary file beside ``path`` left by a write whose process is
    no longer running, or ``None`` when there is none. Never reads the file."""
    real = os.path.realpath(path)
    directory = os.path.dirname(real) or "."
    prefix = f".{os.path.basename(real)}."
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) : -len(".tmp")].split(".")[0]
        leftover = os.path.join(directory, name)
        if pid.isascii() and pid.isdigit() and not _writer_running(int(pid), leftover):
            return (
                f"{leftover} was left by process {pid}, which is no longer running: a write "
                f"to {real} was interrupted. It holds that write's values (secrets, perhaps a "
                f"new client secret stored nowhere else). If it is complete and holds the "
                f"write you want (a client_secret_pending, say), move it over {real}; "
                "otherwise delete it. Nothing is written while it is there"
            )
    return None


# Seconds a process's start may follow its own file's last write and still be its
# writer: /proc's boot time is whole seconds, and the wall clock may be stepped.
_START_SLACK = 5.0


def _writer_running(pid: int, leftover: str) -> bool:
    """Whether the process that wrote ``leftover`` (named after process ``pid``) may still
    be running: ``pid`` exists and, where its start time is known, started before the
    file was last written. Outside POSIX assume so: signal 0 is a probe only on POSIX."""
    if os.name != "posix" or pid <= 0:
        return True
    if pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OverflowError:
            return False  # beyond any process ID: no process has it
        except OSError:
            pass  # it exists but is not ours to signal
    started = _start_time(pid)
    try:
        written = os.lstat(leftover).st_mtime
    except OSError:
        return True  # gone meanwhile: nothing to report
    return started is None or written >= started - _START_SLACK


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started, in epoch seconds, from Linux's ``/proc``; ``None``
    where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            fields = stat_file.read().rpartition(b")")[2].split()
        with open("/proc/stat", "rb") as system:
            boot = next((line.split()[1] for line in system if line.startswith(b"btime ")), None)
        ticks = int(fields[19])  # field 22, starttime, in clock ticks after boot
        if boot is None:
            return None
        return int(boot) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def unwritable(path: str, configured_format: str | None) -> str | None:
    """Why ``path`` is a kind of file :func:`store_file` never writes, or ``None``."""
    try:
        info = os.stat(path)
    except OSError:
        return None  # reading it reports why (not found, denied): not a question of writing
    if stat.S_ISDIR(info.st_mode):
        return (
            "writing is not supported by this source (a directory of key files cannot be "
            "replaced atomically; the kubelet owns a Secret volume: rotate where it comes from)"
        )
    if configured_format == "vault-agent":
        return (
            "writing is not supported by this source (Vault Agent renders this file from "
            "Vault: rotate the Vault secret)"
        )
    if not os.access(os.path.dirname(os.path.realpath(path)) or ".", os.W_OK):
        return f"the directory of {path} is not writable (the new file is written there first)"
    return None


def store_file(
    path: str,
    values: Mapping[str, object],
    expected_version: str | None,
    *,
    uri: str,
    fmt: str,
    version_of: Callable[[os.stat_result], str],
    error: ErrorFactory,
) -> str:
    """Replace the single file ``path`` (in format ``fmt``: ``json`` or ``dotenv``) with
    ``values``; return the new version (``version_of`` the new file's stat).

    Raises :class:`StoreConflictError` when the file is not at ``expected_version``,
    :class:`StoreNotSupportedError` for Vault Agent output, :class:`SourceFormatError`
    when a value cannot be written in the file's format (a nested object in dotenv),
    :class:`SourceAccessDeniedError` when the directory cannot be written or an
    interrupted write's temporary file lies beside the file (see the module doc).
    """
    if fmt not in ("json", "dotenv"):
        raise StoreNotSupportedError(
            f"source {uri}: writing is not supported by this source (Vault Agent renders "
            "this file from Vault: rotate the Vault secret)",
            source=uri,
        )
    text = _rendered(values, fmt)
    if text is None or parse(text, path, fmt, error) != dict(values):
        raise error(SourceFormatError, f"{path}: the values cannot be written as {fmt} unchanged")
    interrupted = interrupted_write(path)
    if interrupted is not None:
        raise error(SourceAccessDeniedError, interrupted)
    path = os.path.realpath(path)  # a link stays: the file it names is replaced
    directory = os.path.dirname(path) or "."
    unique = f"{os.getpid()}.{secrets.token_hex(4)}"
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{unique}.tmp")
    conflict: str | None = None
    failure: tuple[type[SourceError], str] | None = None
    try:
        old = os.stat(path)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _same_access(descriptor, old)
            os.write(descriptor, text.encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        found = version_of(os.stat(path))
        if expected_version is not None and found != expected_version:
            conflict = found
        else:
            os.replace(temporary, path)
            _sync_directory(directory)
            return version_of(os.stat(path))
    except FileNotFoundError:
        failure = (SourceNotFoundError, f"{path} vanished while it was being replaced")
    except FileExistsError:
        failure = (SourceAccessDeniedError, f"{temporary} exists (another write in progress?)")
        temporary = ""
    except OSError as exc:
        failure = (SourceAccessDeniedError, f"cannot replace {path} ({exc.strerror})")
    if temporary and os.path.lexists(temporary):
        os.unlink(temporary)
    if failure is not None:
        raise error(*failure)
    assert expected_version is not None
    assert conflict is not None
    raise StoreConflictError(
        f"source {uri}: {path} changed since it was read (version {conflict}, expected "
        f"{expected_version}); nothing was written: read it again and retry",
        source=uri,
        expected=expected_version,
        found=conflict,
    )


def _same_access(descriptor: int, old: os.stat_result) -> None:
    """Give the new file the old one's owner, group and permission bits, never wider: when
    the group cannot be kept (not root, not a member), the group bits are dropped rather
    than granted to another group."""
    mode = stat.S_IMODE(old.st_mode) & 0o777
    if hasattr(os, "fchown"):
        for owner in (old.st_uid, -1):
            try:
                os.fchown(descriptor, owner, old.st_gid)
            except OSError:
                continue
            break
    if os.fstat(descriptor).st_gid != old.st_gid:
        mode &= ~0o070
    os.fchmod(descriptor, mode)


def _rendered(values: Mapping[str, object], fmt: str) -> str | None:
    try:
        return _render(values, fmt)
    except TypeError:
        return None


def _sync_directory(directory: str) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is done
    finally:
        os.close(descriptor)
