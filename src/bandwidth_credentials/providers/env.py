"""``env``: credentials from the process environment (``BW_*`` / ``BANDWIDTH_*``).

Only the documented names count (case-insensitive): the source chain hands this provider
the schema, which says which names those are, so ``BW_CLIENTID`` (Bitwarden's CLI) is not
taken for ``BW_CLIENT_ID``. A documented name with ``_FILE`` appended
(``BW_PASSWORD_FILE``) names a file holding the value, the convention Docker secrets and
many images follow; those files are change-checked, so a rotated Kubernetes Secret
mounted as a file is picked up without a restart.
"""

from __future__ import annotations

import os

from .._errors import SourceError
from .._provider import (
    DEFAULT_CHECK_INTERVAL,
    DEFAULT_MAX_SIZE,
    Fetched,
    KeySchema,
    Provider,
    Source,
    text_values,
)
from .._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from .._files import SecretFileError

# The file reader and hashing are imported only when a *_FILE variable is set.

DEFAULT_PREFIXES = ("BW_", "BANDWIDTH_")

# The library's own settings share the BANDWIDTH_ prefix but are not credentials.
_OWN_SETTINGS = "BANDWIDTH_CREDENTIALS_"
FILE_SUFFIX = "_FILE"


def prefixes_option(source: Source) -> tuple[str, ...]:
    """The variable-name prefixes a source reads: ``?prefix=APP_BW_`` (repeat the option
    for several: ``?prefix=A_&prefix=B_``) replaces the default ``BW_`` and ``BANDWIDTH_``,
    so a machine whose ``BW_*`` belongs to another tool can opt out of it."""
    given = text_values(source, "prefix")  # an empty one or a control character: refused
    if not given:
        return DEFAULT_PREFIXES
    return tuple(p.upper() for p in given)


def select_prefixed(items: Iterable[tuple[str, str]], prefixes: tuple[str, ...]) -> dict[str, str]:
    """Keep the variables whose names start with one of ``prefixes`` (case-insensitive).

    Unprefixed names such as ``USERNAME`` are never taken: they belong to the OS.
    """
    selected: dict[str, str] = {}
    for name, value in items:
        upper = name.upper()
        if upper.startswith(_OWN_SETTINGS):
            continue
        if any(upper.startswith(prefix) and len(upper) > len(prefix) for prefix in prefixes):
            selected[name] = value
    return selected


