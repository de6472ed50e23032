"""Turning raw key/values from every source into validated per-service credentials.

This module knows Bandwidth and nothing about storage. Given what each source produced
(highest precedence first), it

1. maps raw keys to canonical fields, whatever their spelling (``accountId``,
   ``account_id``, ``BW_ACCOUNT_ID``, ``BANDWIDTH_ACCOUNT_ID``; case-insensitive),
   including per-service overrides (``BW_VOICE_USERNAME``, ``voice_username``, or a
   nested ``{"voice": {...}}`` object);
2. takes each credential group (username + password, api_token + api_secret,
   client_id + client_secret) whole from the highest-precedence source holding all of
   it, never mixing halves from two sources;
3. validates what it picked and records, for every field, which source and key supplied it.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

from ._errors import ConfigurationError, CredentialNotFoundError, InvalidCredentialsError
from ._provider import Fetched, Source
from ._secret import Secret
from ._services import (
    ACCESS_TOKEN,
    API_USER,
    MESSAGING_TOKEN,
    OAUTH,
    SERVICES,
    Service,
)

logger = logging.getLogger("bandwidth_credentials")

# Canonical field -> accepted spellings, compared after removing the prefix, case and
# every non-alphanumeric character (so camelCase, snake_case and kebab-case all match).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "account_id": ("accountid",),
    "username": ("username", "apiuser", "apiusername"),
    "password": ("password", "apipassword"),
    "api_token": ("apitoken",),
    "api_secret": ("apisecret",),
    "client_id": ("clientid",),
    "client_secret": ("clientsecret",),
    "access_token": ("accesstoken",),
    "token_url": ("tokenurl",),
    "environment": ("environment",),
    "base_url": ("baseurl",),
}
FIELDS: tuple[str, ...] = tuple(FIELD_ALIASES)

# Fields that are secrets: shown as masked in explain and held as SecretStr.
SECRET_FIELDS = frozenset({"password", "api_secret", "client_secret", "access_token"})

# Fields that only make sense for one service (a base URL differs per API).
SERVICE_ONLY_FIELDS = frozenset({"base_url"})

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    OAUTH: ("client_id", "client_secret"),
    ACCESS_TOKEN: ("access_token",),
    API_USER: ("username", "password"),
    MESSAGING_TOKEN: ("api_token", "api_secret"),
}
KIND_TITLES = {
    OAUTH: "OAuth client credentials",
    ACCESS_TOKEN: "a static access token",
    API_USER: "API user credentials",
    MESSAGING_TOKEN: "a messaging API token",
}
_BEARER_KINDS = frozenset({OAUTH, ACCESS_TOKEN})

_COMPACT_FIELDS: dict[str, str] = {
    alias: name for name, aliases in FIELD_ALIASES.items() for alias in aliases
}
# Service scope spellings, longest first so "accountmanagement" wins over "account".
_COMPACT_SCOPES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        (
            (re.sub(r"[^a-z0-9]", "", alias), service.name)
            for service in SERVICES.values()
            for alias in service.names
        ),
        key=lambda pair: -len(pair[0]),
    )
)
_SCOPE_NAMES = dict(_COMPACT_SCOPES)
_BUILTIN_PREFIXES = ("BANDWIDTH_", "BW_")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Scope = str | None  # None: shared by every service; else a canonical service name

_logged_notes: set[str] = set()


class Provenance(NamedTuple):
    """Where one field's value came from: the source URI, the raw key, the version read."""

    source: str
    key: str
    version: str | None = None


class _Entry(NamedTuple):
    value: str
    provenance: Provenance


class KeyReport(NamedTuple):
    """One raw key seen in one source, for ``bwcreds explain``. Never holds a value."""

    source: str
    key: str
    field: str | None
    scope: Scope
    status: str
    secret: bool


class _SourceFields:
    __slots__ = ("entries", "ignored", "source", "version")

    def __init__(self, source: str, version: str | None) -> None:
        self.source = source
        self.version = version
        self.entries: dict[tuple[Scope, str], _Entry] = {}
        self.ignored: list[tuple[str, str | None, Scope, str]] = []


