"""What Bandwidth is, in one place: fields, aliases, credential kinds, environments, services.

Everything else reads this module: the normalizer applies it to raw key/values, the env
provider is handed it to recognise variable names (providers never import it), the auth
factory asks it whether a kind is Basic or bearer, the CLI and ``bwcreds exec`` take names
and titles from it.

Sources of the facts:

- Credential kinds and the OAuth token endpoint: Bandwidth's credentials guide and its
  developer docs ("Authentication", OAuth 2.0 client credentials,
  ``POST https://api.bandwidth.com/api/v1/oauth2/token``); API users (HTTP Basic) are
  decommissioned on 2026-12-02.
- Hosts per environment: the official CLI (Bandwidth/cli, ``cmdutil`` host helpers):
  ``test`` and ``uat`` map to ``https://test.api.bandwidth.com`` and
  ``https://test.voice.bandwidth.com``; Messaging has no test host; ``BW_API_URL``,
  ``BW_VOICE_URL`` and ``BW_MESSAGING_URL`` override the hosts. Bandwidth's Numbers
  documentation gives ``https://test.dashboard.bandwidth.com/api`` for the test
  ("interop") Dashboard API. Bandwidth documents no test host for MFA: production.
- Base URL paths: each API's reference (Voice v2, Messaging v2, Dashboard, MFA v1,
  Phone Number Lookup v2, Toll-Free Verification, Bandwidth RTC endpoints).
"""

from __future__ import annotations

from ._errors import ConfigurationError, UnknownServiceError
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import TypeVar

    _Documented = TypeVar("_Documented")

#: Variable-name prefixes in the environment and ``.env`` files (also stripped in stores).
PREFIXES: tuple[str, ...] = ("BW_", "BANDWIDTH_")

# Canonical field -> accepted spellings inside secret stores, compared after removing the
# prefix, case and every non-alphanumeric character (camelCase, snake_case, kebab-case).
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
    "api_url": ("apiurl",),
    "voice_url": ("voiceurl",),
    "messaging_url": ("messagingurl",),
    # Callback credentials: what Bandwidth presents to you (see CALLBACK_KINDS).
    "callback_username": ("callbackusername", "callbackuser", "callbackuserid"),
    "callback_password": ("callbackpassword",),
    "callback_previous_username": ("callbackprevioususername", "previouscallbackusername"),
    "callback_previous_password": ("callbackpreviouspassword", "previouscallbackpassword"),
    "webhook_secret": ("webhooksecret",),
    "webhook_previous_secret": ("webhookprevioussecret", "previouswebhooksecret"),
    "tfv_webhook_secret": ("tfvwebhooksecret",),
    "tfv_webhook_previous_secret": ("tfvwebhookprevioussecret", "previoustfvwebhooksecret"),
    # Rotation (bwcreds rotate): when the client secret expires, and a new secret that
    # was created and stored but not yet promoted (with its expiry).
    "client_secret_expires_at": ("clientsecretexpiresat",),
    "client_secret_pending": ("clientsecretpending",),
    "client_secret_pending_expires_at": ("clientsecretpendingexpiresat",),
}
FIELDS: tuple[str, ...] = tuple(FIELD_ALIASES)

#: Fields whose values are secrets: masked in ``explain``, held in ``Secret``.
SECRET_FIELDS = frozenset(
    {
        "password",
        "api_secret",
        "client_secret",
        "access_token",
        "client_secret_pending",
        "callback_password",
        "callback_previous_password",
        "webhook_secret",
        "webhook_previous_secret",
        "tfv_webhook_secret",
        "tfv_webhook_previous_secret",
    }
)
#: When the client secret expires (ISO 8601 UTC, ``2027-03-06T00:00:00Z``): taken with the
#: client credentials from their own source; ``bwcreds check`` warns before it and
#: ``get_auth()`` logs once (Bandwidth's Credential Management guide: a client secret
#: has an optional expiration date, set when it is created).
EXPIRY_FIELD = "client_secret_expires_at"
#: What ``bwcreds rotate`` keeps between storing a new secret and promoting it.
PENDING_FIELDS = ("client_secret_pending", "client_secret_pending_expires_at")
#: Fields checked as ISO 8601 UTC instants.
INSTANT_FIELDS = frozenset({EXPIRY_FIELD, "client_secret_pending_expires_at"})
#: Fields that only make sense inside one service's scope (a base URL differs per API).
SERVICE_ONLY_FIELDS = frozenset({"base_url"})
#: Host overrides (the CLI's ``BW_API_URL``, ...): scheme and host, path added here.
HOST_FIELDS: dict[str, str] = {"api_url": "api", "voice_url": "voice", "messaging_url": "messaging"}
#: Fields that steer where credentials are sent: taken only from the credentials' source.
ENDPOINT_FIELDS = frozenset({"base_url", "token_url", "environment", *HOST_FIELDS})
#: Fields checked as URLs (https, or http for loopback only; no user info).
URL_FIELDS = frozenset({"base_url", "token_url", *HOST_FIELDS})


