"""Bandwidth's rules for single values, and the validated credentials of one service.

Every check returns what is wrong in words that never quote the value (it may be a
secret), or ``None``. Values arrive as stored: nothing is rewritten except surrounding
whitespace, so a value with a control character or an invisible format character
(Unicode category Cf: zero-width space and joiner, bidi controls, an inner BOM) is
refused rather than silently sent.
"""

from __future__ import annotations

from ._errors import InvalidCredentialsError
from ._schema import (
    ENDPOINT_FIELDS,
    ENVIRONMENTS,
    EXPIRY_FIELD,
    HOST_FIELDS,
    INSTANT_FIELDS,
    KINDS,
    MESSAGING_TOKEN,
    URL_FIELDS,
    Service,
    environment_name,
    token_url,
)
from ._secret import Secret
from ._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "Provenance",
    "ServiceCredentials",
    "problem_of",
    "token_problem",
    "url_problem",
    "validated",
]

# Invisible or unencodable: format (Cf), lone surrogates (Cs, from undecodable bytes in
# the environment), line and paragraph separators (Zl, Zp), private use is allowed.
_INVISIBLE = frozenset({"Cf", "Cs", "Zl", "Zp"})


class Provenance(NamedTuple):
    """Where one field's value came from: the source URI (as shown, option values
    hidden), the raw key as stored, and the version read (``None`` when the store has no
    versions). Never holds a value.

    >>> get_auth("voice").provenance["username"]                    # doctest: +SKIP
    Provenance(source='dotenv:examples/example.env', key='BW_USERNAME', version='179...:651')
    """

    source: str
    key: str
    version: str | None = None


class ServiceCredentials(NamedTuple):
    """The validated credentials of one service, as the normalizer chose them.

    ``base_url`` and ``token_url`` are final: the environment's hosts, any host override
    and any explicit URL already applied. Secrets are held in :class:`Secret`.
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
    environment: str = "prod"
    #: When the client secret expires (ISO 8601 UTC, as stored), when the store says.
    client_secret_expires_at: str | None = None
    #: The endpoint fields given explicitly (``base_url``, ``token_url``, ``environment``,
    #: host overrides), exactly as configured; none is secret.
    endpoints: Mapping[str, str] = {}


def _control_character(value: str) -> bool:
    """A C0 or C1 control or DEL: never part of a credential."""
    if value.isprintable():  # the common case, in C: none of them (nor Cf, Zl, Zp)
        return False
    return any(char <= "\x1f" or "\x7f" <= char <= "\x9f" for char in value)


def _format_character(value: str) -> bool:
    if value.isascii():
        return False
    import unicodedata  # only for non-ASCII values

    return any(unicodedata.category(char) in _INVISIBLE for char in value)


def text_problem(value: str) -> str | None:
    """A control character, or an invisible or unencodable one, anywhere in ``value``."""
    if _control_character(value):
        return "contains a control character (a newline inside the value?)"
    if _format_character(value):
        return (
            "contains an invisible or undecodable character (zero-width space, bidi "
            "control, byte-order mark, line separator, or a byte that is not UTF-8); "
            "retype the value"
        )
    return None


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot go into an ``Authorization: Bearer`` header as it is, or
    ``None``. One rule for configured tokens (``BW_ACCESS_TOKEN``) and issued ones: a
    bearer token is visible ASCII (RFC 6750 §2.1's ``b64token`` is a subset of it), so no
    whitespace, control, invisible or non-ASCII character, which HTTP clients would
    refuse (quoting the whole header in their error) or send re-encoded.

    >>> token_problem("eyJhbGciOi.eyJhY2Nv.c2ln") is None
    True
    """
    if any(char.isspace() for char in token):
        return "contains whitespace (a bearer token has none)"
    if not (token.isascii() and token.isprintable()):
        return "contains a character that is not visible ASCII (a bearer token has none)"
    return None


