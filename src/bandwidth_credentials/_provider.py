"""The provider interface: what a storage backend implements, and the source URI it is given.

A provider knows where secrets live and nothing about Bandwidth. It turns one source
URI (``vault:secret/bandwidth/prod?auth=kubernetes``) into a flat mapping of the raw keys
and string values it found, plus metadata. The normalizer decides what those keys mean.
A provider that must recognise field names (the env provider's ``*_FILE`` variables, a
secret directory's entries) is handed the schema as :attr:`Provider.schema`.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence  # the public API's annotations
from types import MappingProxyType

from ._errors import ConfigurationError, StoreNotSupportedError
from ._source import COMMON_OPTIONS, Source, parse_source, parse_sources
from ._typing import ClassVar, Protocol

__all__ = ["Fetched", "KeySchema", "Provider", "Source", "parse_source", "parse_sources"]

_EMPTY: Mapping[str, str] = MappingProxyType({})

#: Largest file read for one value or one small file, in bytes (``?max_size=``):
#: credentials are tiny; a bigger file is a mistake (a log or a binary) and is refused.
DEFAULT_MAX_SIZE = 64 * 1024
#: The largest ``max_size`` accepted, in bytes.
MAX_SIZE_LIMIT = 16 * 1024 * 1024
#: Seconds between cheap change checks of files (``?check_interval=``).
DEFAULT_CHECK_INTERVAL = 5.0


def max_size_option(source: Source, default: int = DEFAULT_MAX_SIZE) -> int:
    """The ``max_size`` option of ``source`` in bytes: a whole number from 1 to 16 MiB.

    Raises :class:`ConfigurationError` for anything else (``inf``, ``1e30``, ``0``, ``-1``).
    """
    value = source.number("max_size", default)
    if value is None or not math.isfinite(value) or value != int(value) or value < 1:
        bad = True
    else:
        bad = value > MAX_SIZE_LIMIT
    if bad:
        raise ConfigurationError(
            f"source {source.uri}: option 'max_size' must be a whole number of bytes "
            f"from 1 to {MAX_SIZE_LIMIT}",
            source=source.uri,
        )
    assert value is not None
    return int(value)


def text_option(source: Source, name: str, default: str | None = None) -> str | None:
    """A text option, stripped (the plugin kit's option parser, used by every provider,
    the core's own included); ``default`` when absent. Empty, or holding a control
    character (CR, LF, NUL: a forged log line or header) or an invisible one, is a
    :class:`~bandwidth_credentials.ConfigurationError` naming the option, never quoting it.

    >>> text_option(parse_source("vault:kv/bw?namespace=team-a"), "namespace")  # doctest: +SKIP
    'team-a'
    """
    raw = source.options.get(name)
    if raw is None:
        return default
    return _checked_text(source, name, raw)


def text_values(source: Source, name: str) -> tuple[str, ...]:
    """Every value of a list option (``?prefix=A_&prefix=B_``), each checked and stripped
    as :func:`text_option` does; an empty tuple when the option is absent (since kit 1.2).
    Raises :class:`~bandwidth_credentials.ConfigurationError` naming the option, never
    quoting a value.

    >>> text_values(parse_source("env?prefix=A_&prefix=B_"), "prefix")  # doctest: +SKIP
    ('A_', 'B_')
    """
    return tuple(_checked_text(source, name, raw) for raw in source.values(name))


def _checked_text(source: Source, name: str, raw: str) -> str:
    if not raw.isprintable():  # before stripping: a trailing (or lone) CR/LF is refused too
        raise ConfigurationError(
            f"source {source.uri}: option {name!r} holds a control or invisible character "
            "(a line break?)",
            source=source.uri,
        )
    value = raw.strip()
    if not value:
        raise ConfigurationError(
            f"source {source.uri}: option {name!r} is empty", source=source.uri
        )
    return value


class Fetched:
    """What one fetch of one source produced.

    ``values`` maps raw keys, exactly as stored, to string values, or to a nested
    mapping of the same shape for a per-service object such as ``{"voice": {...}}``.
    ``version`` identifies the generation read (a KV version, a Secrets Manager
    VersionId, a file-set digest) or is ``None`` when the store has no versions.
    ``key_names`` maps a raw key to the documented name it stands for, when the provider
    recognised it itself (``MYAPP_BW_PASSWORD`` -> ``BW_PASSWORD``, ``BW_PASSWORD_FILE``
    -> ``BW_PASSWORD``); provenance keeps the raw key. ``skipped`` maps keys that were
    seen but deliberately not read to why (shown by ``bwcreds explain``).

    The ``repr`` lists keys only, never values.

    >>> Fetched({"BW_ACCOUNT_ID": "920012", "voice": {"username": "u", "password": "p"}}, "7")
    Fetched(keys=['BW_ACCOUNT_ID', 'voice'], version='7')
    """

    __slots__ = ("key_names", "skipped", "values", "version")

    def __init__(
        self,
        values: Mapping[str, object],
        version: str | None = None,
        *,
        key_names: Mapping[str, str] = _EMPTY,
        skipped: Mapping[str, str] = _EMPTY,
    ) -> None:
        self.values = values
        self.version = version
        self.key_names = key_names
        self.skipped = skipped

    def __repr__(self) -> str:
        return f"Fetched(keys={sorted(self.values)!r}, version={self.version!r})"


class KeySchema(Protocol):
    """The part of the Bandwidth schema a provider may use to recognise names."""

    prefixes: tuple[str, ...]

    def recognizes(self, key: str) -> bool:
        """Whether a store key names a Bandwidth field (any accepted spelling)."""

    def env_name(self, name: str, prefixes: Sequence[str] = ...) -> str | None:
        """The documented variable name ``name`` stands for under ``prefixes``, or None."""

    def foreign(self, name: str) -> str | None:
        """The tool that owns a look-alike variable name, if known."""

    def bitwarden_present(self, environ: Mapping[str, str]) -> str | None:
        """The Bitwarden CLI variable set in ``environ`` (``BW_SESSION``, ...), if any:
        then ``BW_PASSWORD`` is Bitwarden's master password, not read."""

    def bitwarden_reason(self, owner: str) -> str:
        """Why ``BW_PASSWORD`` was not read while ``owner`` is set (for ``explain``)."""


class Provider(abc.ABC):
    """Base class of every source provider.

    A subclass sets ``scheme`` and implements :meth:`fetch`; it may list the options it
    accepts in ``options`` (``optional``, ``ttl`` and ``max_stale`` are always accepted)
    and set ``default_ttl`` (seconds; ``None`` means the values never expire, as for the
    environment). A source that can tell cheaply whether it changed (a file's mtime, a
    symlink target) sets ``check_interval`` and implements :meth:`current_version`.
    The class is registered under the entry-point group
    ``bandwidth_credentials.providers`` with its scheme as the entry-point name.

    ``fetch`` must raise a :class:`~bandwidth_credentials.SourceError` subclass on
    failure, with a message naming ``self.source.uri`` and no secret value. Any other
    exception is replaced by the source chain with one that keeps only its type name.

    ``schema`` is the part of the Bandwidth schema a provider may use to recognise names
    (see :class:`KeySchema`); the source chain hands it over before the first call.

    A minimal provider (``examples/provider-plugin/`` is a complete distribution)::

        class IniProvider(Provider):
            scheme = "ini"
            options = frozenset({"section"})

            def fetch(self) -> Fetched:
                path = Path(self.source.target)
                if not path.is_file():
                    raise SourceNotFoundError(
                        f"source {self.source.uri}: {path} does not exist", source=self.source.uri
                    )
                parser = configparser.ConfigParser()
                parser.optionxform = str  # keep the keys' case
                parser.read(path)
                section = self.source.options.get("section", "bandwidth")
                return Fetched(dict(parser[section]))

    Raises :class:`ConfigurationError` from ``__init__`` for an option the provider does
    not accept or a non-list option given twice.
    """

    scheme: ClassVar[str]
    options: ClassVar[frozenset[str]] = frozenset()
    #: Options that may be repeated to give several values (read with ``Source.values``).
    list_options: ClassVar[frozenset[str]] = frozenset()
    default_ttl: ClassVar[float | None] = None
    #: Seconds between cheap change checks (:meth:`current_version`); ``None``: no checks.
    check_interval: float | None = None
    #: The most one :meth:`fetch` (and one :meth:`current_version`) may take, in seconds,
    #: whatever the store does: every attempt, login and backoff in it (the plugin kit's
    #: ``Deadline``). The resolver lets callers wait for a refresh another caller runs as
    #: long as the sources' worst cases add up to (see ``Resolver``), so a source given a
    #: long ``?timeout=`` is not given up on while it still may answer. ``None``: a local
    #: read that needs no allowance of its own.
    worst_case: float | None = None
    _schema: KeySchema | None = None

    @property
    def schema(self) -> KeySchema:
        """The names the Bandwidth schema recognises (see :class:`KeySchema`): handed in by
        the source chain, or the core's own when the provider is used on its own.

        >>> self.schema.recognizes("accountId")                     # doctest: +SKIP
        True
        """
        if self._schema is None:
            from ._keys import SCHEMA  # the base class hands it over; providers never import it

            return SCHEMA
        return self._schema

    @schema.setter
    def schema(self, schema: KeySchema) -> None:
        self._schema = schema

    def __init__(self, source: Source) -> None:
        unknown = set(source.options) - self.options - COMMON_OPTIONS
        if unknown:
            import difflib  # only for a mistake

            known = sorted(self.options | COMMON_OPTIONS)
            hints = [
                f"{name} (did you mean {close[0]}?)" if close else name
                for name in sorted(unknown)
                for close in [difflib.get_close_matches(name, known, n=1, cutoff=0.75)]
            ]
            raise ConfigurationError(
                f"source {source.uri}: unknown option(s) {', '.join(hints)}; "
                f"the {source.scheme} provider accepts: {', '.join(known)}",
                source=source.uri,
            )
        for name, values in source.lists.items():
            if len(values) > 1 and name not in self.list_options:
                raise ConfigurationError(
                    f"source {source.uri}: option {name!r} is given twice", source=source.uri
                )
        self.source = source

    @abc.abstractmethod
    def fetch(self) -> Fetched:
        """Read the source now and return everything it holds, as a :class:`Fetched`.

        >>> Provider.fetch(provider)                                 # doctest: +SKIP
        Fetched(keys=['BW_ACCOUNT_ID', 'BW_PASSWORD', 'BW_USERNAME'], version=None)

        Must raise a :class:`SourceError` subclass on failure: ``SourceNotFoundError``,
        ``SourceAccessDeniedError``, ``SourceAuthenticationError``, ``SourceFormatError``
        or ``SourceUnavailableError``; every wait bounded, every read capped.
        """

    def current_version(self) -> str | None:
        """Cheaply tell which generation the source holds now, without reading values.

        Called every ``check_interval`` seconds when that is set; when the answer
        differs from the last ``Fetched.version`` the resolver fetches again. Return
        ``None`` when the source has no notion of versions. When the source can no
        longer be read (its directory vanished), raise a ``SourceError``: that is a
        failed refresh, served stale for at most ``max_stale``.

        >>> provider.current_version()                              # doctest: +SKIP
        '..2026_11_29_09_30_00.123456789'
        """
        return None

    #: Why this kind of source is never written (shown by :meth:`store`), for a provider
    #: that reads something another program owns: the environment, a ``.env`` file.
    read_only_reason: ClassVar[str | None] = None

    def store(self, values: Mapping[str, object], expected_version: str | None) -> str | None:
        """Write ``values`` (raw key -> value, in the shape :attr:`Fetched.values` has,
        exactly as they are to be stored; the whole mapping, not a patch) as the source's
        new generation, and return the version written (as :attr:`Fetched.version` would
        report it), or ``None`` when the store has no versions.

        The write is checked: when the source no longer holds ``expected_version`` (the
        version a fetch returned), nothing is written and :class:`StoreConflictError` is
        raised. A provider that cannot check (no versions) documents so. Other failures
        raise :class:`SourceError` subclasses, as :meth:`fetch` does.

        Optional: the default raises :class:`StoreNotSupportedError` naming the source
        (with :attr:`read_only_reason` when set). A provider that implements it also
        overrides :meth:`store_problem`.

        >>> fetched = provider.fetch()                              # doctest: +SKIP
        >>> new_values = {**fetched.values, "client_secret": new}   # doctest: +SKIP
        >>> provider.store(new_values, fetched.version)             # doctest: +SKIP
        '8'
        """
        del values, expected_version
        raise StoreNotSupportedError(
            f"source {self.source.uri}: {self.store_problem()}", source=self.source.uri
        )

    def store_problem(self) -> str | None:
        """Why :meth:`store` cannot write this source, found without writing (a dry run
        asks it), or ``None`` when it can. The default: writing is not supported.

        A provider that can write some of its sources words a refusal the same way::

            def store_problem(self) -> str | None:
                if self.pinned is not None:
                    return (
                        "writing is not supported by this source "
                        f"(it reads the pinned version {self.pinned})"
                    )
                return None

        >>> EnvProvider(parse_source("env")).store_problem()        # doctest: +SKIP
        'writing is not supported by this source (the process environment is read-only; ...)'
        """
        reason = self.read_only_reason or f"the {self.source.scheme} provider cannot write"
        return f"writing is not supported by this source ({reason})"

    def close(self) -> None:  # noqa: B027 - optional hook, empty by design
        """Release clients or connections. Called when the resolver is discarded; an
        exception raised here is logged by type only, never propagated.

        >>> provider.close()                                        # doctest: +SKIP
        """

    def after_fork(self) -> None:  # noqa: B027 - optional hook, empty by design
        """Called in a forked child: drop clients, sessions and locks inherited from the
        parent (without closing what the parent still uses), so the child starts over.
        An exception raised here is logged by type only, never propagated.

        >>> provider.after_fork()                                   # doctest: +SKIP
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source.uri!r})"