class Kind(NamedTuple):
    """A credential kind: a group of fields taken whole from one source.

    ``scheme`` is ``"basic"`` or ``"bearer"``; ``env`` maps each field to its variable
    name without the prefix (what ``bwcreds exec`` exports).
    """

    name: str
    fields: tuple[str, ...]
    scheme: str
    title: str
    env: tuple[tuple[str, str], ...]


OAUTH = "oauth"
ACCESS_TOKEN = "access_token"
API_USER = "api_user"
MESSAGING_TOKEN = "messaging_token"

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            OAUTH,
            ("client_id", "client_secret"),
            "bearer",
            "OAuth client credentials",
            (("client_id", "CLIENT_ID"), ("client_secret", "CLIENT_SECRET")),
        ),
        Kind(
            ACCESS_TOKEN,
            ("access_token",),
            "bearer",
            "a static access token",
            (("access_token", "ACCESS_TOKEN"),),
        ),
        Kind(
            API_USER,
            ("username", "password"),
            "basic",
            "API user credentials",
            (("username", "USERNAME"), ("password", "PASSWORD")),
        ),
        Kind(
            MESSAGING_TOKEN,
            ("api_token", "api_secret"),
            "basic",
            "a messaging API token",
            (("api_token", "API_TOKEN"), ("api_secret", "API_SECRET")),
        ),
    )
}

# -- callbacks ----------------------------------------------------------------------------
#
# Credentials Bandwidth presents to *you* on callbacks (webhooks). Facts from Bandwidth's
# developer docs: "Authenticated Callbacks" (HTTP Basic, RFC 7235, on voice and messaging
# applications: Voice-V2 ``CallbackCreds``, Messaging-V2 ``InboundCallbackCreds``/
# ``OutboundCallbackCreds``; per call ``username``/``password``; Numbers subscriptions),
# "Subscriptions 2.0: HMAC Signature Implementation" (``X-Bandwidth-Signature-SHA-256``,
# base64 HMAC-SHA-256 of the payload body) and the Toll-Free Verification webhook
# subscription (``sharedSecretKey``, 16-64 printable ASCII characters; lowercase hex
# HMAC-SHA-256 in ``x-bandwidth-signature-hmac-sha256``).
#
# Each kind is a group taken whole from one source, like the API credentials; its
# ``previous`` group (a rotation's old value) is read from the same source and scope only.
# Callback fields are scoped per *application* (``BW_SALES_CALLBACK_USERNAME``), any name,
# not per service.


class CallbackKind(NamedTuple):
    """One callback scheme's credentials: ``fields`` (the current value), ``previous``
    (the value being rotated out; same shape), the scheme name reported by
    ``CallbackVerification.scheme`` and the header Bandwidth sends."""

    scheme: str
    fields: tuple[str, ...]
    previous: tuple[str, ...]
    title: str
    header: str


CALLBACK_BASIC = "basic"
CALLBACK_SUBSCRIPTIONS = "subscriptions"
CALLBACK_TFV = "tfv"

CALLBACK_KINDS: dict[str, CallbackKind] = {
    kind.scheme: kind
    for kind in (
        CallbackKind(
            CALLBACK_SUBSCRIPTIONS,
            ("webhook_secret",),
            ("webhook_previous_secret",),
            "Subscriptions 2.0 HMAC key",
            "X-Bandwidth-Signature-SHA-256",
        ),
        CallbackKind(
            CALLBACK_TFV,
            ("tfv_webhook_secret",),
            ("tfv_webhook_previous_secret",),
            "Toll-Free Verification shared secret",
            "x-bandwidth-signature-hmac-sha256",
        ),
        CallbackKind(
            CALLBACK_BASIC,
            ("callback_username", "callback_password"),
            ("callback_previous_username", "callback_previous_password"),
            "callback Basic credentials",
            "Authorization",
        ),
    )
}
#: Every callback field: scoped per application (any name), never per service.
APP_FIELDS = frozenset(
    name for kind in CALLBACK_KINDS.values() for name in (*kind.fields, *kind.previous)
)
#: Field groups whose halves are reported when a source holds only part of one.
CALLBACK_GROUPS: tuple[tuple[str, ...], ...] = tuple(
    group for kind in CALLBACK_KINDS.values() for group in (kind.fields, kind.previous)
)