def url_problem(url: str, *, host_only: bool = False) -> str | None:
    """What is wrong with a configured URL: not absolute, user info, bad host or port,
    spaces, a host name that is not ASCII, plain http to a non-loopback host; ``None``
    when usable.

    Host names must be ASCII (an internationalized name in its IDNA form, ``xn--...``):
    HTTP clients disagree on the rest. ``requests`` (urllib3) refuses a fullwidth letter
    or dot that Python's ``idna`` codec and ``httpx`` map onto ASCII ones, so one URL
    would reach a host through one client and fail through another, or look unlike the
    host it reaches (``voice.bandwidth\uff0ecom`` is ``voice.bandwidth.com``).

    >>> url_problem("https://\uff45xample.com/v2")
    'has a host name that is not ASCII; give it in its IDNA form (xn--...)'
    """
    if " " in url or _control_character(url):
        return "is not a valid URL (it contains a space or control character)"
    from urllib.parse import urlsplit  # only when a URL is configured

    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return "is not a valid URL (bad host, IPv6 literal or port)"
    if not host or parts.scheme not in ("http", "https"):
        return "is not an absolute http(s) URL"
    if "@" in parts.netloc:
        return "must not contain user info (user:password@); give credentials as fields"
    if host_only and (parts.path not in ("", "/") or parts.query or parts.fragment):
        return "must be a scheme and host only, such as https://api.example.com"
    if parts.query or parts.fragment:
        return "must not have a query or fragment (paths are appended to it)"
    if port == 0:
        return "has an invalid port"
    if not host.isascii():
        return "has a host name that is not ASCII; give it in its IDNA form (xn--...)"
    encoded = host.encode()
    if any(len(label) > 63 for label in encoded.split(b".")) or len(encoded) > 253:
        return "has a host name that is too long"
    if parts.scheme == "https":
        return None
    if host == "localhost":
        return None
    import ipaddress  # only for plain http, allowed to loopback addresses

    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return "must use https (plain http is allowed for loopback addresses only)"


#: The most digits an account id may have. Bandwidth's are 7 digits (its SDKs: "your
#: 7-digit Bandwidth Account ID"); the bound leaves room and keeps a runaway value (a
#: file pasted into BW_ACCOUNT_ID, a megabyte of digits) out of URLs and messages.
ACCOUNT_ID_DIGITS = 20


def _account_problem(value: str) -> str | None:
    if value.isascii() and value.isdigit():
        if len(value) > ACCOUNT_ID_DIGITS:
            return (
                f"is too long for a Bandwidth account id ({len(value)} digits; an account "
                f"id has at most {ACCOUNT_ID_DIGITS}, such as 920012)"
            )
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


def _instant_problem(value: str) -> str | None:
    from ._calendar import parse_instant

    if parse_instant(value) is None:
        return "must be an ISO 8601 UTC instant such as 2027-03-06T00:00:00Z"
    return None


def _environment_problem(value: str) -> str | None:
    if environment_name(value) is None:
        return f"must be one of {', '.join(ENVIRONMENTS)} (case-insensitive)"
    return None


def _shared_secret_problem(value: str) -> str | None:
    # Bandwidth's Toll-Free Verification webhook subscription: sharedSecretKey is 16 to 64
    # printable ASCII characters.
    if not 16 <= len(value) <= 64 or not all(" " <= char <= "~" for char in value):
        return "must be 16 to 64 printable ASCII characters (Bandwidth's sharedSecretKey rule)"
    return None


_CHECKS = {
    "access_token": token_problem,
    "account_id": _account_problem,
    "username": _colon_problem,
    "client_id": _colon_problem,
    "environment": _environment_problem,
    "callback_username": _colon_problem,
    "callback_previous_username": _colon_problem,
    "tfv_webhook_secret": _shared_secret_problem,
    "tfv_webhook_previous_secret": _shared_secret_problem,
    **dict.fromkeys(INSTANT_FIELDS, _instant_problem),
}


