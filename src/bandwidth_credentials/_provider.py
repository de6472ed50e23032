"""The provider interface: what a storage backend implements, and the source URI it is given.

A provider knows where secrets live and nothing about Bandwidth. It turns one source
URI (``vault:secret/bandwidth/prod?auth=kubernetes``) into a flat mapping of the raw keys
and string values it found, plus metadata. The normalizer decides what those keys mean.
"""

from __future__ import annotations

import abc
import re
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, NamedTuple, Protocol
from urllib.parse import parse_qsl

from ._errors import ConfigurationError

__all__ = ["Fetched", "KeySchema", "Provider", "Source", "parse_source", "parse_sources"]

# Options every source accepts; the resolver acts on them, not the provider.
COMMON_OPTIONS = frozenset({"optional", "ttl", "max_stale"})

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class Source(NamedTuple):
    """A parsed source URI: ``SCHEME[:TARGET][?OPTION=VALUE&...]``.

    ``target`` is everything between the first ``:`` and the first ``?`` (an ARN keeps
    its own colons). ``uri`` is the text as configured; it is what messages and
    ``bwcreds explain`` show, so it must never carry a secret.
    """

    uri: str
    scheme: str
    target: str
    options: Mapping[str, str] = MappingProxyType({})

    @property
    def optional(self) -> bool:
        """Whether a missing source is skipped instead of being an error."""
        return self.flag("optional", False)

    def flag(self, name: str, default: bool) -> bool:
        """Read a boolean option (``true``/``false``/``1``/``0``/``yes``/``no``)."""
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

    def number(self, name: str, default: float | None) -> float | None:
        """Read a non-negative number option (seconds, sizes)."""
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value >= 0:  # also rejects NaN
            raise ConfigurationError(
                f"source {self.uri}: option {name!r} must be a non-negative number",
                source=self.uri,
            )
        return value


def parse_source(uri: str) -> Source:
    """Parse one source URI.

    >>> parse_source("dotenv:.env?optional=true").options["optional"]
    'true'
    >>> parse_source("aws-sm:arn:aws:secretsmanager:us-east-1:1:secret:bw").target
    'arn:aws:secretsmanager:us-east-1:1:secret:bw'
    """
    text = uri.strip()
    head, sep, query = text.partition("?")
    scheme, _, target = head.partition(":")
    scheme = scheme.strip().lower()
    if not _SCHEME.match(scheme):
        raise ConfigurationError(
            f"source {text!r} is not a source URI: expected SCHEME[:TARGET][?OPTIONS], "
            "for example env, dotenv:.env or vault:secret/bandwidth/prod",
            source=text,
        )
    options: dict[str, str] = {}
    if sep:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            raise ConfigurationError(
                f"source {text}: the options after '?' must be NAME=VALUE pairs joined by '&'",
                source=text,
            ) from None
        for name, value in pairs:
            if name in options:
                raise ConfigurationError(
                    f"source {text}: option {name!r} is given twice", source=text
                )
            options[name] = value
    return Source(uri=text, scheme=scheme, target=target, options=MappingProxyType(options))


def parse_sources(value: str | list[str] | tuple[str, ...]) -> tuple[Source, ...]:
    """Parse a comma-separated list (or a sequence) of source URIs, highest precedence first."""
    items = value.split(",") if isinstance(value, str) else list(value)
    sources = tuple(parse_source(item) for item in items if item.strip())
    if not sources:
        raise ConfigurationError("no credential sources configured (the source list is empty)")
    return sources


class Fetched:
    """What one fetch of one source produced.

    ``values`` maps raw keys, exactly as stored, to string values, or to a nested
    mapping of the same shape for a per-service object such as ``{"voice": {...}}``.
    ``version`` identifies the generation read (a KV version, a Secrets Manager
    VersionId, a file-set timestamp) or is ``None`` when the store has no versions.
    ``key_prefixes`` names prefixes the normalizer should strip besides ``BW_`` and
    ``BANDWIDTH_`` (the env provider's configurable prefix).

    ``fetched_at`` is the wall-clock time of the fetch (now, unless given).
    ``skipped`` maps raw keys the provider saw but did not read to why (a file whose
    name is not a credential key is never opened); ``bwcreds explain`` lists them.

    The ``repr`` lists keys only, never values.
    """

    __slots__ = ("fetched_at", "key_prefixes", "skipped", "values", "version")

    def __init__(
        self,
        values: Mapping[str, object],
        version: str | None = None,
        fetched_at: float | None = None,
        key_prefixes: tuple[str, ...] = (),
        skipped: Mapping[str, str] | None = None,
    ) -> None:
        self.values = values
        self.version = version
        self.fetched_at = time.time() if fetched_at is None else fetched_at
        self.key_prefixes = key_prefixes
        self.skipped: Mapping[str, str] = MappingProxyType(dict(skipped or {}))

    def __repr__(self) -> str:
        return (
            f"Fetched(keys={sorted(self.values)!r}, version={self.version!r}, "
            f"fetched_at={self.fetched_at!r})"
        )


class KeySchema(Protocol):
    """What a provider may ask about key names without knowing Bandwidth's fields."""

    def recognizes(self, key: str) -> bool:
        """Whether ``key`` (any accepted spelling, incl. service-scoped) names a field."""
        ...


class Provider(abc.ABC):
    """Base class of every source provider.

    A subclass sets ``scheme`` and implements :meth:`fetch`; it may list the options it
    accepts in ``options`` (``optional``, ``ttl`` and ``max_stale`` are always accepted)
    and set ``default_ttl`` (seconds; ``None`` means the values never expire, as for the
    environment). A source that can tell cheaply whether it changed (a file's mtime, a
    symlink target) sets ``check_interval`` and implements :meth:`current_version`.
    ``schema`` is set by the resolver right after construction; a provider that must
    tell credential keys from other entries before reading them (the ``file:``
    provider's directory entries) asks it, and reads everything when it is ``None``.
    The class is registered under the entry-point group
    ``bandwidth_credentials.providers`` with its scheme as the entry-point name.

    ``fetch`` must raise a :class:`~bandwidth_credentials.SourceError` subclass on
    failure, with a message naming ``self.source.uri`` and no secret value. Any other
    exception is wrapped by the resolver, losing its message (which may hold a value).
    """

    scheme: ClassVar[str]
    options: ClassVar[frozenset[str]] = frozenset()
    default_ttl: ClassVar[float | None] = None
    #: Seconds between cheap change checks (:meth:`current_version`); ``None``: no checks.
    check_interval: float | None = None
    #: Recognizes credential key names; set by the resolver, ``None`` when standalone.
    schema: KeySchema | None = None

    def __init__(self, source: Source) -> None:
        unknown = set(source.options) - self.options - COMMON_OPTIONS
        if unknown:
            accepted = ", ".join(sorted(self.options | COMMON_OPTIONS))
            raise ConfigurationError(
                f"source {source.uri}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"the {source.scheme} provider accepts: {accepted}",
                source=source.uri,
            )
        self.source = source

    @abc.abstractmethod
    def fetch(self) -> Fetched:
        """Read the source now and return everything it holds."""

    def current_version(self) -> str | None:
        """Cheaply tell which generation the source holds now, without reading values.

        Called every ``check_interval`` seconds when that is set; when the answer
        differs from the last ``Fetched.version`` the resolver fetches again. Return
        ``None`` when it cannot tell (the resolver then keeps what it has).
        """
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, empty by design
        """Release clients or connections. Called when the resolver is discarded."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source.uri!r})"
