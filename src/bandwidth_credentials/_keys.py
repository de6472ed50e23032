"""How raw keys name Bandwidth fields: loose spellings in stores, exact names in the environment.

Two rules, both from the schema:

- **Inside a secret store** (Vault, Secrets Manager, a secret directory, JSON) a key names a
  field in any spelling: ``accountId``, ``account_id``, ``BW_ACCOUNT_ID`` and
  ``BANDWIDTH_ACCOUNT_ID`` are one field (case, ``_``/``-``/camelCase and the prefix are
  ignored). A service scope may lead: ``voice_password``, ``BW_VOICE_PASSWORD``.
- **In the process environment and ``.env``** only the documented names count
  (case-insensitive): ``BW_PASSWORD``, ``BW_VOICE_PASSWORD``, ``BW_VOICE_BASE_URL``,
  ``BW_API_URL``. Other tools own look-alikes there (Bitwarden's CLI exports
  ``BW_CLIENTID``, ``BW_CLIENTSECRET``, ``BW_PASSWORD``, ``BW_SESSION``), so
  ``BW_CLIENTID`` is *not* ``client_id``.

:data:`SCHEMA` is the object handed to providers that must recognise names (the env
provider's ``*_FILE``, a secret directory's entries); providers never import this module.
"""

from __future__ import annotations

from ._schema import (
    APP_FIELDS,
    FIELD_ALIASES,
    FIELDS,
    HOST_FIELDS,
    PREFIXES,
    SERVICE_ONLY_FIELDS,
    SERVICES,
    compact,
    env_scope,
    scope_spellings,
)
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "BITWARDEN_NAMES",
    "FOREIGN_NAMES",
    "SCHEMA",
    "Scope",
    "bitwarden_present",
    "bitwarden_reason",
    "classify_key",
    "env_field",
    "scope_of",
    "suggest",
]

Scope = str | None  # None: shared by every service; else a canonical service name

_COMPACT_FIELDS = {alias: name for name, aliases in FIELD_ALIASES.items() for alias in aliases}
# Longest first, so "accountmanagement" wins over "account".
_COMPACT_SCOPES = sorted(scope_spellings().items(), key=lambda pair: -len(pair[0]))
_SCOPE_NAMES = dict(_COMPACT_SCOPES)

# Documented variable names without the prefix -> (scope, field).
_ENV_NAMES: dict[str, tuple[Scope, str]] = {
    **{name.upper(): (None, name) for name in FIELDS if name not in SERVICE_ONLY_FIELDS},
    **{
        f"{env_scope(service)}_{name.upper()}": (service, name)
        for service in SERVICES
        for name in FIELDS
        if name not in HOST_FIELDS and name not in APP_FIELDS
    },
}
# Callback fields under an application's name (BW_<APP>_CALLBACK_USERNAME): the variable's
# tail, longest first so TFV_WEBHOOK_SECRET wins over WEBHOOK_SECRET.
_APP_ENV_SUFFIXES = sorted(
    ((f"_{name.upper()}", name) for name in APP_FIELDS), key=lambda pair: -len(pair[0])
)
_APP_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# The same in stores (salesCallbackUsername, sales_webhook_secret), compact spellings.
_APP_KEY_SUFFIXES = sorted(
    ((alias, name) for name in APP_FIELDS for alias in FIELD_ALIASES[name]),
    key=lambda pair: -len(pair[0]),
)

#: Names other tools export under ``BW_``; seen in the environment, they are noted, not read.
FOREIGN_NAMES: dict[str, str] = {
    "BW_CLIENTID": "Bitwarden's CLI",
    "BW_CLIENTSECRET": "Bitwarden's CLI",
    "BW_SESSION": "Bitwarden's CLI",
}

#: Bitwarden's CLI reads its master password from ``BW_PASSWORD`` (``bw unlock
#: --passwordenv``, ``bw login --passwordenv``), next to these variables of its own.
BITWARDEN_NAMES = frozenset(FOREIGN_NAMES)
SHARED_WITH_BITWARDEN = "BW_PASSWORD"


def bitwarden_present(environ: Mapping[str, str]) -> str | None:
    """The first of Bitwarden's own variables set in ``environ`` (``BW_SESSION``, ...),
    or ``None``. When one is, ``BW_PASSWORD`` is Bitwarden's master password, not a
    Bandwidth API user's: the library does not read it."""
    for name in environ:
        if name.isascii() and name.upper() in BITWARDEN_NAMES:
            return name.upper()
    return None


def bitwarden_reason(owner: str) -> str:
    """Why ``BW_PASSWORD`` was not read while ``owner`` (a Bitwarden variable) is set."""
    return (
        f"not read: {owner} is set, so BW_PASSWORD is Bitwarden's master password, not "
        "Bandwidth's; give Bandwidth's password as BANDWIDTH_PASSWORD, or read a prefix of "
        "your own (env?prefix=MYAPP_BW_)"
    )


def _strip_prefix(key: str, prefixes: Sequence[str]) -> str:
    upper = key.upper()
    for prefix in sorted((*prefixes, *PREFIXES), key=len, reverse=True):
        if upper.startswith(prefix.upper()) and len(upper) > len(prefix):
            return key[len(prefix) :]
    return key


# The prefixes as a compact key starts with them (bandwidthAccountId, bwCallbackUsername):
# camelCase is one spelling of BANDWIDTH_ACCOUNT_ID, so the prefix goes there too.
_COMPACT_PREFIXES = sorted((compact(prefix) for prefix in PREFIXES), key=len, reverse=True)


