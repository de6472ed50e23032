"""``env``: credentials from the process environment (``BW_*`` / ``BANDWIDTH_*``).

A variable named after a credential with ``_FILE`` appended (``BW_PASSWORD_FILE``) names
a file holding the value, the convention Docker secrets and many images follow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from .._errors import ConfigurationError
from .._files import DEFAULT_MAX_SIZE, SecretFileError, read_secret_file
from .._normalizer import classify_key
from .._provider import Fetched, Provider, Source

DEFAULT_PREFIXES = ("BW_", "BANDWIDTH_")

# The library's own settings share the BANDWIDTH_ prefix but are not credentials.
_OWN_SETTINGS = "BANDWIDTH_CREDENTIALS_"
FILE_SUFFIX = "_FILE"


def prefixes_option(source: Source) -> tuple[str, ...]:
    """The variable-name prefixes a source reads: ``?prefix=APP_BW_`` (comma-separated)
    replaces the default ``BW_,BANDWIDTH_``, so a machine whose ``BW_*`` belongs to
    another tool (Bitwarden's CLI uses ``BW_PASSWORD``) can opt out of it."""
    raw = source.options.get("prefix")
    if raw is None:
        return DEFAULT_PREFIXES
    prefixes = tuple(p.strip().upper() for p in raw.split(",") if p.strip())
    if not prefixes:
        raise ConfigurationError(
            f"source {source.uri}: option 'prefix' must name at least one prefix", source=source.uri
        )
    return prefixes


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


class EnvProvider(Provider):
    """Reads ``BW_*`` and ``BANDWIDTH_*`` variables from ``os.environ``.

    URI: ``env`` or ``env?prefix=MYAPP_BW_``. Values never expire; call ``reload()``
    after changing the environment of a running process.

    ``BW_PASSWORD_FILE=/run/secrets/bw_password`` (any credential name plus ``_FILE``)
    reads the value from that file: UTF-8, at most ``max_size`` bytes (default 65536),
    one trailing newline removed. The value is reported under the key
    ``BW_PASSWORD_FILE:PASSWORD``, so ``bwcreds explain`` shows which variable named
    the file. Setting both ``BW_PASSWORD`` and ``BW_PASSWORD_FILE`` to different values
    is an error naming both. A ``*_FILE`` variable that names no credential
    (``BW_LOG_FILE``) is left alone.
    """

    scheme = "env"
    options = frozenset({"prefix", "max_size"})

    def __init__(self, source: Source, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(source)
        self._prefixes = prefixes_option(source)
        max_size = source.number("max_size", DEFAULT_MAX_SIZE)
        assert max_size is not None
        self._max_size = int(max_size)
        self._environ = os.environ if environ is None else environ

    def fetch(self) -> Fetched:
        values = select_prefixed(self._environ.items(), self._prefixes)
        prefixes = list(self._prefixes)
        for name in [n for n in values if n.upper().endswith(FILE_SUFFIX)]:
            key = self._file_key(name)
            if key is None:
                continue
            path = values.pop(name)
            values[key] = self._read(name, path) if path else ""
            # The normalizer strips this "NAME_FILE:" prefix, so the key still maps to
            # its field while provenance keeps the variable that named the file.
            prefixes.append(key[: len(name) + 1].upper())
        return Fetched(values=values, key_prefixes=tuple(prefixes))

    def _file_key(self, name: str) -> str | None:
        """``BW_PASSWORD_FILE`` -> ``BW_PASSWORD_FILE:PASSWORD``; ``None`` if not a credential."""
        base = name[: -len(FILE_SUFFIX)]
        upper = base.upper()
        prefix = next(
            (p for p in self._prefixes if upper.startswith(p) and len(upper) > len(p)), None
        )
        if prefix is None or classify_key(base, self._prefixes)[1] is None:
            return None
        return f"{name}:{base[len(prefix) :]}"

    def _read(self, name: str, path: str) -> str:
        failure: SecretFileError
        try:
            return read_secret_file(os.path.expanduser(path), self._max_size)
        except SecretFileError as exc:
            failure = exc
        # Raised here, outside the except block, so the new error has no __context__.
        uri = self.source.uri
        raise failure.kind(f"source {uri}: {name}: {failure.reason}", source=uri)
