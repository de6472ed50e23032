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
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar, NamedTuple, Protocol
from urllib.parse import parse_qsl, urlsplit

from ._errors import ConfigurationError

__all__ = ["Fetched", "KeySchema", "Provider", "Source", "parse_source", "parse_sources"]

# Options every source accepts; the resolver acts on them, not the provider.
COMMON_OPTIONS = frozenset({"optional", "ttl", "max_stale"})

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_EMPTY: Mapping[str, str] = MappingProxyType({})
_LIST_HINT = "for several values repeat the option (prefix=P1_&prefix=P2_)"


class Source(NamedTuple):
    """A parsed source URI: ``SCHEME[:TARGET][?OPTION=VALUE&...]``.

    ``uri`` is the form that messages, provenance and ``bwcreds explain`` show: option
    names without their values (``vault:secret/bw?auth=***&role=***``), so a token pasted
    into an option never reaches any output; only the common options' flags and numbers
    (``optional=true``, ``ttl=60``) are shown as given. ``text`` is the URI exactly as configured.
    ``target`` is everything between the first ``:`` and the first ``?`` (an ARN keeps its
    own colons). ``options`` holds each option's value; an option given several times
    (a list) is in ``lists``.

    >>> source = parse_source("vault:secret/bw?auth=approle&ttl=60")
    >>> source.scheme, source.target, source.uri
    ('vault', 'secret/bw', 'vault:secret/bw?auth=***&ttl=60')
    >>> source.number("ttl", 300.0)
    60.0
    """

    uri: str
    scheme: str
    target: str
    options: Mapping[str, str] = _EMPTY
    text: str = ""
    lists: Mapping[str, tuple[str, ...]] = MappingProxyType({})

    @property
    def optional(self) -> bool:
        """Whether a missing or failing source is skipped instead of being an error.

        >>> parse_source("dotenv:.env?optional=true").optional
        True

        Raises :class:`ConfigurationError` when the value is not a boolean.
        """
        return self.flag("optional", False)

    def values(self, name: str) -> tuple[str, ...]:
        """Every value given for a list option (``prefix=A_&prefix=B_``), in order; an
        empty tuple when the option is absent. Never raises.

        >>> parse_source("env?prefix=A_&prefix=B_").values("prefix")
        ('A_', 'B_')
        """
        return self.lists.get(name, ())

    def flag(self, name: str, default: bool) -> bool:
        """Read a boolean option (``true``/``false``/``1``/``0``/``yes``/``no``/``on``/
        ``off``, case-insensitive); ``default`` when it is absent.

        >>> parse_source("dotenv:.env?interpolate=yes").flag("interpolate", False)
        True

        Raises :class:`ConfigurationError` naming the option for any other value.
        """
        raw = self.options.get(name)
        if raw is None:
            return default
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigurationError(
            f"source {self.uri}: option {name!r} must be true or false", source=self.uri
        )

    def number(self, name: str, default: float | None, *, maximum: float = 10.0**9) -> float | None:
        """Read a finite, non-negative number option (seconds, sizes) of at most ``maximum``.

        >>> parse_source("aws-sm:bw?read_timeout=2.5").number("read_timeout", 10.0)
        2.5

        Raises :class:`ConfigurationError` naming the option (never its value).
        """
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not (math.isfinite(value) and 0 <= value <= maximum):
            raise ConfigurationError(
                f"source {self.uri}: option {name!r} must be a number from 0 to {maximum:g}",
                source=self.uri,
            )
        return value


# The library's own flag and number options: a flag or a short number carries no secret.
_FLAG_OPTIONS = frozenset({"optional", "interpolate"})
_NUMBER_OPTIONS = frozenset(
    {"ttl", "max_stale", "check_interval", "max_size", "timeout", "connect_timeout", "read_timeout"}
)


def _harmless(name: str, value: str) -> bool:
    """Whether an option's value can be shown (one of the library's flags or numbers)."""
    if name in _FLAG_OPTIONS:
        return value.strip().lower() in _TRUE | _FALSE
    if name in _NUMBER_OPTIONS:
        return re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,3})?", value.strip()) is not None
    return False