def _compact(key: str, prefixes: Sequence[str] = ()) -> str:
    text = compact(_strip_prefix(key, prefixes))
    if text == compact(key):  # no prefix stripped: it may be written without "_"
        for prefix in _COMPACT_PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                return text[len(prefix) :]
    return text


def classify_key(
    key: str, prefixes: Sequence[str] = (), within: Scope = None
) -> tuple[Scope, str | None]:
    """Map a store key to ``(scope, field)``; ``field`` is ``None`` for an unknown key.

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
    for alias, name in _APP_KEY_SUFFIXES:
        if compact.endswith(alias) and len(compact) > len(alias):
            # A callback field under an application's name: salesCallbackUsername.
            return compact[: -len(alias)], name
    for scope_text, service in _COMPACT_SCOPES:
        if compact.startswith(scope_text):
            name = _COMPACT_FIELDS.get(compact[len(scope_text) :])
            if name is not None and name not in HOST_FIELDS:
                return service, name
    return None, None


def scope_of(key: str) -> str | None:
    """The service a nested object's key names (``voice``, ``BW_MESSAGING``), if any."""
    return _SCOPE_NAMES.get(_compact(key))


def env_field(name: str, prefixes: Sequence[str] = PREFIXES) -> tuple[Scope, str] | None:
    """``(scope, field)`` for a documented variable name under one of ``prefixes``, else None.

    >>> env_field("BW_VOICE_PASSWORD")
    ('voice', 'password')
    >>> env_field("BW_CLIENTID") is None
    True
    >>> env_field("BW_SALES_CALLBACK_PASSWORD")
    ('sales', 'callback_password')
    >>> env_field("BW_VOICE_URL", ("BW_VOICE_", "BW_"))
    (None, 'voice_url')

    Case-insensitive in ASCII only: a name with any other character (``BW_PA\u017f\u017fWORD``,
    whose long s upper-cases to ``S``) names nothing.
    """
    if not name.isascii():
        # Case-insensitive in ASCII only: Unicode case mapping would read a name with a
        # long s (U+017F) or a dotless i (U+0131) as a documented name.
        return None
    upper = name.upper()
    # Every prefix the name starts with, longest first: under BW_VOICE_ and BW_,
    # BW_VOICE_URL is no field of the first but the second's voice host override.
    for prefix in sorted(prefixes, key=len, reverse=True):
        prefix = prefix.upper()
        if upper.startswith(prefix) and len(upper) > len(prefix):
            rest = upper[len(prefix) :]
            found = _ENV_NAMES.get(rest) or _app_env_field(rest)
            if found is not None:
                return found
    return None


def _app_env_field(rest: str) -> tuple[Scope, str] | None:
    """``("sales", "callback_username")`` for ``SALES_CALLBACK_USERNAME``: a callback
    field under an application's name (ASCII letters, digits and ``_``)."""
    for suffix, field in _APP_ENV_SUFFIXES:
        if rest.endswith(suffix) and len(rest) > len(suffix):
            app = rest[: -len(suffix)]
            if app.isascii() and set(app) <= _APP_NAME_CHARS and compact(app):
                return compact(app), field
            return None
    return None


def suggest(key: str) -> str | None:
    """The documented name a mistyped key most likely meant (``BW_USRNAME`` ->
    ``BW_USERNAME``, ``pasword`` -> ``password``), or None. Names other tools own
    (:data:`FOREIGN_NAMES`) get no suggestion: they are not typos."""
    if key.upper() in FOREIGN_NAMES:
        return None
    import difflib  # only when a key was not recognized

    upper = key.upper()
    for prefix in sorted(PREFIXES, key=len, reverse=True):
        if upper.startswith(prefix):
            names = [prefix + rest for rest in _ENV_NAMES]
            found = difflib.get_close_matches(upper, names, n=1, cutoff=0.85)
            return found[0] if found else None
    compact = _compact(key)
    if not compact:
        return None
    found = difflib.get_close_matches(compact, list(_COMPACT_FIELDS), n=1, cutoff=0.8)
    return _COMPACT_FIELDS[found[0]] if found else None


class KeyNames:
    """The schema as providers see it (see ``Provider.schema``)."""

    prefixes: tuple[str, ...] = PREFIXES

    def recognizes(self, key: str) -> bool:
        """Whether a store key names a Bandwidth field (any accepted spelling)."""
        return classify_key(key)[1] is not None

    def env_name(self, name: str, prefixes: Sequence[str] = PREFIXES) -> str | None:
        """The documented name (``BW_PASSWORD``) a variable stands for, or None."""
        found = env_field(name, prefixes)
        if found is None:
            return None
        scope, field = found
        return "BW_" + (f"{env_scope(scope)}_" if scope else "") + field.upper()

    def foreign(self, name: str) -> str | None:
        """The tool that owns a look-alike variable name (``BW_CLIENTID``), if known."""
        return FOREIGN_NAMES.get(name.upper()) if name.isascii() else None

    def bitwarden_present(self, environ: Mapping[str, str]) -> str | None:
        """See :func:`bitwarden_present`."""
        return bitwarden_present(environ)

    def bitwarden_reason(self, owner: str) -> str:
        """See :func:`bitwarden_reason`."""
        return bitwarden_reason(owner)


SCHEMA = KeyNames()
