"""Bandwidth API credentials from wherever they are kept, ready for every API.

>>> from bandwidth_credentials import get_auth
>>> voice = get_auth("voice")                                       # doctest: +SKIP
>>> requests.post(voice.url("calls"), headers=voice.headers(), json=call)  # doctest: +SKIP

Sources are configured with ``BANDWIDTH_CREDENTIALS_SOURCES`` (default
``env,dotenv:.env?optional=true``) or :func:`configure`. See the README for the source
URI syntax, the variable names and the error types.
"""

from ._auth import ServiceAuth
from ._checks import Provenance
from ._default import aget_auth, configure, get_auth, invalidate, reload
from ._errors import (
    ConfigurationError,
    CredentialNotFoundError,
    CredentialsError,
    InvalidCredentialsError,
    SourceAccessDeniedError,
    SourceAuthenticationError,
    SourceError,
    SourceFormatError,
    SourceNotFoundError,
    SourceUnavailableError,
    TokenError,
    UnknownServiceError,
)
from ._factory import BasicDeprecationWarning
from ._provider import Fetched, Provider, Source, parse_source
from ._registry import available_providers, register_provider, unregister_provider
from ._resolver import Resolver
from ._schema import SERVICE_NAMES
from ._typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from ._jwt import TokenClaims
    from ._verify import Verification, verify

__version__ = "0.1.0"

# Loaded on first access (PEP 562): the online check and the token claims pull in the
# HTTP client and JSON, which an application that never uses them should not pay for.
_LAZY = {
    "verify": ("._verify", "verify"),
    "Verification": ("._verify", "Verification"),
    "TokenClaims": ("._jwt", "TokenClaims"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module, __name__), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "SERVICE_NAMES",
    "BasicDeprecationWarning",
    "ConfigurationError",
    "CredentialNotFoundError",
    "CredentialsError",
    "Fetched",
    "InvalidCredentialsError",
    "Provenance",
    "Provider",
    "Resolver",
    "ServiceAuth",
    "Source",
    "SourceAccessDeniedError",
    "SourceAuthenticationError",
    "SourceError",
    "SourceFormatError",
    "SourceNotFoundError",
    "SourceUnavailableError",
    "TokenClaims",
    "TokenError",
    "UnknownServiceError",
    "Verification",
    "__version__",
    "aget_auth",
    "available_providers",
    "configure",
    "get_auth",
    "invalidate",
    "parse_source",
    "register_provider",
    "reload",
    "unregister_provider",
    "verify",
]