def _compact(key: str, prefixes: Sequence[str]) -> str:
    """``key`` without its prefix (the longest that matches), lowercased, alphanumerics only.

    ``prefixes`` are a source's own (``MYAPP_BW_``, ``BW_PASSWORD_FILE:``); ``BW_`` and
    ``BANDWIDTH_`` are always tried too.
    """
    upper = key.upper()
    for prefix in sorted((*prefixes, *_BUILTIN_PREFIXES), key=len, reverse=True):
        if upper.startswith(prefix) and len(upper) > len(prefix):
            key = key[len(prefix) :]
            break
    return _NON_ALNUM.sub("", key.lower())


def classify_key(
    key: str, prefixes: Sequence[str] = (), within: Scope = None
) -> tuple[Scope, str | None]:
    """Map a raw key to ``(scope, field)``; ``field`` is ``None`` for an unknown key.

    ``within`` names the service whose nested object the key sits in, if any.

    >>> classify_key("BW_VOICE_USERNAME")
    ('voice', 'username')
    >>> classify_key("accountId")
    (None, 'account_id')
    """
    compact = _compact(key, prefixes)
    name = _COMPACT_FIELDS.get(compact)
    if name is not None:
        if name in SERVICE_ONLY_FIELDS:
            # Only inside a service's own object ({"voice": {"base_url": ...}}).
            return (within, name) if within is not None else (None, None)
        return None, name
    for scope_text, service in _COMPACT_SCOPES:
        if compact.startswith(scope_text):
            name = _COMPACT_FIELDS.get(compact[len(scope_text) :])
            if name is not None:
                return service, name
    return None, None


def _scope_of(key: str, prefixes: Sequence[str]) -> str | None:
    """The service a nested object's key names (``voice``, ``BW_MESSAGING``), if any."""
    return _SCOPE_NAMES.get(_compact(key, prefixes))


