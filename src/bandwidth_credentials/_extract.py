"""One source's raw keys as Bandwidth fields, and what they say about themselves.

The first step of normalizing (:mod:`._normalizer`): each source's raw keys are mapped to
``(scope, field)`` slots by the schema's key rules, values checked for type, duplicates
within the source detected; what is left over (unrecognized keys, half pairs, names
other tools own, likely typos) becomes notes. Nothing here looks across sources.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._checks import Provenance, value_text
from ._errors import ConfigurationError, InvalidCredentialsError
from ._keys import FOREIGN_NAMES, Scope, classify_key, env_field, scope_of, suggest
from ._provider import Fetched
from ._schema import APP_FIELDS, CALLBACK_GROUPS, HOST_FIELDS, KINDS, reserved_app
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence


class Entry(NamedTuple):
    value: str
    provenance: Provenance


class SourceFields:
    __slots__ = ("entries", "ignored", "index", "source", "version")

    def __init__(self, index: int, source: str, version: str | None) -> None:
        self.index = index
        self.source = source
        self.version = version
        self.entries: dict[tuple[Scope, str], Entry] = {}
        self.ignored: list[tuple[str, str | None, Scope, str]] = []


def _text(value: object, source: str, key: str) -> str | None:
    if value is None:
        return None
    text = value_text(value)
    if text is not None:
        return text
    raise InvalidCredentialsError(
        f"source {source}: key {key!r} holds a {type(value).__name__}, expected text",
        field="(unknown)",
        source=source,
        key=key,
    )


def extract(index: int, source: str, fetched: Fetched) -> SourceFields:
    out = SourceFields(index, source, fetched.version)
    names = fetched.key_names

    def add(key: str, raw: object, scope: Scope, name: str) -> None:
        value = _text(raw, source, key)
        if value is None:
            return
        if not value:
            out.ignored.append((key, name, scope, "ignored: empty value"))
            return
        slot = (scope, name)
        previous = out.entries.get(slot)
        if previous is not None:
            if previous.value != value:
                raise ConfigurationError(
                    f"source {source}: keys {previous.provenance.key!r} and {key!r} both set "
                    f"{_label(scope, name)} but to different values; remove one",
                    source=source,
                )
            out.ignored.append((key, name, scope, f"duplicate of {previous.provenance.key}"))
            return
        out.entries[slot] = Entry(value, Provenance(source, key, fetched.version))

    for key, raw in fetched.values.items():
        if isinstance(raw, Mapping):
            scope = scope_of(key)
            if scope is None:
                out.ignored.append((key, None, None, "unrecognized nested object"))
                continue
            for inner_key, inner_raw in raw.items():
                inner_scope, name = classify_key(str(inner_key), within=scope)
                nested_key = f"{key}.{inner_key}"
                if name is None or inner_scope not in (None, scope) or name in HOST_FIELDS:
                    out.ignored.append((nested_key, None, scope, "unrecognized"))
                    continue
                add(nested_key, inner_raw, scope, name)
            continue
        documented = names.get(key)
        # A variable by the environment's exact names, a store key by the loose ones.
        scope, name = (
            env_field(documented) or classify_key(documented)
            if documented is not None
            else classify_key(key)
        )
        if name is None:
            out.ignored.append((key, None, None, "unrecognized"))
            continue
        if scope is not None and name in APP_FIELDS:
            reason = reserved_app(scope)
            if reason is not None:
                raise ConfigurationError(
                    f"source {source}: key {key!r} names application {scope!r}, but {reason}",
                    source=source,
                )
        add(key, raw, scope, name)
    for key, reason in fetched.skipped.items():
        out.ignored.append((key, None, None, reason))
    return out


def _label(scope: Scope, name: str) -> str:
    return name if scope is None else f"{scope} {name}"


def half_pairs(per_source: Sequence[SourceFields]) -> list[tuple[Scope, str]]:
    """(scope, note) for each group a source holds only part of."""
    found = []
    groups = [kind.fields for kind in KINDS.values()] + list(CALLBACK_GROUPS)
    for src in per_source:
        for fields in groups:
            if len(fields) < 2:
                continue
            for scope in {scope for scope, _ in src.entries}:
                present = [n for n in fields if (scope, n) in src.entries]
                if present and len(present) < len(fields):
                    absent = [n for n in fields if n not in present]
                    keys = ", ".join(src.entries[(scope, n)].provenance.key for n in present)
                    where = "" if scope is None else f" for {scope}"
                    found.append(
                        (
                            # Callback notes go with the callbacks, not with any API.
                            "callbacks" if fields in CALLBACK_GROUPS else scope,
                            f"{src.source} has {' and '.join(present)}{where} ({keys}) without "
                            f"{' and '.join(absent)}; a half pair is never combined with "
                            "another source, so it was ignored",
                        )
                    )
    return found


def key_notes(per_source: Sequence[SourceFields]) -> list[tuple[str, str]]:
    """Notes about keys that were not read: names other tools own, and likely typos."""
    notes: list[tuple[str, str]] = []
    for src in per_source:
        for index, (key, name, scope, reason) in enumerate(src.ignored):
            if name is not None:
                continue
            owner = FOREIGN_NAMES.get(key.upper()) if key.isascii() else None
            if reason.startswith("not read: ") and " is set, so " in reason:
                # A name the source itself declined here (BW_PASSWORD next to BW_SESSION).
                notes.append(("", f"{src.source} has {key}; {reason}"))
                continue
            if owner is not None:
                text = f"{src.source} has {key}, which belongs to {owner}, not Bandwidth"
                notes.append(("", text + "; it was not read"))
                continue
            if reason == "unrecognized" or reason.startswith("not read: not a documented"):
                meant = suggest(key)
                if meant is not None:
                    text = f"{src.source} has {key}, which is not a Bandwidth name"
                    notes.append(("", f"{text}; did you mean {meant}?"))
                    src.ignored[index] = (key, name, scope, f"{reason} (did you mean {meant}?)")
    return notes