def value_text(value: object) -> str | None:
    """A value as every source reads it: text without surrounding whitespace, an ``int``
    (a JSON number; not a ``bool``) as its digits; ``None`` for anything else.

    >>> value_text(" 920012\\n"), value_text(920012), value_text(True)
    ('920012', '920012', None)
    """
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def read_account_id(value: object) -> tuple[str, str | None]:
    """An account id given by a caller (``get_auth(service, account_id=...)``, any
    command's ``--account-id``) read as a source's ``BW_ACCOUNT_ID`` is: ``(text,
    problem)``, the problem as :func:`problem_of` states it (``None``: usable). One rule
    for every way an account id arrives; the problem never quotes the value.

    >>> read_account_id(" 920013 "), read_account_id("../x")[1] is not None
    (('920013', None), True)
    """
    text = value_text(value)
    if text is None:
        kind = type(value).__name__
        return "", f"must be text, the account id's digits such as '920012', not {kind}"
    return text, problem_of("account_id", text)


def check_account_argument(account_id: str | None) -> str | None:
    """A command's ``--account-id`` read by :func:`read_account_id` (``None`` when not
    given); :class:`ConfigurationError` (exit 2) when it is not a numeric account id."""
    if account_id is None:
        return None
    text, problem = read_account_id(account_id)
    if problem is not None:
        from ._errors import ConfigurationError

        raise ConfigurationError(f"--account-id {problem}")
    return text


def problem_of(field: str, value: str) -> str | None:
    """What is wrong with ``value`` as ``field``, or ``None``."""
    reason = text_problem(value)
    if reason is None and field in URL_FIELDS:
        reason = url_problem(value, host_only=field in HOST_FIELDS)
    if reason is None and field in _CHECKS:
        reason = _CHECKS[field](value)
    return reason


def validated(
    service: Service, kind: str, data: Mapping[str, str], provenance: Mapping[str, Provenance]
) -> ServiceCredentials | InvalidCredentialsError:
    """Build a service's credentials from checked values (see :func:`problem_of`)."""
    del provenance  # every value was checked by problem_of before this
    fields = dict(data)
    if kind == MESSAGING_TOKEN:
        # Messaging's token pair is sent as the Basic user name and password.
        fields["username"] = fields.pop("api_token")
        fields["password"] = fields.pop("api_secret")
    environment = environment_name(fields.get("environment")) or "prod"
    overrides = {name: fields[name] for name in HOST_FIELDS if name in fields}
    # No account id yet: client credentials whose access token may name it (see
    # _discovery.py); the base URL is completed once the account is known.
    account_id = fields.get("account_id", "")
    base_url = fields.get("base_url") or (
        service.base_url(account_id, environment, overrides) if account_id else ""
    )

    # Messaging has no test host, and the production Messaging API refuses a token from
    # the test realm: its token comes from production too (the official CLI's
    # MessagingClient mints it against the production API host, or BW_API_URL).
    token_environment = "prod" if service.host == "messaging" else environment

    def secret(name: str) -> Secret | None:
        value = fields.get(name)
        return None if value is None else Secret(value)

    oauth = "client_id" in KINDS[kind].fields
    return ServiceCredentials(
        service=service.name,
        kind=kind,
        account_id=account_id,
        base_url=base_url.rstrip("/"),
        username=fields.get("username"),
        password=secret("password"),
        client_id=fields.get("client_id"),
        client_secret=secret("client_secret"),
        access_token=secret("access_token"),
        token_url=(fields.get("token_url") or token_url(token_environment, overrides)).rstrip("/")
        if oauth
        else None,
        environment=environment,
        client_secret_expires_at=fields.get(EXPIRY_FIELD) if oauth else None,
        endpoints={name: fields[name] for name in ENDPOINT_FIELDS if name in fields},
    )
