"""The single-file shapes the ``file:`` provider reads: JSON, dotenv lines, Vault Agent output.

Pure functions over text already read (and BOM-stripped) by :mod:`.._files`. Errors
are built by the caller's ``error`` factory so they carry the source URI; none quotes
the text.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Mapping

from .._errors import SourceError, SourceFormatError

FORMATS = ("json", "dotenv", "vault-agent")

ErrorFactory = Callable[[type[SourceError], str], SourceError]

_DOTENV_LINE = re.compile(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.\-]*\s*=")
_VAULT_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\-]*):(?:[ \t]+(.*?))?[ \t]*$")
# Vault Agent renders a KV v2 secret without a template as Go's map syntax, which is
# ambiguous as soon as a value holds a space; it is recognized only to say so.
_GO_MAP = re.compile(r"^(?:data|metadata):\s*map\[")


def parse(text: str, path: str, fmt: str | None, error: ErrorFactory) -> dict[str, object]:
    """The keys of one file in format ``fmt`` (detected from the text when ``None``)."""
    fmt = fmt or _detect(text, path, error)
    if fmt == "json":
        return _parse_json(text, path, error)
    if fmt == "dotenv":
        return _parse_dotenv(text)
    return _parse_vault_agent(text, path, error)


def detect_format(text: str, path: str, error: ErrorFactory) -> str:
    """``json``, ``dotenv`` or ``vault-agent``, from the text of one file (see :func:`parse`)."""
    return _detect(text, path, error)


def _detect(text: str, path: str, error: ErrorFactory) -> str:
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
        raise error(
            SourceFormatError,
            f"cannot tell the format of {path} (not a JSON object, KEY=VALUE lines "
            "or key: value lines); set ?format=json, dotenv or vault-agent",
        )
    return "dotenv"  # blank or comments only: no keys either way, reported by the caller


class _Repeated(Exception):
    """A JSON object names one key twice with different values (the key is not secret)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # JSON lets the last of two equal keys win silently; for credentials that would hide
    # a half-edited file, as two spellings of one field with different values would.
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found and found[key] != value:
            raise _Repeated(key)
        found[key] = value
    return found


def _parse_json(text: str, path: str, error: ErrorFactory) -> dict[str, object]:
    position: tuple[int, int] | None = None
    repeated: str | None = None
    try:
        data = json.loads(text, object_pairs_hook=_unique)
    except json.JSONDecodeError as exc:
        # Position only, raised below: the exception's .doc holds the whole document.
        position = (exc.lineno, exc.colno)
    except _Repeated as exc:
        repeated = exc.key
    if position is not None:
        raise error(
            SourceFormatError,
            f"{path} is not valid JSON (line {position[0]}, column {position[1]})",
        )
    if repeated is not None:
        raise error(
            SourceFormatError,
            f"{path} gives the key {repeated!r} twice with different values; remove one",
        )
    if not isinstance(data, Mapping):
        raise error(
            SourceFormatError,
            f"{path} holds a JSON {type(data).__name__}, expected an object of keys",
        )
    return {str(key): value for key, value in data.items()}


def _parse_dotenv(text: str) -> dict[str, object]:
    # Imported here so `import bandwidth_credentials` stays cheap.
    from dotenv import dotenv_values

    raw = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value for key, value in raw.items() if value is not None}


def _parse_vault_agent(text: str, path: str, error: ErrorFactory) -> dict[str, object]:
    values: dict[str, object] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if _GO_MAP.match(line):
            raise error(
                SourceFormatError,
                f"{path} line {number} is Vault Agent's default rendering of a KV v2 "
                "secret (data: map[...]), which cannot be split into keys reliably; add "
                "an agent-inject-template that renders 'key: value' lines or JSON",
            )
        match = _VAULT_LINE.match(line)
        if match is None:
            raise error(SourceFormatError, f"{path} line {number} is not a 'key: value' line")
        key, value = match.group(1), match.group(2) or ""
        if key in values:
            raise error(SourceFormatError, f"{path} line {number} repeats the key {key!r}")
        values[key] = value
    return values
