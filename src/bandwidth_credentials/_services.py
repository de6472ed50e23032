"""The Bandwidth service table: names, base URLs and which credentials each API takes."""

from __future__ import annotations

from typing import NamedTuple

from ._errors import UnknownServiceError


class Service(NamedTuple):
    """One Bandwidth API.

    ``base_url`` is a template with ``{account_id}``. ``kinds`` lists the credential
    kinds the API accepts, most preferred first; ``names`` are every spelling
    ``get_auth()`` accepts for it (compared case-insensitively).
    """

    name: str
    title: str
    base_url: str
    kinds: tuple[str, ...]
    names: tuple[str, ...]


# Credential kinds. A kind is a group of fields taken whole from one source.
OAUTH = "oauth"  # client_id + client_secret, exchanged for a bearer token
ACCESS_TOKEN = "access_token"  # a static bearer token
API_USER = "api_user"  # username + password (HTTP Basic)
MESSAGING_TOKEN = "messaging_token"  # api_token + api_secret (HTTP Basic, Messaging only)

# Preference among kinds: OAuth is Bandwidth's current scheme, API users are legacy;
# Messaging prefers its own token pair over the API user (the credentials guide's rule).
_STANDARD = (OAUTH, ACCESS_TOKEN, API_USER)

SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        Service(
            "voice",
            "Voice",
            "https://voice.bandwidth.com/api/v2/accounts/{account_id}",
            _STANDARD,
            ("voice", "calls"),
        ),
        Service(
            "messaging",
            "Messaging",
            "https://messaging.bandwidth.com/api/v2/users/{account_id}",
            (OAUTH, ACCESS_TOKEN, MESSAGING_TOKEN, API_USER),
            ("messaging", "messages", "message", "sms", "mms"),
        ),
        Service(
            "numbers",
            "Numbers",
            "https://dashboard.bandwidth.com/api/accounts/{account_id}",
            _STANDARD,
            ("numbers", "number", "phone-numbers", "phone_numbers"),
        ),
        Service(
            "account",
            "Account Management",
            "https://dashboard.bandwidth.com/api/accounts/{account_id}",
            _STANDARD,
            ("account", "accounts", "account-management", "account_management"),
        ),
        Service(
            "mfa",
            "Multi-Factor Authentication",
            "https://mfa.bandwidth.com/api/v1/accounts/{account_id}",
            _STANDARD,
            ("mfa", "multi-factor-auth", "2fa"),
        ),
        Service(
            "phone-number-lookup",
            "Phone Number Lookup",
            "https://api.bandwidth.com/v2/accounts/{account_id}",
            _STANDARD,
            ("phone-number-lookup", "phone_number_lookup", "lookup", "tnlookup"),
        ),
        Service(
            "toll-free-verification",
            "Toll-Free Verification",
            "https://api.bandwidth.com/api/v2/accounts/{account_id}",
            _STANDARD,
            ("toll-free-verification", "toll_free_verification", "tfv"),
        ),
    )
}

SERVICE_NAMES: tuple[str, ...] = tuple(SERVICES)

# Every accepted spelling, pre-lowered, so lookup is one dict access in the common case.
_LOOKUP: dict[str, str] = {
    alias: service.name for service in SERVICES.values() for alias in service.names
}


def canonical_service(name: str) -> str:
    """Return the canonical service name for ``name`` (case-insensitive aliases allowed).

    >>> canonical_service("Messages")
    'messaging'
    """
    found = _LOOKUP.get(name)
    if found is None:
        found = _LOOKUP.get(name.strip().lower()) if isinstance(name, str) else None
        if found is None:
            raise UnknownServiceError(str(name), SERVICE_NAMES)
    return found