#: Endings an application name may not have (in its letters-and-digits form): the callback
#: field names begin with them (``BW_CALLBACK_PREVIOUS_PASSWORD``'s store spelling
#: ``previousCallbackPassword``, ``BW_TFV_WEBHOOK_SECRET``), so a name ending with one
#: would read two ways: ``BW_PREVIOUS_CALLBACK_PASSWORD`` as application "previous" or as
#: the previous password, ``BW_TFV_WEBHOOK_SECRET`` as the shared TFV secret or as
#: application "tfv"'s Subscriptions key.
RESERVED_APP_ENDINGS = ("previous", "tfv")


def reserved_app(scope: str) -> str | None:
    """Why the application scope ``scope`` (letters and digits, lowered) cannot be used,
    or ``None``: see :data:`RESERVED_APP_ENDINGS`."""
    for ending in RESERVED_APP_ENDINGS:
        if scope.endswith(ending):
            return (
                f"application names ending in {ending!r} are reserved: callback field names "
                "begin with that word (previousCallbackPassword, tfvWebhookSecret), so such a "
                "name reads two ways (BW_PREVIOUS_CALLBACK_PASSWORD: application 'previous', "
                "or the previous password?); name the application otherwise (the previous "
                "callback password is BW_CALLBACK_PREVIOUS_PASSWORD)"
            )
    return None


def app_scope(app: str | None) -> str | None:
    """The scope an application name selects: ``"Sales-EU"`` -> ``"saleseu"`` (ASCII
    letters and digits, lowered; ``BW_SALES_EU_CALLBACK_USERNAME`` and the store key
    ``salesEuCallbackUsername`` both name it). ``None`` for the shared credentials.
    Raises ``ValueError`` for a name with no letter or digit, or one that is not ASCII;
    :class:`ConfigurationError` for a reserved name (ending in ``previous`` or ``tfv``:
    :func:`reserved_app`)."""
    if app is None:
        return None
    if not isinstance(app, str) or not app.isascii():
        raise ValueError("an application name is ASCII letters, digits, '-' and '_'")
    scope = compact(app)
    if not scope:
        raise ValueError("an application name needs at least one letter or digit")
    reason = reserved_app(scope)
    if reason is not None:
        raise ConfigurationError(f"application name {app!r} cannot be used: {reason}")
    return scope


# -- environments ----------------------------------------------------------------------

ENVIRONMENTS: dict[str, str] = {"prod": "prod", "production": "prod", "test": "test", "uat": "uat"}
TOKEN_PATH = "/api/v1/oauth2/token"
_PROD_HOSTS = {
    "api": "https://api.bandwidth.com",
    "voice": "https://voice.bandwidth.com",
    "messaging": "https://messaging.bandwidth.com",
    "dashboard": "https://dashboard.bandwidth.com",
    "mfa": "https://mfa.bandwidth.com",
}
_TEST_HOSTS = {
    **_PROD_HOSTS,
    "api": "https://test.api.bandwidth.com",
    "voice": "https://test.voice.bandwidth.com",
    "dashboard": "https://test.dashboard.bandwidth.com",
}
HOSTS: dict[str, dict[str, str]] = {"prod": _PROD_HOSTS, "test": _TEST_HOSTS, "uat": _TEST_HOSTS}


def environment_name(value: str | None) -> str | None:
    """``prod``, ``test`` or ``uat`` for an accepted spelling (case-insensitive), ``None``
    for a value that is not one."""
    return ENVIRONMENTS.get((value or "prod").strip().lower())


def host(environment: str | None, name: str, overrides: dict[str, str] | None = None) -> str:
    """The base host URL for ``name`` (``api``, ``voice``, ...) in ``environment``."""
    for field, host_name in HOST_FIELDS.items():
        if host_name == name and overrides and overrides.get(field):
            return overrides[field].rstrip("/")
    return HOSTS[environment_name(environment) or "prod"][name]


def token_url(environment: str | None, overrides: dict[str, str] | None = None) -> str:
    """The OAuth token endpoint for ``environment`` (or the ``api_url`` override)."""
    return host(environment, "api", overrides) + TOKEN_PATH


# -- services ----------------------------------------------------------------------------


class Service(NamedTuple):
    """One Bandwidth API: its host (per environment) and path, the credential kinds it
    accepts (most preferred first) and every name ``get_auth()`` accepts for it."""

    name: str
    title: str
    host: str
    path: str
    kinds: tuple[str, ...]
    names: tuple[str, ...]

    def base_url(
        self,
        account_id: str,
        environment: str | None = None,
        overrides: dict[str, str] | None = None,
    ) -> str:
        """The API's base URL for ``account_id``."""
        return host(environment, self.host, overrides) + self.path.format(account_id=account_id)


# OAuth is Bandwidth's scheme; API users are legacy. Messaging prefers its own token pair
# over the API user (the credentials guide's rule).
_STANDARD = (OAUTH, ACCESS_TOKEN, API_USER)
_ACCOUNT_PATH = "/api/accounts/{account_id}"

SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service(
            "voice",
            "Voice",
            "voice",
            "/api/v2/accounts/{account_id}",
            _STANDARD,
            ("voice", "calls"),
        ),
        Service(
            "messaging",
            "Messaging",
            "messaging",
            "/api/v2/users/{account_id}",
            (OAUTH, ACCESS_TOKEN, MESSAGING_TOKEN, API_USER),
            ("messaging", "messages", "message", "sms", "mms"),
        ),
        Service(
            "numbers",
            "Numbers",
            "dashboard",
            _ACCOUNT_PATH,
            _STANDARD,
            ("numbers", "number", "phone-numbers", "phone_numbers"),
        ),
        Service(
            "account",
            "Account Management",
            "dashboard",
            _ACCOUNT_PATH,
            _STANDARD,
            ("account", "accounts", "account-management", "account_management"),
        ),
        Service(
            "mfa",
            "Multi-Factor Authentication",
            "mfa",
            "/api/v1/accounts/{account_id}",
            _STANDARD,
            ("mfa", "multi-factor-auth", "2fa"),
        ),
        Service(
            "phone-number-lookup",
            "Phone Number Lookup",
            "api",
            "/v2/accounts/{account_id}",
            _STANDARD,
            ("phone-number-lookup", "phone_number_lookup", "lookup", "tnlookup"),
        ),
        Service(
            "toll-free-verification",
            "Toll-Free Verification",
            "api",
            "/api/v2/accounts/{account_id}",
            _STANDARD,
            ("toll-free-verification", "toll_free_verification", "tfv"),
        ),
        Service(
            "endpoints",
            "Bandwidth RTC Endpoints",
            "api",
            "/v2/accounts/{account_id}",
            _STANDARD,
            ("endpoints", "brtc", "webrtc"),
        ),
    )
}
SERVICE_NAMES: tuple[str, ...] = tuple(SERVICES)

# Every accepted spelling, lowered, so lookup is one dict access in the common case.
LOOKUP: dict[str, str] = {alias: s.name for s in SERVICES.values() for alias in s.names}


def canonical_service(name: str) -> str:
    """The canonical service name for ``name`` (case-insensitive; ``_``, ``-`` and spaces
    are interchangeable). Raises :class:`UnknownServiceError` listing the valid names.

    >>> canonical_service("Phone Number Lookup")
    'phone-number-lookup'
    """
    found = LOOKUP.get(name) if isinstance(name, str) else None
    if found is None and isinstance(name, str):
        lowered = name.strip().lower()
        found = LOOKUP.get(lowered) or LOOKUP.get(_dashed(lowered))
    if found is None:
        raise UnknownServiceError(str(name), SERVICE_NAMES)
    return found


def _dashed(name: str) -> str:
    """``name`` with each run of spaces and underscores as one ``-``: ``phone  number_lookup``
    -> ``phone-number-lookup``, ``_voice`` -> ``-voice`` (which names no service)."""
    out: list[str] = []
    in_run = False
    for char in name:
        if char == "_" or char.isspace():
            if not in_run:
                out.append("-")
            in_run = True
        else:
            out.append(char)
            in_run = False
    return "".join(out)


def env_scope(service: str) -> str:
    """The variable-name scope of a service: ``phone-number-lookup`` -> ``PHONE_NUMBER_LOOKUP``."""
    return service.upper().replace("-", "_")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "_-")


def compact(name: str) -> str:
    """``name`` with ``_`` and ``-`` removed and ASCII letters lowered: ``Account-ID`` ->
    ``accountid``. Nothing else is removed or folded, so ``pass\u200bword`` and
    ``passwordé`` stay distinct from ``password``, and no Unicode case mapping applies
    (a long s, U+017F, is not an ``s``).
    """
    return name.translate(_ASCII_LOWER)


def scope_spellings() -> dict[str, str]:
    """Compact (alphanumeric, lowered) spelling of every service name -> service."""
    return {compact(alias): s.name for s in SERVICES.values() for alias in s.names}


def describe_services() -> str:
    """Every service as written in docstrings, taken from :data:`SERVICES`:
    ``voice`` (Voice), ``messaging`` (Messaging), ... in table order.

    >>> describe_services().split(", ")[0]
    '``voice`` (Voice)'
    """
    return ", ".join(f"``{s.name}`` ({s.title})" for s in SERVICES.values())


def document_services(obj: _Documented) -> _Documented:
    """Replace ``{services}`` in ``obj.__doc__`` with :func:`describe_services`, so a
    docstring lists the services of the table instead of a copy typed by hand. Under
    ``python -OO`` (no docstrings) nothing happens. Returns ``obj``."""
    doc = getattr(obj, "__doc__", None)
    if doc:
        obj.__doc__ = doc.replace("{services}", describe_services())
    return obj
