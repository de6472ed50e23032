"""Source URIs: ``SCHEME[:TARGET][?OPTION=VALUE&...]``, parsed once and shown safely.

A URI is shown (in messages, provenance, ``bwcreds`` output) without its option values:
an option may hold a token. Only the library's own flags and short numbers, which cannot
hold a secret, keep their values (``dotenv:.env?optional=true``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence  # the public API's annotations
from types import MappingProxyType

from ._errors import ConfigurationError
from ._typing import NamedTuple

__all__ = ["COMMON_OPTIONS", "Source", "parse_source", "parse_sources"]

# Options every source accepts; the resolver acts on them, not the provider.
COMMON_OPTIONS = frozenset({"optional", "ttl", "max_stale"})

# RFC 3986 scheme characters, lowered: a letter, then letters, digits, "+", "-", ".".
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_SCHEME_CHARS = _LETTERS | frozenset("0123456789+-.")
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
        return _short_number(value.strip())
    return False


def _digits(text: str, most: int) -> bool:
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


def _short_number(text: str) -> bool:
    """Up to 9 digits, optionally a point and up to 3 more (``60``, ``2.5``)."""
    whole, point, fraction = text.partition(".")
    return _digits(whole, 9) and (not point or _digits(fraction, 3))


def _valid_scheme(scheme: str) -> bool:
    return scheme[:1] in _LETTERS and all(char in _SCHEME_CHARS for char in scheme)


def _shown(
    scheme: str, target: str, options: Sequence[tuple[str, str]], colon: bool = False
) -> str:
    """The URI as shown: user info and query of a URL target dropped, option values hidden
    (except the library's own flags and numbers, which cannot hold a secret)."""
    if "://" in target:
        from urllib.parse import urlsplit  # only for a URL target

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


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """``NAME=VALUE&...`` as pairs; ``[("", "")]`` when a part is not ``NAME=VALUE``.

    Plain text is split here (what ``parse_qsl`` would return, without importing
    ``urllib.parse`` at every start-up); percent-encoded or ``+`` text goes to
    ``parse_qsl`` (strict, blank values kept)."""
    if "%" in query or "+" in query:
        from urllib.parse import parse_qsl

        try:
            return parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            return [("", "")]
    pairs = []
    for part in query.split("&") if query else ():
        name, equals, value = part.partition("=")
        if not equals:
            return [("", "")]
        pairs.append((name, value))
    return pairs


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
    if not _valid_scheme(scheme):
        raise ConfigurationError(
            f"source {_shown(scheme, '', ())!r} is not a source URI: expected "
            "SCHEME[:TARGET][?OPTIONS], for example env, dotenv:.env or "
            f"vault:secret/bandwidth/prod (a comma separates sources; {_LIST_HINT})",
            source=None,
        )
    pairs: list[tuple[str, str]] = []
    if sep:
        pairs = _query_pairs(query)
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
