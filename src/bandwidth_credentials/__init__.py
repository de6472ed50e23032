"""Bandwidth API credentials from wherever they are kept, ready for every API.

>>> from bandwidth_credentials import get_auth
>>> voice = get_auth("voice")                                       # doctest: +SKIP
>>> requests.post(voice.url("calls"), headers=voice.headers(), json=call)  # doctest: +SKIP

Sources are configured with ``BANDWIDTH_CREDENTIALS_SOURCES`` (default
``env,dotenv:.env?optional=true``) or :func:`configure`. See the README for the source
URI syntax, the variable names and the error types.
"""

from ._auth import ServiceAuth
from ._callback_auth import CallbackAuth
from ._checks import Provenance
from ._default import (
    aget_auth,
    configure,
    get_auth,
    get_callback_auth,
    invalidate,
    reload,
    verify,
)
from ._errors import (
    CallbackAuthError,
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
    StoreConflictError,
    StoreNotSupportedError,
    TokenError,
    UnknownServiceError,
)
from ._factory import BasicDeprecationWarning
from ._provider import Fetched, Provider, Source, parse_source
from ._registry import available_providers, register_provider, unregister_provider
from ._resolver import Resolver
from ._results import CallbackVerification, TokenClaims, Verification
from ._schema import SERVICE_NAMES

__version__ = "0.1.0"


__all__ = [
    "SERVICE_NAMES",
    "BasicDeprecationWarning",
    "CallbackAuth",
    "CallbackAuthError",
    "CallbackVerification",
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
    "StoreConflictError",
    "StoreNotSupportedError",
    "TokenClaims",
    "TokenError",
    "UnknownServiceError",
    "Verification",
    "__version__",
    "aget_auth",
    "available_providers",
    "configure",
    "get_auth",
    "get_callback_auth",
    "invalidate",
    "parse_source",
    "register_provider",
    "reload",
    "unregister_provider",
    "verify",
]