def _shown(
    scheme: str, target: str, options: Sequence[tuple[str, str]], colon: bool = False
) -> str:
    """The URI as shown: user info and query of a URL target dropped, option values hidden
    (except the library's own flags and numbers, which cannot hold a secret)."""
    if "://" in target:
        parts = urlsplit(target)
        if parts.username is not None or parts.password is not None or parts.query:
            netloc = parts.hostname or ""
            if parts.port is not None:
                netloc += f":{parts.port}"
            target = f"{parts.scheme}://{netloc}{parts.path}"
    head = f"{scheme}:{target}" if target or colon else scheme
    if not options:
        return head
    shown = (
        f"{name}={value.strip().lower() if _harmless(name, value) else '***'}"
        for name, value in options
    )
    return head + "?" + "&".join(shown)


def parse_source(uri: str) -> Source:
    """Parse one source URI. A comma inside an option value is a :class:`ConfigurationError`
    (commas separate sources); a repeated option is a list, which only the options a
    provider declares in ``list_options`` may be.

    >>> parse_source("dotenv:.env?optional=true").options["optional"]
    'true'
    >>> parse_source("vault:secret/bw?token=s3cr3t&optional=true").uri
    'vault:secret/bw?token=***&optional=true'

    Raises :class:`ConfigurationError` for text that is not ``SCHEME[:TARGET][?OPTIONS]``,
    options that are not ``NAME=VALUE`` pairs, or a comma inside a value. Whether the
    scheme is installed and its options are known is checked later, by the resolver.
    """
    text = uri.strip()
    head, sep, query = text.partition("?")
    scheme, _, target = head.partition(":")
    scheme = scheme.strip().lower()
    if not _SCHEME.match(scheme):
        raise ConfigurationError(
            f"source {_shown(scheme, '', ())!r} is not a source URI: expected "
            "SCHEME[:TARGET][?OPTIONS], for example env, dotenv:.env or "
            f"vault:secret/bandwidth/prod (a comma separates sources; {_LIST_HINT})",
            source=None,
        )
    pairs: list[tuple[str, str]] = []
    if sep:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            pairs = [("", "")]
        if any(not name for name, _ in pairs):
            raise ConfigurationError(
                f"source {_shown(scheme, target, ())}: the options after '?' must be "
                "NAME=VALUE pairs joined by '&'",
                source=_shown(scheme, target, ()),
            )
    shown = _shown(scheme, target, pairs, colon=":" in head)
    options: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for name, value in pairs:
        if "," in value:
            raise ConfigurationError(
                f"source {shown}: option {name!r} holds a comma, which separates sources; "
                + _LIST_HINT,
                source=shown,
            )
        options.setdefault(name, value)
        lists.setdefault(name, []).append(value)
    return Source(
        uri=shown,
        scheme=scheme,
        target=target,
        options=MappingProxyType(options),
        text=text,
        lists=MappingProxyType({name: tuple(v) for name, v in lists.items()}),
    )


def parse_sources(value: str | Sequence[str | Source]) -> tuple[Source, ...]:
    """Parse a comma-separated list (or a sequence) of source URIs, highest precedence first."""
    items = value.split(",") if isinstance(value, str) else list(value)
    sources = tuple(
        item if isinstance(item, Source) else parse_source(item)
        for item in items
        if isinstance(item, Source) or item.strip()
    )
    if not sources:
        raise ConfigurationError("no credential sources configured (the source list is empty)")
    return sources


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
        ...

    def env_name(self, name: str, prefixes: Sequence[str] = ...) -> str | None:
        """The documented variable name ``name`` stands for under ``prefixes``, or None."""
        ...

    def foreign(self, name: str) -> str | None:
        """The tool that owns a look-alike variable name, if known."""
        ...


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
            accepted = ", ".join(sorted(self.options | COMMON_OPTIONS))
            raise ConfigurationError(
                f"source {source.uri}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"the {source.scheme} provider accepts: {accepted}",
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