def _text(value: object, where: str, source: str, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidCredentialsError(
        f"{where}: key {key!r} holds a {type(value).__name__}, expected text",
        field=where,
        source=source,
        key=key,
    )


def _extract(source: str, fetched: Fetched) -> _SourceFields:
    out = _SourceFields(source=source, version=fetched.version)
    prefixes = fetched.key_prefixes

    def add(key: str, raw: object, scope: Scope, name: str) -> None:
        value = _text(raw, f"source {source}", source, key)
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
        out.entries[slot] = _Entry(value, Provenance(source, key, fetched.version))

    for key, raw in fetched.values.items():
        if isinstance(raw, Mapping):
            scope = _scope_of(key, prefixes)
            if scope is None:
                out.ignored.append((key, None, None, "unrecognized nested object"))
                continue
            for inner_key, inner_raw in raw.items():
                inner_scope, name = classify_key(str(inner_key), prefixes, within=scope)
                nested_key = f"{key}.{inner_key}"
                if name is None or inner_scope not in (None, scope):
                    out.ignored.append((nested_key, None, scope, "unrecognized"))
                    continue
                add(nested_key, inner_raw, scope, name)
            continue
        scope, name = classify_key(key, prefixes)
        if name is None:
            out.ignored.append((key, None, None, "unrecognized"))
            continue
        add(key, raw, scope, name)
    return out


def _label(scope: Scope, name: str) -> str:
    return name if scope is None else f"{scope} {name}"


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return "is not an absolute URL"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http":
        host = parts.hostname
        if host == "localhost":
            return None
        try:
            if ipaddress.ip_address(host).is_loopback:
                return None
        except ValueError:
            pass
    return "must use https (plain http is allowed for loopback addresses only)"


def _account_problem(value: str) -> str | None:
    if value.isascii() and value.isdigit():
        return None
    if value.lower().startswith("u-"):
        return (
            "looks like a user id (u-...), not an account id; the account id is the "
            "number shown in the Bandwidth Dashboard, such as 920012"
        )
    return "must be the numeric Bandwidth account id (digits only, such as 920012)"


def _colon_problem(value: str) -> str | None:
    if ":" in value:
        return "must not contain ':' (HTTP Basic separates user and password by it)"
    return None


def _environment_problem(value: str) -> str | None:
    if value.lower() not in ("production", "prod", "test"):
        return "must be 'production' or 'test'"
    return None


# Field -> check returning what is wrong (never quoting the value), or None.
_CHECKS = {
    "account_id": _account_problem,
    "username": _colon_problem,
    "client_id": _colon_problem,
    "base_url": _url_problem,
    "token_url": _url_problem,
    "environment": _environment_problem,
}


class ServiceCredentials(NamedTuple):
    """The validated credentials of one service, as the normalizer chose them.

    Secrets are held in :class:`Secret` so they never print. (The checks are Bandwidth's
    own rules, written out in :func:`_validated`; a pydantic model would add tens of
    milliseconds to every cold start for no extra safety.)
    """

    service: str
    kind: str
    account_id: str
    base_url: str
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    access_token: Secret | None = None
    token_url: str | None = None
    environment: str | None = None


def _validated(
    service: str, kind: str, data: Mapping[str, str], provenance: Mapping[str, Provenance]
) -> ServiceCredentials | InvalidCredentialsError:
    for name, value in data.items():
        check = _CHECKS.get(name)
        reason = check(value) if check is not None else None
        if reason is not None:
            prov = provenance.get(name)
            where = f"{prov.source} ({prov.key})" if prov else "the configuration"
            return InvalidCredentialsError(
                f"{name} from {where} for the {service} API {reason}",
                field=name,
                source=prov.source if prov else None,
                key=prov.key if prov else None,
                service=service,
            )

    def secret(name: str) -> Secret | None:
        value = data.get(name)
        return None if value is None else Secret(value)

    environment = data.get("environment")
    return ServiceCredentials(
        service=service,
        kind=kind,
        account_id=data["account_id"],
        base_url=data["base_url"].rstrip("/"),
        username=data.get("username"),
        password=secret("password"),
        client_id=data.get("client_id"),
        client_secret=secret("client_secret"),
        access_token=secret("access_token"),
        token_url=data["token_url"].rstrip("/") if "token_url" in data else None,
        environment=environment.lower() if environment is not None else None,
    )


class Resolution(NamedTuple):
    """Everything one resolution produced.

    ``services`` holds, per canonical service name, either its validated credentials
    with the provenance of each field, or the error that ``get_auth()`` raises for it.
    """

    sources: tuple[str, ...]
    services: Mapping[str, tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception]
    notes: tuple[str, ...]
    keys: tuple[KeyReport, ...]


def _chosen_group(
    service: Service, kind: str, per_source: Sequence[_SourceFields]
) -> dict[str, _Entry] | None:
    names = KIND_FIELDS[kind]
    for src in per_source:
        for scope in (service.name, None):
            entries = [src.entries.get((scope, name)) for name in names]
            if all(entry is not None for entry in entries):
                return {name: e for name, e in zip(names, entries, strict=True) if e is not None}
    return None


def _single(
    service: Service, name: str, per_source: Sequence[_SourceFields], scoped_only: bool = False
) -> _Entry | None:
    for src in per_source:
        scopes: tuple[Scope, ...] = (service.name,) if scoped_only else (service.name, None)
        for scope in scopes:
            entry = src.entries.get((scope, name))
            if entry is not None:
                return entry
    return None


def _half_pairs(per_source: Sequence[_SourceFields]) -> list[tuple[Scope, str, str]]:
    """(scope, kind, note) for each group a source holds only part of."""
    found = []
    for src in per_source:
        for kind, names in KIND_FIELDS.items():
            if len(names) < 2:
                continue
            for scope in {scope for scope, _ in src.entries}:
                present = [n for n in names if (scope, n) in src.entries]
                if present and len(present) < len(names):
                    absent = [n for n in names if n not in present]
                    keys = ", ".join(src.entries[(scope, n)].provenance.key for n in present)
                    where = "" if scope is None else f" for {scope}"
                    note = (
                        f"{src.source} has {' and '.join(present)}{where} ({keys}) without "
                        f"{' and '.join(absent)}; a half pair is never combined with another "
                        "source, so it was ignored"
                    )
                    found.append((scope, kind, note))
    return found


def _check_control(entries: Iterable[tuple[str, _Entry]], service: str) -> None:
    for name, entry in entries:
        if _CONTROL.search(entry.value):
            prov = entry.provenance
            raise InvalidCredentialsError(
                f"{name} from {prov.source} ({prov.key}) for the {service} API contains a "
                "control character (a newline inside the value?)",
                field=name,
                source=prov.source,
                key=prov.key,
                service=service,
            )


def _resolve_service(
    service: Service,
    per_source: Sequence[_SourceFields],
    sources: tuple[str, ...],
    half: Sequence[tuple[Scope, str, str]],
    used: set[int],
    notes: list[str],
) -> tuple[ServiceCredentials, Mapping[str, Provenance]] | Exception:
    available = {kind: _chosen_group(service, kind, per_source) for kind in service.kinds}
    present = [kind for kind, group in available.items() if group is not None]
    relevant_half = [note for scope, kind, note in half if scope in (None, service.name)]
    account = _single(service, "account_id", per_source)
    if not present or account is None:
        missing: list[str] = []
        if account is None:
            missing.append("account_id")
        if not present:
            missing.append(
                "credentials (one of "
                + ", ".join("+".join(KIND_FIELDS[k]) for k in service.kinds)
                + ")"
            )
        return CredentialNotFoundError(service.name, missing, sources, relevant_half)
    kind = present[0]
    group = available[kind]
    assert group is not None
    shadowed = [k for k in present[1:] if k in _BEARER_KINDS or kind in _BEARER_KINDS]
    if shadowed:
        notes.append(
            f"{service.name}: using {KIND_TITLES[kind]}; also found "
            f"{', '.join(KIND_TITLES[k] for k in shadowed)}, which were ignored"
        )
    chosen: dict[str, _Entry] = {"account_id": account, **group}
    token_url = _single(service, "token_url", per_source) if kind == OAUTH else None
    environment = _single(service, "environment", per_source) if kind == OAUTH else None
    base_url = _single(service, "base_url", per_source, scoped_only=True)
    for name, entry in (("token_url", token_url), ("environment", environment)):
        if entry is not None:
            chosen[name] = entry
    if base_url is not None:
        chosen["base_url"] = base_url
    try:
        _check_control(chosen.items(), service.name)
    except InvalidCredentialsError as exc:
        return exc
    provenance = {name: entry.provenance for name, entry in chosen.items()}
    data = {name: entry.value for name, entry in chosen.items()}
    if kind == MESSAGING_TOKEN:
        # Messaging's token pair is sent as the Basic user name and password.
        data["username"] = data.pop("api_token")
        data["password"] = data.pop("api_secret")
    data.setdefault("base_url", service.base_url.format(account_id=account.value))
    creds = _validated(service.name, kind, data, provenance)
    if isinstance(creds, InvalidCredentialsError):
        return creds
    used.update(id(entry) for entry in chosen.values())
    return creds, provenance


def normalize(fetched: Sequence[tuple[Source, Fetched]]) -> Resolution:
    """Normalize what the sources produced (highest precedence first) into a Resolution.

    Raises :class:`ConfigurationError` when one source gives two different values for
    the same field, and :class:`InvalidCredentialsError` for a value of the wrong type.
    Per-service problems (missing or invalid credentials) are returned in
    ``Resolution.services`` so the other services still resolve.
    """
    sources = tuple(source.uri for source, _ in fetched)
    per_source = [_extract(source.uri, result) for source, result in fetched]
    half = _half_pairs(per_source)
    used: set[int] = set()
    notes: list[str] = []
    services = {
        name: _resolve_service(service, per_source, sources, half, used, notes)
        for name, service in SERVICES.items()
    }
    for _, _, note in half:
        if note not in notes:
            notes.append(note)
    for note in notes:
        # Once per process per note: a source refreshed every few minutes should not
        # repeat the same warning forever.
        if note not in _logged_notes:
            _logged_notes.add(note)
            logger.warning("%s", note)
    reports: list[KeyReport] = []
    for src in per_source:
        for (scope, name), entry in src.entries.items():
            status = "used" if id(entry) in used else "not used"
            reports.append(
                KeyReport(
                    src.source, entry.provenance.key, name, scope, status, name in SECRET_FIELDS
                )
            )
        for key, maybe_name, scope, reason in src.ignored:
            secret = maybe_name in SECRET_FIELDS if maybe_name else False
            reports.append(KeyReport(src.source, key, maybe_name, scope, reason, secret))
    for source, result in fetched:
        reports.extend(
            KeyReport(source.uri, key, None, None, why, False)
            for key, why in result.skipped.items()
        )
    return Resolution(sources, services, tuple(notes), tuple(reports))


class _ClassifyingSchema:
    """The :class:`~._provider.KeySchema` handed to providers: :func:`classify_key`'s view."""

    def recognizes(self, key: str) -> bool:
        return classify_key(key)[1] is not None


KEY_SCHEMA = _ClassifyingSchema()