def recognize(
    values: Mapping[str, str], prefixes: tuple[str, ...], schema: KeySchema
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Split prefixed variables into (values, documented name per variable, skipped with
    why), by the schema's exact names."""
    kept: dict[str, str] = {}
    names: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name, value in values.items():
        documented = schema.env_name(name, prefixes)
        if documented is not None:
            kept[name] = value
            names[name] = documented
            continue
        owner = schema.foreign(name)
        skipped[name] = (
            f"not read: {name.upper()} belongs to {owner}, not Bandwidth"
            if owner
            else "not read: not a documented Bandwidth variable name"
        )
    return kept, names, skipped


def _bitwardens(name: str) -> bool:
    """``BW_PASSWORD`` or ``BW_PASSWORD_FILE`` (ASCII, any case): Bitwarden's master
    password when Bitwarden's own variables are set."""
    return name.isascii() and name.upper() in ("BW_PASSWORD", "BW_PASSWORD" + FILE_SUFFIX)


class EnvProvider(Provider):
    """Reads ``BW_*`` and ``BANDWIDTH_*`` variables from ``os.environ``.

    URI: ``env``, options ``prefix`` (repeatable: ``env?prefix=MYAPP_BW_``), ``max_size``
    (bytes read from a ``*_FILE``, default 65536) and ``check_interval`` (seconds between
    change checks of ``*_FILE`` files, default 5). Values never expire; call ``reload()``
    after changing the environment of a running process.

    ``BW_PASSWORD_FILE=/run/secrets/bw_password`` (any documented name plus ``_FILE``)
    reads the value from that file: UTF-8, at most ``max_size`` bytes, one trailing
    newline removed. ``bwcreds explain`` shows the variable that named the file. Setting
    both ``BW_PASSWORD`` and ``BW_PASSWORD_FILE`` to different values is an error naming
    both. A ``*_FILE`` variable that names no credential (``BW_LOG_FILE``) is left alone.

    Names match case-insensitively in ASCII only (a name spelled with a long s, U+017F,
    is not read). When Bitwarden's CLI variables are set (``BW_SESSION``, ``BW_CLIENTID``,
    ``BW_CLIENTSECRET``), ``BW_PASSWORD`` is Bitwarden's master password and is not read;
    give Bandwidth's as ``BANDWIDTH_PASSWORD`` (or under a prefix of your own).
    """

    scheme = "env"
    read_only_reason = "the process environment is read-only; change it where it is set"
    options = frozenset({"prefix", "max_size", "check_interval"})
    list_options = frozenset({"prefix"})

    def __init__(self, source: Source, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(source)
        self._prefixes = prefixes_option(source)
        max_size = source.number("max_size", DEFAULT_MAX_SIZE, maximum=16 * 1024 * 1024)
        assert max_size is not None
        self._max_size = int(max_size)
        self._interval = source.number("check_interval", DEFAULT_CHECK_INTERVAL)
        self._environ = os.environ if environ is None else environ
        self._files: dict[str, str] = {}  # variable -> path, as of the last fetch

    def fetch(self) -> Fetched:
        prefixed = select_prefixed(self._environ.items(), self._prefixes)
        bitwarden = self._bitwarden()
        skipped_bitwarden: dict[str, str] = {}
        files = {}
        # ASCII names only: case-insensitive in ASCII (a dotless i in "_FILE" names no file).
        for name in [n for n in prefixed if n.isascii() and n.upper().endswith(FILE_SUFFIX)]:
            base = name[: -len(FILE_SUFFIX)]
            if self.schema.env_name(base, self._prefixes) is None:
                if self.schema.env_name(name, self._prefixes) is None:
                    prefixed.pop(name)  # BW_LOG_FILE and the like: not ours
                continue
            files[name] = prefixed.pop(name)
        if bitwarden is not None:
            for name in [n for n in (*prefixed, *files) if _bitwardens(n)]:
                prefixed.pop(name, None)
                files.pop(name, None)
                skipped_bitwarden[name] = bitwarden
        values, names, skipped = recognize(prefixed, self._prefixes, self.schema)
        for name, owner in skipped_bitwarden.items():
            skipped[name] = self.schema.bitwarden_reason(owner)
        for name, path in files.items():
            base = name[: -len(FILE_SUFFIX)]
            values[name] = self._read(name, path) if path else ""
            documented = self.schema.env_name(base, self._prefixes)
            assert documented is not None
            names[name] = documented
        self._files = files
        # Watch the named files for rotation only when there are any.
        self.check_interval = self._interval if files else None
        return Fetched(values, self._version(files), key_names=names, skipped=skipped)

    def _bitwarden(self) -> str | None:
        """The Bitwarden variable that makes ``BW_PASSWORD`` Bitwarden's, when this source
        reads the ``BW_`` prefix and one is set."""
        if "BW_" not in self._prefixes:
            return None
        return self.schema.bitwarden_present(self._environ)

    def current_version(self) -> str | None:
        """A digest of each ``*_FILE`` file's identity (resolved path, inode, size, mtime);
        raises ``SourceError`` when one can no longer be read."""
        return self._version(self._files, strict=True)

    def _version(self, files: Mapping[str, str], strict: bool = False) -> str | None:
        if not files:
            return None
        parts = []
        for name, path in sorted(files.items()):
            full = os.path.expanduser(path)
            reason = ""
            try:
                info = os.stat(full)
                real = os.path.realpath(full)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
            if reason and strict:
                uri = self.source.uri
                raise SourceError(
                    f"source {uri}: {name}: the file can no longer be read ({reason})",
                    source=uri,
                )
            if reason:
                parts.append(f"{name}:gone")
                continue
            parts.append(f"{name}:{real}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}")
        import hashlib

        return "files-" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

    def _read(self, name: str, path: str) -> str:
        uri = self.source.uri
        full = os.path.expanduser(path)
        from .._files import SecretFileError, read_secret_file

        failure: SecretFileError | None = None
        try:
            return read_secret_file(full, self._max_size)
        except SecretFileError as exc:
            failure = exc
        reason = failure.reason
        parent = os.path.dirname(full)
        if (
            not os.path.isabs(full)
            or parent == os.path.dirname(parent)
            or not os.path.isdir(parent)
        ):
            # Not a path one would write on purpose (not absolute, at the root, or in no
            # existing directory): perhaps a secret pasted into the wrong variable (base64
            # may start with "/"), so it is never echoed.
            reason = (
                "it does not name a readable file (not an absolute path in an existing "
                "directory; the value is not shown)"
            )
        raise failure.kind(f"source {uri}: {name}: {reason}", source=uri)
