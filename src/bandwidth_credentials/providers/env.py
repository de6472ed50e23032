"""``env``: credentials from the process environment (``BW_*`` / ``BANDWIDTH_*``)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from .._errors import ConfigurationError
from .._provider import Fetched, Provider, Source

DEFAULT_PREFIXES = ("BW_", "BANDWIDTH_")

# The library's own settings share the BANDWIDTH_ prefix but are not credentials.
_OWN_SETTINGS = "BANDWIDTH_CREDENTIALS_"


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
    """

    scheme = "env"
    options = frozenset({"prefix"})

    def __init__(self, source: Source, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(source)
        self._prefixes = prefixes_option(source)
        self._environ = os.environ if environ is None else environ

    def fetch(self) -> Fetched:
        values = select_prefixed(self._environ.items(), self._prefixes)
        return Fetched(values=values, key_prefixes=self._prefixes)
